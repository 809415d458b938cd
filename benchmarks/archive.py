"""Archive at scale: insert, near-duplicate lookup and search with up to a million articles.

    python benchmarks/archive.py [--articles 1000000] [--db PATH|URL]

Generates synthetic Chinese articles (random words from a 20,000-word vocabulary plus
stock officialese phrases, 200-700 characters) into a fresh SQLite archive through the
store's own write path (capture, article, version, FTS5 row, MinHash fingerprint and LSH
bands, story link), in transactions of 500. 5 % of them are reprints of an earlier article:
converted to Traditional script (OpenCC), one sentence edited, another title, another site.

At 10k, 100k and 1M stored (those within --articles) it measures:
- insert cost per article over the last 5,000 written (insert/s is the average since the
  previous checkpoint, which includes the time the measurements took);
- near-duplicate lookup per new article (archive.index.find_match on 300 unseen articles,
  a tenth of them reprints): p50/p95 (target p95 <= 5 ms), and whether each reprint was found;
- search (archive.queries.search, 50 queries of 3-6 characters taken from stored text):
  p50/p95 (target p95 <= 300 ms);
- database size, and the disk it takes per article beyond the compressed raw captures (the
  search index compacted first, as the scheduler does when a night's crawls are done; the
  text, its versions, search index, fingerprints, LSH bands and every other index; target
  <= 7 KB), with the largest tables;
and at the end, peak memory (target <= 500 MB) and how well stories came out: reprints
joined to their original / unrelated articles wrongly joined. Per-article cost should stay
flat from 10k to 1M: the insert cost at 100k is checked against that at 10k (target <= 1.3x;
on the CPU time of this process, which does all of SQLite's work: wall time on a shared
machine measures the other work too).

With --measure on an archive an earlier run made, it measures lookup and search again, and
the insert cost at that size (adding 10,000 articles to it, the first 5,000 untimed).

With --compare SMALL LARGE (two archives earlier runs made, say of 10k and 100k articles) it
measures the insert cost of both in the same minutes: batches of 500 new articles written to
one and then the other, 4 rounds to warm their caches and 10 timed, and prints the median
cost per article (wall and CPU time of this process, which does all of SQLite's work) and
the large/small ratio (target <= 1.3x, on CPU time: on a machine shared with other work the
wall time of one batch mostly measures the others). The articles stay in the archives.

--db also takes a database URL: `--db postgresql+psycopg://user@127.0.0.1:5432/bench` runs
the same on an empty PostgreSQL database (search through pg_trgm, sizes from the server's
relation sizes). There the server does the work, so insert rates are wall time.
"""

from __future__ import annotations

import argparse
import random
import re
import resource
import statistics
import sys
import tempfile
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select  # noqa: E402

from archive import Archive, ArticleData, CaptureData  # noqa: E402
from archive.db import sqlite_path  # noqa: E402
from archive.dedup import fingerprint  # noqa: E402
from archive.index import find_match  # noqa: E402
from archive.models import Article  # noqa: E402
from archive.queries import search  # noqa: E402

BATCH = 500
RECENT_BATCHES = 10  # the insert cost at a checkpoint: over the last 10 batches (5,000 articles)
CHECKPOINTS = (10_000, 100_000, 1_000_000)
TARGET_KB_PER_ARTICLE = 7.0
TARGET_INSERT_GROWTH = 1.3  # insert cost at 100k over that at 10k
STOCK = ["深入贯彻落实", "高质量发展", "进一步加强", "推动经济社会发展", "坚持以人民为中心", "全面推进乡村振兴",
         "营商环境", "十四五规划", "重点项目建设", "安全生产", "生态环境保护", "民生实事", "优化公共服务",
         "统筹发展和安全", "科技创新", "城市更新", "基层治理", "就业创业", "招商引资", "数字经济"]


class Generator:
    """Deterministic synthetic articles; article n is the same in every run."""

    def __init__(self, seed: int = 7):
        rng = random.Random(seed)
        chars = [chr(c) for c in range(0x4E00, 0x4E00 + 3500)]
        self.words = ["".join(rng.choice(chars) for _ in range(rng.choice((2, 2, 2, 3, 4)))) for _ in range(20_000)]
        self.seed = seed

    def text(self, n: int) -> tuple[str, str]:
        rng = random.Random(self.seed * 1_000_003 + n)
        sentences = []
        for _ in range(rng.randint(6, 18)):
            words = [rng.choice(STOCK) if rng.random() < 0.08 else rng.choice(self.words)
                     for _ in range(rng.randint(6, 16))]
            sentences.append("".join(words) + rng.choice("。，；"))
        paragraphs = ["".join(sentences[i:i + 3]) for i in range(0, len(sentences), 3)]
        title = "".join(rng.choice(self.words) for _ in range(rng.randint(4, 8)))
        return title, "\n".join(paragraphs)


