"""Crawl speed and memory: our crawl against a bare Scrapy spider, same pages, same run.

    python benchmarks/crawl.py [--articles 2000] [--scenario full|nothing-new|both]

A generated TRS-style site with N articles is served on 127.0.0.1. Our crawl (`python -m
crawler crawl`, in its own process, into a fresh SQLite archive) walks its list pages,
fetches, decodes, extracts, cleans and archives every article. Then a bare Scrapy spider,
also in its own process with the same politeness settings, fetches the same URLs and does
nothing with them. Pages per second come from Scrapy's own clock (elapsed_time_seconds).
Memory is sampled from /proc while each crawl runs (benchmarks/proctree.py): the peak of each
process of ours (the crawl process, its extraction worker if one ran) and of the bare spider,
and the most each crawl held at one time, all its processes together. Each round also prints both runs' whole time, process start to exit: ours
includes the indexing (search rows, LSH bands, stories) it does once the fetching is done.
Targets (issue 2): ours >= 0.7 x the bare spider's pages/s; ours < 300 MB peak. Each round
also says in how many batches the worker's results reached our reactor (one per page when
the worker is the slower side, fewer when the reactor is busy).

The nothing-new scenario is most of a night's sites: a site crawled once already (not timed)
is crawled again and has nothing new, so the crawl reads robots.txt and the first list page,
finds every article known, and ends. Each round times our crawl process and then a bare
spider fetching the URLs ours requested, each from process start to exit, wall time and CPU
(the process and its children); it prints time to the first request, bare/ours ratios and
each process's peak memory. The bare spider is stock Scrapy (its default components, the
remote control among them) with our politeness settings. Target (issue 17): ratios >= 0.8.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from proctree import ProcessTree, describe  # noqa: E402  (beside this file)

from archive import Archive  # noqa: E402
from crawler import settings as project_settings  # noqa: E402
from crawler.config import load_config  # noqa: E402
from crawler.samplesites.server import SampleSites  # noqa: E402
from crawler.samplesites.synthetic import SyntheticTrsSite  # noqa: E402
from scheduler.runner import run_crawl  # noqa: E402

BARE_SPIDER = r"""
import json, sys
import scrapy
from scrapy.crawler import CrawlerProcess

settings = json.load(open(sys.argv[1]))
urls = json.load(open(sys.argv[2]))

class Bare(scrapy.Spider):
    name = "bare"
    async def start(self):
        for url in urls:
            yield scrapy.Request(url)
    def parse(self, response):
        pass

process = CrawlerProcess(settings)
crawler = process.create_crawler(Bare)
process.crawl(crawler)
process.start()
stats = crawler.stats.get_stats()
print(json.dumps({"responses": stats.get("downloader/response_count", 0),
                  "elapsed": stats.get("elapsed_time_seconds")}))
"""


def bare_settings(config, path: Path) -> Path:
    """Our crawl's Scrapy settings (politeness, limits) for the bare spider, as JSON: it reads
    them without our code. Our components are left out, and so are our changes to Scrapy's
    own (the remote control and the cookies middleware left out): the bare spider is stock."""
    settings = {name: getattr(project_settings, name) for name in dir(project_settings) if name.isupper()}
    settings.update(project_settings.crawl_settings(config), LOG_LEVEL="WARNING")
    for key in ("ITEM_PIPELINES", "EXTENSIONS", "DOWNLOADER_MIDDLEWARES", "EXTENSIONS_BASE",
                "DOWNLOADER_MIDDLEWARES_BASE", "REMOTE_CONTROL_ENABLED", "SPIDER_MODULES", "COMMANDS_MODULE"):
        settings.pop(key)
    path.write_text(json.dumps(settings))
    return path


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
        bare_run = subprocess.Popen([sys.executable, "-c", BARE_SPIDER, str(bare_settings(config, tmp / "bare.json")),
                                     str(tmp / "urls.json")],
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
              f"peak memory: ours {describe(our['processes'])}; bare {bare['peak_rss_mb']:.0f} MB; "
              f"extraction results reached our reactor in {ours.stats.get('extraction_deliveries')} batches "
              f"for {ours.stats['articles_new']} articles", flush=True)
        return our, bare, (tmp / "archive.db").stat().st_size / 2**20


def timed_process(command: list[str], requests: list[float]) -> dict:
    """Run a crawl process to its end: wall time, CPU of it and its children, seconds to its
    first request at the server, its processes' peak memory."""
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    requests.clear()
    started, wall_started = time.perf_counter(), time.time()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=Path(__file__).resolve().parents[1])
    with ProcessTree(process.pid) as tree:
        out, err = process.communicate()
    wall = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode != 0:
        raise SystemExit(f"{command[2:5]} failed: {err.strip().splitlines()[-1:]}")
    return {"wall": wall, "cpu": (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime),
            "first_request": min(requests) - wall_started if requests else None, "requests": len(requests),
            "processes": tree.peaks(), "peak_mb": tree.peak_total_mb}


