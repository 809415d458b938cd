"""`python -m crawler crawl SITE --config FILE [--run-id N]`: one site's crawl, in its own process.

Scrapy's reactor cannot restart within a process, so every crawl is a process of its own
(started by `muniarchive crawl` and by the scheduler). It is the crawl `scrapy crawl site
-a site=KEY` runs on a Scrapyd node (crawler.run), with two differences: a new or older
archive is migrated first, and a crawl that cannot start says why on stderr, in one line,
before Scrapy logs anything. Exit status: 0 succeeded (with or without warnings: the run's
error says what looks wrong), 1 failed, 2 bad usage or config, 3 interrupted, 4 skipped:
another run of the site is going (this one is recorded `skipped`).
"""

from __future__ import annotations

import argparse
import gc
import sys


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
    from scrapy.settings import Settings

    from crawler.run import CrawlRefused, exit_status, start_crawl
    from crawler.spider import SiteSpider

    try:
        started = start_crawl(args.site, config_path=args.config, run_id=args.run_id, log_path=args.log_file,
                              migrate=True)
    except CrawlRefused as refused:
        print(refused.line, file=sys.stderr)
        return refused.exit_status

    settings = Settings()
    settings.setmodule("crawler.settings")
    settings.setdict({"LOG_LEVEL": args.log_level, "LOG_FILE": args.log_file}, priority="cmdline")
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(SiteSpider)
    process.crawl(crawler, started=started)
    gc.freeze()
    gc.enable()
    process.start()
    return exit_status(crawler)


if __name__ == "__main__":
    sys.exit(main())
