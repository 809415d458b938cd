"""`python -m crawler crawl SITE --config FILE [--run-id N]`: one site's crawl, in its own process.

Scrapy's reactor cannot restart within a process, so every crawl is a process of its own
(started by `muniarchive crawl` and by the scheduler). Exit status: 0 succeeded (with or
without warnings: the run's error says what looks wrong), 1 failed, 2 bad usage or config,
3 interrupted, 4 skipped: another run of the site is going (this one is recorded `skipped`).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_SKIPPED = 0, 1, 2, 3, 4


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    crawl = sub.add_parser("crawl", help="crawl one site into the archive")
    crawl.add_argument("site", help="the site's key in the config")
    crawl.add_argument("--config", default="config.yaml", help="config file (default: config.yaml)")
    crawl.add_argument("--run-id", type=int, help="the crawl_run row to report into (made when absent)")
    crawl.add_argument("--log-file", help="write Scrapy's log here instead of stderr")
    crawl.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)

    # start-up is mostly imports: objects that live as long as the process, which the cyclic
    # collector would go through again and again (0.2 CPU-s of 1.5); collected from the start
    # of the crawl on, and even then not those (gc.freeze)
    gc.disable()
    from scrapy.crawler import CrawlerProcess

    from archive import Archive, ArchiveError, RunGoing
    from crawler.config import ConfigError, load_config
    from crawler.settings import crawl_settings
    from crawler.spider import SiteSpider

    try:
        config = load_config(args.config)
        site = config.site(args.site)
        archive = Archive(config.database_url)
        site_id = archive.ensure_site(**site.archive_fields())
        run_id = args.run_id or archive.start_run(site_id, pid=os.getpid(), log_path=args.log_file,
                                                  reconcile=lambda: _reconcile(archive))
        if args.run_id:
            archive.update_run(run_id, pid=os.getpid())
    except RunGoing as going:
        print(f"skipped: {going}", file=sys.stderr)
        return EXIT_SKIPPED
    except (ConfigError, ArchiveError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE

    process = CrawlerProcess(crawl_settings(config, args.log_file, args.log_level))
    crawler = process.create_crawler(SiteSpider)
    # search rows, fingerprint bands and stories are made once the fetching is done: made per
    # page, they held up the downloads (benchmarks/crawl.py)
    archive.defer_index = True
    try:
        process.crawl(crawler, config=config, site=site, archive=archive, site_id=site_id, run_id=run_id)
        gc.freeze()
        gc.enable()
        process.start()
    except ArchiveError as exc:
        print(f"error: {exc}", file=sys.stderr)
        archive.update_run(run_id, status="failed", error=str(exc))
        return EXIT_FAILED
    try:
        print(f"indexed {archive.index_backlog()} articles for search and stories", file=sys.stderr)
    except ArchiveError as exc:  # what was archived stays archived; the next look indexes it
        print(f"error: indexing after the crawl: {exc}", file=sys.stderr)
    status = getattr(crawler.spider, "run_status", None)
    if status is None:  # the spider's outcome was never recorded (e.g. the archive refused it)
        try:
            archive.update_run(run_id, status="failed", error="the crawl ended without recording its outcome")
        except ArchiveError as exc:
            print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return {"succeeded": EXIT_OK, "succeeded_with_warnings": EXIT_OK,
            "interrupted": EXIT_INTERRUPTED}.get(status, EXIT_FAILED)


def _reconcile(archive) -> None:
    """Runs left `running` by dead processes recorded interrupted (only when a run of the site
    is found going: the scheduler's modules are not loaded otherwise)."""
    from scheduler.runner import reconcile_runs

    reconcile_runs(archive)


if __name__ == "__main__":
    sys.exit(main())
