"""Every CLI command that reads the archive, on a small and a large archive: the large one
should cost about what the small one does (target: within 1.2x), each command reading what it
shows, not every article.

    python benchmarks/commands.py [--small 2000] [--large 100000] [--dir /tmp/muniarchive-commands] [--runs 5]

The archives are generated once into --dir and reused by later runs (delete a file to make it
again). Each is what nights of crawling leave: 20 sites, each crawled nightly by a scheduled
run that stores its ~10 new articles (the generated text of benchmarks/archive.py, 5 % of
them reprints of another site's article) and a new version of one it stored the night
before, a PDF attachment every 25 articles, a plan document every 500; one run in 37 fails,
leaving a dead URL and an incident open until the site's next success. Everything goes
through the archive's own write path (Archive.article_write, attachment_write,
failure_write, start_run/update_run) with its clock set to each night, the last night being
today; only the incidents (the scheduler's alerts write them) are inserted as rows. A 2k
archive spans 10 nights, a 100k one 500: `status` has the same 7 days to count in both, and
a site has 50 times as many runs and articles behind them.

Each command runs --runs times in a fresh process on each archive (after one untimed run,
which also brings the files into the page cache), alternating the two archives so that
other load on the machine falls on both alike. It prints the median wall and CPU time on
each, the large/small ratio of both (flagged when the wall ratio is over 1.2x) and the peak
memory of the process on the large one. Start-up (Python, imports, migrations check) is most
of a command's time on the small archive: the ratio is what shows a query that grows.

The check is on CPU time (user + system, the files being in the page cache): on a machine
shared with other work a command's wall time mostly measures the others, while its CPU time
is the work it does. Wall ratios over the target are flagged too, for a quiet machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archive import Archive, ArticleData, CaptureData  # noqa: E402
from archive import store as archive_store  # noqa: E402
from archive.models import AlertIncident, utcnow  # noqa: E402

SITES = 20
PER_NIGHT = 10  # new articles per site and night
FAIL_EVERY = 37  # one run in FAIL_EVERY fails
ATTACHMENT_EVERY = 25
PLAN_EVERY = 500
TARGET_RATIO = 1.2
COMMON_TERM = "高质量发展"  # a stock phrase in about a third of the generated articles
SITE = "site7"


def _bench_archive():
    """benchmarks/archive.py's generator (its module name would shadow the archive package)."""
    spec = importlib.util.spec_from_file_location("archive_benchmark", Path(__file__).with_name("archive.py"))
    module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)  # its worker unpickles from it
    spec.loader.exec_module(module)
    return module


def config_text(db: Path) -> str:
    sites = "".join(f"  - key: site{i}\n    name: 站点{i}\n    region: 某省某{i}市\n"
                    f"    start_urls: [http://site{i}.example.gov.cn/]\n    pagination: {{kind: static}}\n"
                    f"    article_pattern: '/t\\d+\\.html$'\n" for i in range(SITES))
    return f"archive:\n  url: sqlite:///{db}\nsites:\n{sites}"


