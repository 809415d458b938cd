"""Crawl speed and memory: our full crawl against a bare Scrapy spider, same pages, same run.

    python benchmarks/crawl.py [--articles 2000]

A generated TRS-style site with N articles is served on 127.0.0.1. Our crawl (`python -m
crawler crawl`, in its own process, into a fresh SQLite archive) walks its list pages,
fetches, decodes, extracts, cleans and archives every article. Then a bare Scrapy spider,
also in its own process with the same politeness settings, fetches the same URLs and does
nothing with them. Pages per second come from Scrapy's own clock (elapsed_time_seconds).
Memory is sampled from /proc while each crawl runs (benchmarks/proctree.py): the peak of each
process of ours (the crawl process, its extraction worker if one ran, multiprocessing's
resource tracker) and of the bare spider, and the most each crawl held at one time, all its
processes together. Each round also prints both runs' whole time, process start to exit: ours
includes the indexing (search rows, LSH bands, stories) it does once the fetching is done.
Targets (issue 2): ours >= 0.7 x the bare spider's pages/s; ours < 300 MB peak.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from proctree import ProcessTree, describe  # noqa: E402  (beside this file)

from archive import Archive  # noqa: E402
from crawler.config import load_config  # noqa: E402
from crawler.samplesites.server import SampleSites  # noqa: E402
from crawler.samplesites.synthetic import SyntheticTrsSite  # noqa: E402
from scheduler.runner import run_crawl  # noqa: E402

BARE_SPIDER = r"""
import json, sys
import scrapy
from scrapy.crawler import CrawlerProcess
from crawler.config import load_config
from crawler.settings import crawl_settings

urls = json.load(open(sys.argv[2]))

class Bare(scrapy.Spider):
    name = "bare"
    async def start(self):
        for url in urls:
            yield scrapy.Request(url)
    def parse(self, response):
        pass

settings = crawl_settings(load_config(sys.argv[1]), log_level="WARNING")
for key in ("ITEM_PIPELINES", "EXTENSIONS", "DOWNLOADER_MIDDLEWARES"):
    settings.pop(key)
process = CrawlerProcess(settings)
crawler = process.create_crawler(Bare)
process.crawl(crawler)
process.start()
stats = crawler.stats.get_stats()
print(json.dumps({"responses": stats.get("downloader/response_count", 0),
                  "elapsed": stats.get("elapsed_time_seconds")}))
"""


def crawl_once(args, round_number: int) -> tuple[dict, dict, float]:
    """One round: our crawl into a fresh archive, then the bare spider over the URLs ours requested."""
    with tempfile.TemporaryDirectory() as tmp, SampleSites([SyntheticTrsSite(args.articles)]) as sites:
        tmp = Path(tmp)
        document = sites.config(f"sqlite:///{tmp / 'archive.db'}", concurrency_per_domain=args.concurrency)
        document["sites"][0]["pagination"]["max_pages"] = 1000
        (tmp / "config.yaml").write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
        config = load_config(tmp / "config.yaml")
        archive = Archive(config.database_url)
        # render every page once before timing: otherwise the crawl that runs first (ours) meets
        # a cold server and the second a warm one
        site = sites.sites["synthetic-gov"]
        paths = [site.article_path(a) for a in site.live()] + ["/zwdt/index.html"] + [
            f"/zwdt/index_{n}.html" for n in range(1, len(site.pages_of("zwdt")))]
        for path in paths:
            site.page(path, "")

        started = time.perf_counter()
        with ProcessTree(os.getpid(), include_root=False) as our_tree:  # the crawl's processes, not this one
            ours = run_crawl(config, "synthetic-gov", archive, log_dir=tmp)
        whole = time.perf_counter() - started  # process start to exit, indexing after the fetch included
        requested = [path for _, path in sites.take_requests()]
        counts = archive.counts(archive.site_id("synthetic-gov"))
        if ours.status != "succeeded" or counts["articles"] != args.articles:
            raise SystemExit(f"our crawl did not finish: {ours.status} {ours.error} ({counts['articles']} articles)")

        base = sites.base_url("synthetic-gov")
        (tmp / "urls.json").write_text(json.dumps([base + p for p in requested if p != "/robots.txt"]))
        started = time.perf_counter()
        bare_run = subprocess.Popen([sys.executable, "-c", BARE_SPIDER, str(tmp / "config.yaml"), str(tmp / "urls.json")],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    cwd=Path(__file__).resolve().parents[1])
        with ProcessTree(bare_run.pid) as bare_tree:
            out, err = bare_run.communicate()
        if bare_run.returncode != 0:
            raise SystemExit(f"the bare spider failed: {err.strip().splitlines()[-1:]}")
        bare = json.loads(out.strip().splitlines()[-1])
        bare.update(whole=time.perf_counter() - started, peak_rss_mb=bare_tree.peak_total_mb)
        our = {"responses": ours.stats["responses_by_status"].get("200", 0), "elapsed": ours.stats["elapsed_seconds"],
               "peak_rss_mb": our_tree.peak_total_mb, "processes": our_tree.peaks(), "whole": whole}
        print(f"round {round_number}: ours {our['responses'] / our['elapsed']:.1f} pages/s, "
              f"bare {bare['responses'] / bare['elapsed']:.1f} pages/s; whole runs (process start to exit, "
              f"ours with its indexing after the fetch): ours {whole:.1f} s, bare {bare['whole']:.1f} s; "
              f"peak memory: ours {describe(our['processes'])}; bare {bare['peak_rss_mb']:.0f} MB", flush=True)
        return our, bare, (tmp / "archive.db").stat().st_size / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; medians are reported")
    args = parser.parse_args()

    rounds = [crawl_once(args, n + 1) for n in range(args.rounds)]
    rate = lambda run: run["responses"] / run["elapsed"]  # noqa: E731
    ours = sorted((r[0] for r in rounds), key=rate)[len(rounds) // 2]
    bare = sorted((r[1] for r in rounds), key=rate)[len(rounds) // 2]
    ratios = sorted(rate(o) / rate(b) for o, b, _ in rounds)
    print()
    print("{:<12} {:>7} {:>8} {:>8} {:>8}".format("median", "pages", "seconds", "pages/s", "peak MB"))
    for name, run in (("muniarchive", ours), ("bare scrapy", bare)):
        print(f"{name:<12} {run['responses']:>7} {run['elapsed']:>8.1f} {rate(run):>8.1f} {run['peak_rss_mb']:>8.0f}")
    peak = max(r[0]["peak_rss_mb"] for r in rounds)
    largest = {}
    for our, _, _ in rounds:
        for kind, (count, mb) in our["processes"].items():
            largest[kind] = max(largest.get(kind, (0, 0.0)), (count, mb), key=lambda pair: pair[1])
    worker = "" if "extraction worker" in largest else "; no extraction worker ran"
    print(f"ratio ours/bare: median {ratios[len(ratios) // 2]:.2f}, range {ratios[0]:.2f}-{ratios[-1]:.2f} "
          f"(target >= 0.70); archive {rounds[0][2]:.1f} MB for {args.articles} articles")
    print(f"our peak memory, all our processes at one time: {peak:.0f} MB (target < 300); "
          f"each process's own peak (largest over the rounds): {describe(largest)}{worker}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