def nothing_new(args) -> None:
    with tempfile.TemporaryDirectory() as tmp, SampleSites([SyntheticTrsSite(50)]) as sites:
        tmp = Path(tmp)
        requests: list[float] = []
        log_request = sites._log
        sites._log = lambda key, path: (requests.append(time.time()), log_request(key, path))
        document = sites.config(f"sqlite:///{tmp / 'archive.db'}", concurrency_per_domain=args.concurrency)
        (tmp / "config.yaml").write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
        ours_command = [sys.executable, "-P", "-m", "crawler", "crawl", "synthetic-gov", "--config",
                        str(tmp / "config.yaml"), "--log-level", "WARNING"]
        timed_process(ours_command, requests)  # the first crawl: everything is new
        sites.take_requests()
        timed_process(ours_command, requests)  # what a crawl with nothing new asks for
        base = sites.base_url("synthetic-gov")
        asked = [base + path for _, path in sites.take_requests() if path != "/robots.txt"]
        (tmp / "urls.json").write_text(json.dumps(asked))
        bare_command = [sys.executable, "-c", BARE_SPIDER,
                        str(bare_settings(load_config(tmp / "config.yaml"), tmp / "bare.json")), str(tmp / "urls.json")]
        rounds = []
        for n in range(args.nothing_new_rounds):
            ours, bare = timed_process(ours_command, requests), timed_process(bare_command, requests)
            rounds.append((ours, bare))
            print(f"nothing new, round {n + 1}: ours {ours['wall']:.2f} s, {ours['cpu']:.2f} CPU-s, first request "
                  f"after {ours['first_request']:.2f} s; bare {bare['wall']:.2f} s, {bare['cpu']:.2f} CPU-s, "
                  f"{bare['first_request']:.2f} s; ours: {describe(ours['processes'])}", flush=True)
    median = statistics.median
    print()
    print(f"nothing new ({len(asked)} list page(s) + robots.txt, {len(rounds)} rounds, medians):")
    for name, index in (("ours", 0), ("bare", 1)):
        runs = [r[index] for r in rounds]
        print(f"  {name:<5} wall {median(r['wall'] for r in runs):.2f} s, CPU {median(r['cpu'] for r in runs):.2f} s, "
              f"first request after {median(r['first_request'] for r in runs):.2f} s, "
              f"peak {max(r['peak_mb'] for r in runs):.0f} MB all processes at once")
    wall = sorted(b["wall"] / o["wall"] for o, b in rounds)
    cpu = sorted(b["cpu"] / o["cpu"] for o, b in rounds)
    print(f"  ratio bare/ours: wall {median(wall):.2f} (range {wall[0]:.2f}-{wall[-1]:.2f}), "
          f"CPU {median(cpu):.2f} (range {cpu[0]:.2f}-{cpu[-1]:.2f}) (target >= 0.80)")
    largest: dict = {}
    for ours, _ in rounds:
        for kind, (count, mb) in ours["processes"].items():
            largest[kind] = max(largest.get(kind, (0, 0.0)), (count, mb), key=lambda pair: pair[1])
    print(f"  our processes' own peaks (largest over the rounds): {describe(largest)}"
          + ("" if "extraction worker" in largest else "; no extraction worker ran"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; medians are reported")
    parser.add_argument("--scenario", choices=("full", "nothing-new", "both"), default="both")
    parser.add_argument("--nothing-new-rounds", type=int, default=7)
    args = parser.parse_args()

    if args.scenario != "full":
        nothing_new(args)
        if args.scenario == "nothing-new":
            return 0
        print()
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