def build(db: Path, total: int) -> dict:
    """Generate the archive `db` of `total` articles; returns what the timed commands look up."""
    bench = _bench_archive()
    generator = bench.Generator()
    originals = bench.plan(total)
    archive = Archive(f"sqlite:///{db}")
    clock = [datetime.now(UTC)]
    archive_store.utcnow = lambda: clock[0]  # the store stamps first_seen, versions … with "now"
    site_ids = [archive.ensure_site(f"site{i}", f"站点{i}", f"http://site{i}.example.gov.cn", f"某省某{i}市")
                for i in range(SITES)]
    nights = -(-total // (SITES * PER_NIGHT))
    today = datetime.now(UTC).replace(hour=18, minute=0, second=0, microsecond=0) - timedelta(days=1)
    pending = {site: [] for site in range(SITES)}  # articles a failed run did not store
    stored_before = {site: [] for site in range(SITES)}  # (url, title, body) of the site's last night
    n, run_number, edited_url = 0, 0, None
    with ProcessPoolExecutor(1, initializer=bench._init) as pool:
        stream = bench.generated(pool, originals)
        for night in range(nights):
            start = today - timedelta(days=nights - 1 - night)
            for site in range(SITES):
                while len(pending[site]) < PER_NIGHT and n < total:
                    pending[site].append(next(stream))
                    n += 1
                clock[0] = start + timedelta(minutes=3 * site)
                site_id, run_number = site_ids[site], run_number + 1
                run_id = archive.start_run(site_id, trigger="schedule")
                if run_number % FAIL_EVERY == 0 and night < nights - 1:
                    url = f"http://site{site}.example.gov.cn/art/gone/t{run_number}.html"
                    archive.write_all([archive.failure_write(site_id, run_id, "article", url, "HTTP 404",
                                                             permanent=True, max_attempts=3, retry_delay=600,
                                                             now=clock[0])])
                    archive.update_run(run_id, status="failed", exit_code=1, started_at=clock[0],
                                       finished_at=clock[0] + timedelta(seconds=30), error="HTTP 503 on the start URL",
                                       stats={"errors": 1})
                    with archive.sessions.begin() as session:
                        session.add(AlertIncident(site_id=site_id, kind="failed", reason="HTTP 503 on the start URL",
                                                  run_id=run_id, opened_at=clock[0]))
                    continue
                writes, stored = [], []
                for number, title, body, fp in pending[site]:
                    if number % PLAN_EVERY == 0:
                        title = f"关于印发《某{site}市国民经济和社会发展第十四个五年规划纲要》的通知"
                    url = f"http://site{site}.example.gov.cn/art/{number // 1000}/t{number}.html"
                    published = clock[0] - timedelta(hours=number % 20)
                    capture = CaptureData(url=url, http_status=200, headers={"Content-Type": "text/html; charset=utf-8"},
                                          body=bench.html_of(title, body), fetched_at=clock[0])
                    writes.append(archive.article_write(site_id, run_id, capture, ArticleData(
                        title=title, body=body, publish_time=published, publish_time_precision="minute",
                        fingerprint=fp)))
                    if number % ATTACHMENT_EVERY == 0:
                        pdf = CaptureData(url=url.replace(".html", ".pdf"), http_status=200,
                                          headers={"Content-Type": "application/pdf"},
                                          body=b"%PDF-1.4 " + body.encode()[:2000], fetched_at=clock[0])
                        writes.append(archive.attachment_write(
                            site_id, run_id, pdf.url, article_url=url, link_text=f"附件：{title[:10]}", capture=pdf,
                            status="fetched", file_name=f"t{number}.pdf", file_type="pdf", text=body[:2000]))
                    stored.append((url, title, body))
                if stored_before[site]:  # the site edited one it published the night before
                    url, title, body = stored_before[site][0]
                    capture = CaptureData(url=url, http_status=200, headers={"Content-Type": "text/html; charset=utf-8"},
                                          body=bench.html_of(title, body + "（更正）"), fetched_at=clock[0])
                    writes.append(archive.article_write(site_id, run_id, capture,
                                                        ArticleData(title=title, body=body + "（更正）")))
                    edited_url = url
                archive.write_all(writes)
                archive.update_run(run_id, status="succeeded", exit_code=0, started_at=clock[0],
                                   finished_at=clock[0] + timedelta(seconds=70),
                                   stats={"articles_new": len(pending[site]), "articles_updated": 1, "errors": 0})
                with archive.sessions.begin() as session:
                    session.query(AlertIncident).filter(AlertIncident.site_id == site_id,
                                                        AlertIncident.closed_at.is_(None)).update(
                        {"closed_at": clock[0], "closed_by_run_id": run_id})
                pending[site], stored_before[site] = [], stored
            if night % 50 == 0:
                print(f"  {db.name}: night {night + 1}/{nights}, {n} articles", flush=True)
    archive.close()
    archive_store.utcnow = utcnow
    _, rare_body = generator.text(total // 2)
    return {"show_url": edited_url, "rare_term": rare_body[10:14], "articles": n, "nights": nights,
            "since": (today - timedelta(days=3)).strftime("%Y-%m-%d")}


def commands(facts: dict) -> list[tuple[str, list[str]]]:
    return [
        ("status", ["status"]),
        ("runs", ["runs"]),
        ("runs --site", ["runs", "--site", SITE]),
        ("articles", ["articles"]),
        ("articles --site", ["articles", "--site", SITE]),
        ("articles --site --since", ["articles", "--site", SITE, "--since", facts["since"]]),
        ("search (rare term)", ["search", facts["rare_term"]]),
        ("search (common term)", ["search", COMMON_TERM]),
        ("search --site", ["search", COMMON_TERM, "--site", SITE]),
        ("show", ["show", facts["show_url"]]),
        ("history", ["history", facts["show_url"]]),
        ("stories", ["stories"]),
        ("stories --site", ["stories", "--site", SITE]),
        ("plans", ["plans"]),
        ("export --since-last (20 new)", ["export", "--format", "jsonl", "--since-last", "bench", "--out",
                                          "{dir}/since-last.jsonl"]),
        ("jobs", ["jobs"]),
    ]


def reset_export_cursor(db: Path, behind: int = 20) -> None:
    """Leave `behind` versions for the next `export --since-last bench`, as a nightly export finds."""
    with sqlite3.connect(db) as connection:
        newest = connection.execute("SELECT max(id) FROM article_version").fetchone()[0]
        newest_file = connection.execute("SELECT max(id) FROM attachment").fetchone()[0] or 0
        for name, last in (("bench", newest - behind), ("bench#attachments", newest_file - behind // 25)):
            connection.execute("INSERT INTO export_cursor (name, last_version_id, exported_at) "
                               "VALUES (?, ?, '2026-01-01 00:00:00.000000') "
                               "ON CONFLICT (name) DO UPDATE SET last_version_id = excluded.last_version_id",
                               (name, last))


def timed(argv: list[str], cwd: Path) -> tuple[float, float, float]:
    """(wall s, CPU s, peak MB) of one command in a fresh process."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    error = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    if process.returncode not in (0, 1):  # status exits 1 while a site is failing
        raise SystemExit(f"{' '.join(argv)}: exit {process.returncode}: {error.strip()[-500:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=2000, help="articles in the small archive")
    parser.add_argument("--large", type=int, default=100_000, help="articles in the large archive")
    parser.add_argument("--dir", default="/tmp/muniarchive-commands", help="where the archives are kept")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each command on each archive")
    parser.add_argument("--only", help="only the commands whose name contains this")
    args = parser.parse_args()
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    muniarchive = str(Path(sys.executable).with_name("muniarchive"))
    archives = {}
    for label, total in (("small", args.small), ("large", args.large)):
        db = folder / f"archive-{total}.db"
        facts_path = folder / f"archive-{total}.json"  # written last: its archive is complete
        if not facts_path.exists():
            for stale in folder.glob(f"archive-{total}.db*"):
                stale.unlink()
            print(f"generating {db} ({total} articles) …", flush=True)
            started = time.perf_counter()
            facts = build(db, total)
            facts["build_minutes"] = round((time.perf_counter() - started) / 60, 1)
            facts_path.write_text(json.dumps(facts))
        facts = json.loads(facts_path.read_text())
        config = folder / f"archive-{total}.yaml"
        config.write_text(config_text(db), encoding="utf-8")
        size = sum(p.stat().st_size for p in folder.glob(f"archive-{total}.db*")) / 2**20
        print(f"{label}: {db} ({facts['articles']} articles, {facts['nights']} nights of {SITES} sites, "
              f"{size:.0f} MB, generated in {facts.get('build_minutes', '?')} min)", flush=True)
        archives[label] = (db, config, facts)
    print(f"\n{'command':<30} {'small s':>8} {'large s':>8} {'ratio':>6} {'CPU small':>10} {'CPU large':>10} "
          f"{'CPU ratio':>9} {'peak MB':>8}", flush=True)
    over = []
    for index, (name, _) in enumerate(commands(archives["small"][2])):
        if args.only and args.only not in name:
            continue
        samples = {"small": [], "large": []}
        for attempt in range(args.runs + 1):
            for label, (db, config, facts) in archives.items():
                argv = [muniarchive, *[a.replace("{dir}", str(folder)) for a in commands(facts)[index][1]],
                        "--config", str(config)]
                if name.startswith("export"):
                    reset_export_cursor(db)
                figures = timed(argv, folder)
                if attempt:  # the first brings the files into the page cache
                    samples[label].append(figures)
        small, large = ([statistics.median(s[i] for s in samples[label]) for i in range(3)]
                        for label in ("small", "large"))
        ratio, cpu_ratio = large[0] / small[0], large[1] / small[1]
        flags = [what for what, value in (("wall", ratio), ("CPU", cpu_ratio)) if value > TARGET_RATIO]
        if cpu_ratio > TARGET_RATIO:
            over.append(name)
        print(f"{name:<30} {small[0]:>8.2f} {large[0]:>8.2f} {ratio:>6.2f} {small[1]:>10.2f} {large[1]:>10.2f} "
              f"{cpu_ratio:>9.2f} {large[2]:>8.0f}" + (f"  OVER ({', '.join(flags)})" if flags else ""), flush=True)
    verdict = "PASS" if not over else "FAIL (" + ", ".join(over) + ")"
    print(f"\nCHECK every command on {args.large} articles within {TARGET_RATIO}x its CPU time on {args.small} "
          f"(median of {args.runs} fresh processes each): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
