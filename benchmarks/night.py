"""A night of the scheduler: N generated sites crawled by `muniarchive scheduler start`.

    python benchmarks/night.py [--sites 200]      # --quick: 10 sites, a smoke run

N generated TRS-style sites are served on 127.0.0.1, each with its own port, its own
articles (seeded) and its own answering delay (100-400 ms, seeded). A first pass, not
measured (no politeness, sites answering at once), archives every site. Then the night: a
tenth of the sites publish 50 new articles each, the others nothing, and the scheduler runs
with the shipped settings of config.yaml (defaults and scheduler sections as they are:
politeness, max_parallel_crawls, retries) except two: every site's cron is the same second,
just after the scheduler has started, so that all are due at once, and jitter is 0. Once
every site has a finished run of the night (its crawl_run row), the scheduler is stopped
with SIGTERM.

Printed: the night's wall time (from the due time to the last run's end), sites per hour,
the CPU seconds of the scheduler's process tree (the scheduler and every crawl process and
worker it waited for: getrusage of this script's children across the scheduler's life, its
start-up and stop included), its peak memory (all its processes at one time, and each kind's
largest, sampled from /proc: benchmarks/proctree.py), and the extrapolation to 3,000 sites of
the same mix against a 6-hour night, two ways: the night's wall time scaled by sites (what a
site costs does not depend on how many others there are, since crawls are bounded by
max_parallel_crawls; with few sites it overstates, as the last long run ends the night with
a slot idle), and the runs' summed durations scaled by sites and divided among
max_parallel_crawls (the steady state of a long night, if nothing else limits it). Target (issue 17, 200 sites): 3,000 sites within 6 h, peak memory < 8 GB.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from proctree import ProcessTree, describe  # noqa: E402  (beside this file)
from sqlalchemy import select  # noqa: E402

from archive import Archive  # noqa: E402
from archive.models import CrawlRun, Site  # noqa: E402
from crawler.config import DB_ENV, load_config  # noqa: E402
from crawler.samplesites.server import SampleSites, TrsSite  # noqa: E402
from crawler.samplesites.synthetic import SyntheticTrsSite, synthetic_articles  # noqa: E402
from scheduler.capacity import crawl_slots  # noqa: E402
from scheduler.runner import run_crawl  # noqa: E402

NIGHT_SECONDS = 6 * 3600
TARGET_SITES = 3000
TARGET_MEMORY_MB = 8 * 1024


class NightSite(SyntheticTrsSite):
    """A generated site of its own: its key, its seeded articles, `new` of them held back."""

    def __init__(self, key: str, articles: int, new: int, seed: int):
        made = synthetic_articles(articles + new, seed)
        TrsSite.__init__(self, made[:articles] + [replace(a, pending=True) for a in made[articles:]])
        self.key = key

    def publish_all(self) -> int:
        held = [a.article_id for a in self.articles if a.pending]
        self.released.update(held)
        return len(held)


def config_document(sites: SampleSites, database_url: str, **defaults) -> dict:
    """config.yaml as shipped (its defaults, scheduler and alerts sections), for these sites."""
    shipped = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    return {"archive": {"url": database_url}, "defaults": shipped["defaults"] | defaults,
            "scheduler": shipped.get("scheduler", {}) | {"jitter": 0}, "alerts": shipped.get("alerts", {}),
            "sites": [site.config_entry(sites.base_url(key)) for key, site in sites.sites.items()]}


def write_config(path: Path, document: dict):
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return load_config(path)


def first_pass(sites: SampleSites, tmp: Path, archive: Archive) -> None:
    """Every site archived once, fast: no politeness, no answering delay."""
    config = write_config(tmp / "first-pass.yaml", config_document(
        sites, archive.url, download_delay=0, concurrency_per_domain=8, autothrottle=False))
    started = time.perf_counter()
    with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        results = list(pool.map(lambda key: run_crawl(config, key, archive, log_dir=tmp / "logs"), sites.sites))
    failed = [f"{r.site}: {r.status} {r.error}" for r in results if r.status != "succeeded"]
    if failed:
        raise SystemExit("first pass: " + "; ".join(failed[:5]))
    articles = sum(r.stats.get("articles_new", 0) for r in results)
    print(f"first pass (not measured): {len(results)} sites, {articles} articles archived "
          f"in {time.perf_counter() - started:.0f} s", flush=True)


def night_runs(archive: Archive, after_run: int) -> dict[str, CrawlRun]:
    """Each site's latest run started after `after_run`."""
    with archive.session() as session:
        rows = session.execute(select(Site.key, CrawlRun).join(CrawlRun, CrawlRun.site_id == Site.id)
                               .where(CrawlRun.id > after_run).order_by(CrawlRun.id)).all()
    return {key: run for key, run in rows}