def reprint_of(title: str, body: str, n: int) -> tuple[str, str]:
    """Another site's copy: Traditional script, one sentence changed, its own title."""
    import opencc

    converter = reprint_of.__dict__.setdefault("converter", opencc.OpenCC("s2t.json"))
    rng = random.Random(n)
    sentences = re.split(r"(?<=[。，；])", body)
    index = rng.randrange(len(sentences) - 1)
    sentences[index] = sentences[index][: len(sentences[index]) // 2] + "据本报记者了解。"
    return converter.convert("转载：" + title), converter.convert("".join(sentences))


def plan(total: int, reprint_share: float = 0.05, seed: int = 11) -> list[int | None]:
    """For each article n: None, or the number of the earlier article it reprints."""
    rng = random.Random(seed)
    originals: list[int | None] = []
    for n in range(total):
        pick = None
        if n > 100 and rng.random() < reprint_share:
            pick = rng.randrange(n)
            while originals[pick] is not None:  # a reprint of an original article, not of a reprint
                pick = rng.randrange(n)
        originals.append(pick)
    return originals


def make(args) -> tuple[int, str, str, object]:
    n, original, generator = args
    if original is None:
        title, body = generator.text(n)
    else:
        title, body = reprint_of(*generator.text(original), n)
    return n, title, body, fingerprint(body)


_generator: Generator | None = None


def _init() -> None:
    global _generator
    _generator = Generator()


def make_many(items: list[tuple[int, int | None]]) -> list:
    return [make((n, original, _generator)) for n, original in items]


def generated(pool: ProcessPoolExecutor, originals: list[int | None], chunk: int = 5000):
    """Articles made in the worker, one chunk ahead of the writer (memory stays bounded)."""
    pending = None
    for start in range(0, len(originals), chunk):
        future = pool.submit(make_many, list(zip(range(start, start + chunk), originals[start:start + chunk],
                                                 strict=False)))
        if pending is not None:
            yield from pending.result()
        pending = future
    if pending is not None:
        yield from pending.result()


def url_of(n: int, originals: list[int | None], sites: list[int]) -> tuple[int, str]:
    """(site id, URL) of article n: a reprint lives on another site than its original's."""
    site_id = sites[(n + (originals[n] is not None)) % len(sites)]
    return site_id, f"http://site{site_id}.example.gov.cn/art/{n // 1000}/t{n}.html"


def html_of(title: str, body: str) -> bytes:
    paragraphs = "".join(f"<p>{p}</p>" for p in body.split("\n"))
    return (f"<html><head><meta charset='utf-8'><title>{title}</title></head><body><h1>{title}</h1>"
            f"<div class='TRS_Editor'>{paragraphs}</div></body></html>").encode()


def percentiles(values: list[float]) -> tuple[float, float]:
    values = sorted(values)
    return statistics.median(values), values[min(len(values) - 1, int(len(values) * 0.95))]


def measure(archive: Archive, generator: Generator, stored: int, originals: list[int | None]) -> dict:
    """Lookup and search timings with `stored` articles in the archive."""
    rng = random.Random(stored)
    lookups, found = [], []
    with archive.engine.connect() as connection:
        for i in range(300):
            n = 10_000_000 + stored + i  # never stored
            if i % 10 == 0:
                original = rng.randrange(stored)
                while originals[original] is not None:  # what is stored under a reprint's number differs
                    original = rng.randrange(stored)
                _, _, body, fp = make((n, original, generator))
            else:
                _, _, body, fp = make((n, None, generator))
            start = time.perf_counter()
            match = find_match(connection, -1, fp)
            lookups.append((time.perf_counter() - start) * 1000)
            if i % 10 == 0:
                found.append(match is not None)
    queries = []
    for _ in range(50):
        _, body = generator.text(rng.randrange(stored))
        start = rng.randrange(max(1, len(body) - 8))
        query = body[start:start + rng.choice((3, 4, 6))].strip("。，；\n")
        if len(query) >= 3:
            queries.append(query)
    queries += ["十四五规划", "高质量发展", "營商環境"]
    timings = []
    for query in queries:
        start = time.perf_counter()
        search(archive, query, limit=20)
        timings.append((time.perf_counter() - start) * 1000)
    lookup_p50, lookup_p95 = percentiles(lookups)
    search_p50, search_p95 = percentiles(timings)
    return {"lookup_p50": lookup_p50, "lookup_p95": lookup_p95, "reprints_found": sum(found), "reprints": len(found),
            "search_p50": search_p50, "search_p95": search_p95, "queries": len(timings)}


def check(label: str, value: float, target: float, unit: str = "") -> str:
    """One line a reader (or a script: grep CHECK) can judge at a glance."""
    return f"CHECK {label}: {value:.2f}{unit} (target <= {target}{unit}): {'PASS' if value <= target else 'FAIL'}"


def database_url(db: str) -> str:
    """--db as given: a URL, or an SQLite file's path."""
    return db if "://" in db else f"sqlite:///{db}"


def footprint(archive: Archive, articles: int) -> tuple[float, list[tuple[str, float]]]:
    """KB on disk per article beyond the compressed raw captures' bytes, and the largest
    tables and indexes (MB). Counts the pages in use after a checkpoint (the WAL folded in,
    free pages left out)."""
    if archive.engine.dialect.name == "postgresql":
        return pg_footprint(archive, articles)
    with archive.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        pragma = {name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                  for name in ("page_size", "page_count", "freelist_count")}
        used = pragma["page_size"] * (pragma["page_count"] - pragma["freelist_count"])
        captured = connection.exec_driver_sql("SELECT sum(length(body_zlib)) FROM capture").scalar() or 0
        try:
            tables = connection.exec_driver_sql("SELECT name, sum(pgsize) FROM dbstat GROUP BY name "
                                                "ORDER BY 2 DESC LIMIT 8").all()
        except Exception:  # an SQLite built without the dbstat table
            tables = []
    return (used - captured) / articles / 1024, [(name, size / 2**20) for name, size in tables]


def database_size(archive: Archive, path: Path | None) -> float:
    """MB the archive takes: the SQLite file and its WAL, or the PostgreSQL database."""
    if path is not None:
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 2**20
    with archive.engine.connect() as connection:
        return connection.exec_driver_sql("SELECT pg_database_size(current_database())").scalar() / 2**20


def pg_footprint(archive: Archive, articles: int) -> tuple[float, list[tuple[str, float]]]:
    """The same on PostgreSQL: the database's size (tables, TOAST and indexes) after VACUUM, less
    the raw captures' bytes as stored (TOAST compresses nothing already compressed)."""
    with archive.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")
        used = connection.exec_driver_sql("SELECT pg_database_size(current_database())").scalar()
        captured = connection.exec_driver_sql("SELECT sum(pg_column_size(body_zlib)) FROM capture").scalar() or 0
        tables = connection.exec_driver_sql(
            "SELECT relname, pg_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE nspname = 'public' ORDER BY 2 DESC LIMIT 8").all()
    return (used - captured) / articles / 1024, [(name, size / 2**20) for name, size in tables]


def insert_cost(archive: Archive, stored: int) -> float:
    """ms per article of writing new articles into this archive, after as many again to warm
    its cache (a crawl's writer runs for a while). They stay in the archive."""
    generator = Generator()
    sites = [archive.ensure_site(f"site{i}", f"站点{i}", f"http://site{i}.example.gov.cn") for i in range(20)]
    first = 20_000_000 + stored  # numbers no run stores
    articles = [make((n, None, generator)) for n in range(first, first + 2 * RECENT_BATCHES * BATCH)]
    timed, count = 0.0, 0
    for index in range(0, len(articles), BATCH):
        batch = []
        for n, title, body, fp in articles[index:index + BATCH]:
            site_id = sites[n % len(sites)]
            capture = CaptureData(url=f"http://site{site_id}.example.gov.cn/extra/t{n}.html", http_status=200,
                                  headers={"Content-Type": "text/html; charset=utf-8"}, body=html_of(title, body),
                                  fetched_at=datetime.now(UTC))
            batch.append(archive.article_write(site_id, None, capture, ArticleData(title=title, body=body,
                                                                                    fingerprint=fp)))
        started = time.perf_counter()
        archive.write_all(batch)
        if index >= len(articles) // 2:
            timed, count = timed + time.perf_counter() - started, count + len(batch)
    return timed / count * 1000


def compare_insert_cost(paths: list[str], warm: int = 4, rounds: int = 10) -> None:
    """Insert cost per article on each archive, batches interleaved (see --compare)."""
    generator = Generator()
    archives = [Archive(database_url(path)) for path in paths]
    stored, sites, samples = [], [], [[] for _ in paths]
    for archive in archives:
        with archive.session() as session:
            stored.append(session.scalar(select(func.count()).select_from(Article)))
        sites.append([archive.ensure_site(f"site{i}", f"站点{i}", f"http://site{i}.example.gov.cn") for i in range(20)])
    for round_ in range(warm + rounds):
        for index, archive in enumerate(archives):
            first = 30_000_000 + stored[index] + round_ * BATCH  # numbers no other run stores
            batch = []
            for n, title, body, fp in (make((n, None, generator)) for n in range(first, first + BATCH)):
                site_id = sites[index][n % 20]
                capture = CaptureData(url=f"http://site{site_id}.example.gov.cn/more/t{n}.html", http_status=200,
                                      headers={"Content-Type": "text/html; charset=utf-8"},
                                      body=html_of(title, body), fetched_at=datetime.now(UTC))
                batch.append(archive.article_write(site_id, None, capture,
                                                   ArticleData(title=title, body=body, fingerprint=fp)))
            wall, cpu = time.perf_counter(), time.process_time()
            archive.write_all(batch)
            if round_ >= warm:
                samples[index].append(((time.perf_counter() - wall) / BATCH * 1000,
                                       (time.process_time() - cpu) / BATCH * 1000))
    medians = [[statistics.median(sample[i] for sample in taken) for i in (0, 1)] for taken in samples]
    for count, (wall, cpu) in zip(stored, medians, strict=True):
        print(f"{count} stored: insert {wall:.2f} ms/article wall, {cpu:.2f} ms CPU "
              f"(median of {rounds} batches of {BATCH}, interleaved)")
    (small_wall, small_cpu), (large_wall, large_cpu) = medians[0], medians[-1]
    print(f"wall ratio {large_wall / small_wall:.2f}x")
    print(check(f"insert cost at {stored[-1]} / at {stored[0]} (CPU {large_cpu:.2f} / {small_cpu:.2f} ms)",
                large_cpu / small_cpu, TARGET_INSERT_GROWTH, "x"))
    for archive in archives:
        archive.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--db", help="archive file or database URL (default: a temporary file, removed after)")
    parser.add_argument("--measure", action="store_true",
                        help="only measure lookup, search and insert cost on the archive --db an earlier run made")
    parser.add_argument("--compare", nargs=2, metavar=("SMALL", "LARGE"),
                        help="only compare the insert cost on two archives earlier runs made")
    args = parser.parse_args()
    if args.compare:
        compare_insert_cost(args.compare)
        return 0
    if args.measure:
        archive = Archive(database_url(args.db))
        with archive.session() as session:
            stored = session.scalar(select(func.count()).select_from(Article))
        figures = measure(archive, Generator(), stored, plan(stored))
        print(f"{stored} stored: lookup p50 {figures['lookup_p50']:.2f} ms, p95 {figures['lookup_p95']:.2f} ms, "
              f"reprints found {figures['reprints_found']}/{figures['reprints']}; search p50 "
              f"{figures['search_p50']:.1f} ms, p95 {figures['search_p95']:.1f} ms over {figures['queries']} queries",
              flush=True)
        print(f"insert: {insert_cost(archive, stored):.2f} ms/article "
              f"(the last {RECENT_BATCHES * BATCH} of {2 * RECENT_BATCHES * BATCH} articles added to the archive)")
        return 0

    folder = tempfile.TemporaryDirectory()
    url = database_url(args.db or str(Path(folder.name) / "bench.db"))
    path = sqlite_path(url)
    if path is not None and path.exists():
        raise SystemExit(f"{path} exists: the benchmark starts from an empty archive")
    archive = Archive(url)
    with archive.session() as session:
        if session.scalar(select(func.count()).select_from(Article)):
            raise SystemExit(f"{args.db} holds articles: the benchmark starts from an empty archive")
    sites = [archive.ensure_site(f"site{i}", f"站点{i}", f"http://site{i}.example.gov.cn") for i in range(20)]
    generator = Generator()
    originals = plan(args.articles)
    checkpoints = [c for c in CHECKPOINTS if c <= args.articles] or [args.articles]
    base_time = datetime(2020, 1, 1, tzinfo=UTC)
    print(f"{'stored':>9} {'insert/s':>9} {'ms/article':>10} {'lookup p50':>10} {'p95':>6} {'reprints':>9} "
          f"{'search p50':>10} {'p95':>7} {'db MB':>8} {'KB/article':>10}", flush=True)
    costs: dict[int, float] = {}  # ms per article at each checkpoint
    per_article = 0.0
    started = time.perf_counter()
    window_start, window_count = time.perf_counter(), 0
    recent = deque(maxlen=RECENT_BATCHES)  # (wall s, CPU s, articles) of the last batches: the cost at this size
    with ProcessPoolExecutor(1, initializer=_init) as pool:
        # texts and fingerprints are made in a worker, as the crawl's extraction worker does
        batch = []
        for n, title, body, fp in generated(pool, originals):
            site_id, url = url_of(n, originals, sites)
            published = base_time + timedelta(minutes=n)
            capture = CaptureData(url=url, http_status=200, headers={"Content-Type": "text/html; charset=utf-8"},
                                  body=html_of(title, body), fetched_at=published)
            data = ArticleData(title=title, body=body, publish_time=published, publish_time_precision="minute",
                               fingerprint=fp)
            batch.append(archive.article_write(site_id, None, capture, data))
            if len(batch) == BATCH or n == args.articles - 1:
                written, cpu = time.perf_counter(), time.process_time()
                archive.write_all(batch)
                recent.append((time.perf_counter() - written, time.process_time() - cpu, len(batch)))
                window_count += len(batch)
                batch = []
            stored = n + 1
            if stored in checkpoints:
                elapsed = time.perf_counter() - window_start
                # as the scheduler does once a night's queue has drained (not in the insert timing)
                compacting = time.perf_counter()
                archive.compact_search_index()
                compacted = time.perf_counter() - compacting
                figures = measure(archive, generator, stored, originals)
                count = sum(articles for _, _, articles in recent)
                cost = sum(seconds for seconds, _, _ in recent) / count * 1000
                # CPU of this process where it does the database's work (SQLite); wall time where a server does
                costs[stored] = (cost if path is None else sum(seconds for _, seconds, _ in recent) / count * 1000)
                per_article, tables = footprint(archive, stored)
                size = database_size(archive, path)
                print(f"{stored:>9} {window_count / elapsed:>9.0f} {cost:>10.2f} "
                      f"{figures['lookup_p50']:>10.2f} {figures['lookup_p95']:>6.2f} "
                      f"{figures['reprints_found']:>4}/{figures['reprints']:<4} "
                      f"{figures['search_p50']:>10.1f} {figures['search_p95']:>7.1f} {size:>8.0f} "
                      f"{per_article:>10.2f}   (search index compacted in {compacted:.1f} s)", flush=True)
                window_start, window_count = time.perf_counter(), 0
    total = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    reprints = [(n, o) for n, o in enumerate(originals) if o is not None]
    wanted = {url_of(n, originals, sites)[1] for pair in reprints for n in pair}
    story_of = {}
    with archive.session() as session:
        listed = sorted(wanted)
        for start in range(0, len(listed), 500):
            story_of.update(session.execute(select(Article.url, Article.story_id)
                                            .where(Article.url.in_(listed[start:start + 500]))).all())
        in_stories = session.scalar(select(func.count()).select_from(Article).where(Article.story_id.is_not(None)))
    joined = sum(1 for n, o in reprints if story_of[url_of(n, originals, sites)[1]] is not None
                 and story_of[url_of(n, originals, sites)[1]] == story_of[url_of(o, originals, sites)[1]])
    wrongly = in_stories - sum(1 for story in story_of.values() if story is not None)
    print(f"\n{args.articles} articles in {total / 60:.1f} min ({args.articles / total:.0f}/s overall); "
          f"reprints joined to their original: {joined}/{len(reprints)}; unrelated articles put in a story: {wrongly}")
    print(f"peak memory: {peak:.0f} MB (this process, target <= 500), generator worker {worker_peak:.0f} MB")
    print("largest tables and indexes (MB): " + ", ".join(f"{name} {size:.1f}" for name, size in tables))
    print(check(f"disk per article at {stored} beyond the compressed raw captures", per_article,
                TARGET_KB_PER_ARTICLE, " KB"))
    if 10_000 in costs and 100_000 in costs:
        print(check(f"insert cost at 100k / at 10k ({'CPU' if path else 'wall'} {costs[100_000]:.2f} / "
                    f"{costs[10_000]:.2f} ms; "
                    "--compare measures it with less noise)",
                    costs[100_000] / costs[10_000], TARGET_INSERT_GROWTH, "x"))
    archive.close()
    folder.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
