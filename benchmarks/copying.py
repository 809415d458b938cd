"""`muniarchive copy` and serve's snapshot at size: how long an archive takes to move.

    python benchmarks/copying.py ARCHIVE.db [--pg URL] [--batch 1000]

ARCHIVE.db is a SQLite archive (e.g. made by `benchmarks/archive.py --articles 10000 --db
ARCHIVE.db`). It is copied SQLite -> PostgreSQL -> SQLite, each copy verified (counts and
checksums, included in its time), then the table browser's snapshot of the PostgreSQL copy
is made as `serve` makes it. Prints seconds, rows/s and articles/s of each. --pg: an empty
database whose role may create pg_trgm (default: a throwaway server from Debian's
postgresql package, as the tests start).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archive.copy import copy_archive  # noqa: E402
from scheduler.serve import make_snapshot  # noqa: E402


def throwaway_server():
    from sqlalchemy import create_engine, text

    from tests.postgres import Server, _binaries

    server = Server(_binaries())
    url = server.start()
    with create_engine(url, isolation_level="AUTOCOMMIT").connect() as connection:
        connection.execute(text("CREATE DATABASE bench"))
    return server, url.set(database="bench").render_as_string(hide_password=False)


def timed(label: str, work) -> None:
    started = time.perf_counter(), time.process_time()
    report = work()
    wall, cpu = time.perf_counter() - started[0], time.process_time() - started[1]
    if isinstance(report, int):
        print(f"{label:<28} {wall:8.1f} s wall {cpu:8.1f} s cpu  {report / wall:9.0f} articles/s")
        return
    assert not report.mismatched, [t.table for t in report.mismatched]
    rows = sum(t.target_rows for t in report.tables)
    articles = next(t.target_rows for t in report.tables if t.table == "article")
    print(f"{label:<28} {wall:8.1f} s wall {cpu:8.1f} s cpu  {rows / wall:9.0f} rows/s  {articles / wall:7.0f} "
          f"articles/s  ({rows} rows, {articles} articles, verified)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("archive", type=Path)
    parser.add_argument("--pg", help="an empty PostgreSQL database (default: a throwaway server)")
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    server, pg = (None, args.pg) if args.pg else throwaway_server()
    folder = Path(tempfile.mkdtemp(prefix="muniarchive-copy-bench-"))
    try:
        source = f"sqlite:///{args.archive.resolve()}"
        timed("SQLite -> PostgreSQL", lambda: copy_archive(source, pg, batch=args.batch))
        timed("PostgreSQL -> SQLite", lambda: copy_archive(pg, f"sqlite:///{folder / 'back.db'}", batch=args.batch))
        timed("snapshot for serve (PG)", lambda: make_snapshot(pg, folder / "snapshot.db"))
        timed("snapshot again (in place)", lambda: make_snapshot(pg, folder / "snapshot.db"))
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