def muniarchive_command() -> str:
    found = Path(sys.executable).with_name("muniarchive")
    if found.exists():
        return str(found)
    if which := shutil.which("muniarchive"):
        return which
    raise SystemExit("the muniarchive command is not installed: pip install -e . first")


def log_tail(path: Path, lines: int = 5) -> str:
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sites", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="10 sites: a smoke run")
    parser.add_argument("--articles", type=int, default=60, help="articles on each site before the night")
    parser.add_argument("--new", type=int, default=50, help="new articles on each site that has any tonight")
    parser.add_argument("--new-share", type=float, default=0.1, help="share of the sites with new articles")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--lead", type=float, help="seconds from starting the scheduler to the due time "
                        "(default: 20 + 0.1 a site)")
    parser.add_argument("--timeout", type=float, default=NIGHT_SECONDS, help="give up after this many seconds")
    args = parser.parse_args()
    count = 10 if args.quick else args.sites
    lead = args.lead if args.lead is not None else 20 + 0.1 * count
    os.environ.pop(DB_ENV, None)  # the archive is the benchmark's own, never the one $MUNIARCHIVE_DB names
    rng = random.Random(args.seed)
    busy = set(rng.sample(range(count), max(1, round(count * args.new_share))))
    night_sites = [NightSite(f"night-{i:04d}", args.articles, args.new if i in busy else 0, args.seed * 100_000 + i)
                   for i in range(count)]

    with tempfile.TemporaryDirectory() as tmp, SampleSites(night_sites) as sites:
        tmp = Path(tmp)
        archive = Archive(f"sqlite:///{tmp / 'archive.db'}")
        first_pass(sites, tmp, archive)
        with archive.session() as session:
            after_run = session.scalar(select(CrawlRun.id).order_by(CrawlRun.id.desc()).limit(1))

        new_articles = sum(site.publish_all() for site in night_sites)
        for site in night_sites:
            site.delay = rng.uniform(0.1, 0.4)
        document = config_document(sites, archive.url)
        tz = ZoneInfo(document["defaults"]["timezone"])
        due = (datetime.now(tz) + timedelta(seconds=lead)).replace(microsecond=0)
        document["defaults"]["schedule"] = f"{due.second} {due.minute} {due.hour} {due.day} {due.month} *"
        config = write_config(tmp / "night.yaml", document)
        defaults, settings = config.defaults, config.scheduler
        print(f"night: {count} sites ({len(busy)} with {args.new} new articles, {new_articles} in all; the others "
              f"nothing new), answering in {min(s.delay for s in night_sites) * 1000:.0f}-"
              f"{max(s.delay for s in night_sites) * 1000:.0f} ms; the shipped settings: max_parallel_crawls "
              f"{settings.max_parallel_crawls}, download_delay {defaults.download_delay:g} s, concurrency_per_domain "
              f"{defaults.concurrency_per_domain}, autothrottle {defaults.autothrottle}; all due at "
              f"{due:%H:%M:%S %Z}", flush=True)

        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        scheduler_log = tmp / "scheduler.log"
        with open(scheduler_log, "wb") as log:
            scheduler = subprocess.Popen([muniarchive_command(), "scheduler", "start", "--config", str(tmp / "night.yaml")],
                                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=tmp)
        runs: dict[str, CrawlRun] = {}
        with ProcessTree(scheduler.pid, interval=0.25) as tree:
            deadline = time.monotonic() + lead + args.timeout
            while time.monotonic() < deadline and scheduler.poll() is None:
                runs = night_runs(archive, after_run)
                if len(runs) == count and all(run.status != "running" for run in runs.values()):
                    break
                time.sleep(2)
            exited = scheduler.poll()
            scheduler.send_signal(signal.SIGTERM)
            try:
                scheduler.wait(settings.stop_grace + 60)
            except subprocess.TimeoutExpired:
                scheduler.kill()
                scheduler.wait()
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if exited is not None:
            print(f"the scheduler exited early (code {exited}):\n{log_tail(scheduler_log)}")
            return 1
        if not runs or datetime.now(UTC) < due:
            print(f"no run started:\n{log_tail(scheduler_log)}")
            return 1
        finished = [run for run in runs.values() if run.status != "running"]
        if not finished:
            print(f"no run finished within the timeout:\n{log_tail(scheduler_log)}")
            return 1
        if len(finished) < count:
            print(f"stopped after the timeout: {len(finished)} of {count} sites had a finished run")

        first_start = min(run.started_at for run in runs.values())
        if first_start < due:
            print(f"warning: a run started before the due time: {first_start:%H:%M:%S} UTC")
        wall = (max(run.finished_at for run in finished) - due).total_seconds()
        cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
        statuses: dict[str, int] = {}
        for run in finished:
            statuses[run.status] = statuses.get(run.status, 0) + 1
        run_seconds = {key: (run.finished_at - run.started_at).total_seconds() for key, run in runs.items()
                       if run.finished_at}
        quiet = [s for key, s in run_seconds.items() if not (runs[key].stats or {}).get("articles_new")]
        with_new = [s for key, s in run_seconds.items() if (runs[key].stats or {}).get("articles_new")]
        archived = sum((run.stats or {}).get("articles_new", 0) for run in finished)
        # the slots the scheduler ran with (`auto` sized from this machine, the request cap applied)
        slots, _ = crawl_slots(settings.max_parallel_crawls, settings.max_requests_per_second, defaults.download_delay)

    scale = TARGET_SITES / len(finished)
    print()
    print(f"runs: {', '.join(f'{n} {status}' for status, n in sorted(statuses.items()))}; {archived} new articles "
          f"archived of {new_articles}; first run started {(first_start - due).total_seconds():.1f} s after the due time")
    if quiet:
        print(f"a nothing-new site's run: median {statistics.median(quiet):.1f} s (max {max(quiet):.1f})")
    if with_new:
        print(f"a run with {args.new} new articles: median {statistics.median(with_new):.1f} s (max {max(with_new):.1f})")
    print(f"night: {wall:.0f} s wall for {len(finished)} sites, {len(finished) / wall * 3600:.0f} sites per hour")
    print(f"CPU: {cpu:.0f} s (the scheduler's process tree), {cpu / len(finished):.2f} s a site, "
          f"{cpu / wall:.2f} cores busy on average")
    print(f"peak memory: {tree.peak_total_mb:.0f} MB, all the scheduler's processes at one time; each kind's "
          f"largest: {describe(tree.peaks())}")
    fits = lambda hours: "fits" if hours <= NIGHT_SECONDS / 3600 else "does NOT fit"  # noqa: E731
    hours, steady = wall * scale / 3600, sum(run_seconds.values()) * scale / slots / 3600
    print(f"extrapolated to {TARGET_SITES} sites of the same mix: {hours:.1f} h wall scaled by sites ({fits(hours)} "
          f"in 6 h); {steady:.1f} h from the runs' durations over {slots} parallel crawls ({fits(steady)}); "
          f"{cpu * scale / 3600:.1f} CPU-hours ({cpu * scale / (NIGHT_SECONDS * (os.cpu_count() or 1)):.0%} "
          f"of {os.cpu_count()} cores over 6 h), peak memory {tree.peak_total_mb:.0f} MB "
          f"({'under' if tree.peak_total_mb < TARGET_MEMORY_MB else 'NOT under'} 8 GB; it grows with parallel "
          "crawls, not with sites)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
