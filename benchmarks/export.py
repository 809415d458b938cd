"""Export speed and memory: every format over a large archive, attachments included.

    python benchmarks/archive.py --articles 1000000 --db /tmp/bench.db   # makes the archive (about an hour)
    python benchmarks/export.py --db /tmp/bench.db --attachments 2000

With --attachments N it first gives the archive N synthetic attachments (through the
store's own write path, linked to the first N articles; again on a later run: the same
URLs, so nothing is added twice): texts of 1,000 to 400,000 characters, the bytes a stand-in
for the document, the first one as large as `defaults.max_attachment_mb` allows (30 MB).

Then runs `muniarchive export --format F --what W --out FILE` for jsonl, csv, parquet and
warc, each in its own process (W: all by default: articles and attachments, two files for
the record formats), and prints records (articles + attachments, or captures for WARC),
seconds, records per second, peak memory of that process (GNU time's maximum resident set
size) and the size of what it wrote.
Target (issue 7): peak memory <= 300 MB for every format, however large the archive.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LARGEST_BYTES = 30 * 2**20


def add_attachments(db: Path, count: int) -> None:
    from sqlalchemy import select

    from archive import Archive
    from archive.models import Article
    from archive.store import CaptureData

    archive = Archive(f"sqlite:///{db}")
    with archive.session() as session:
        articles = session.execute(select(Article.id, Article.site_id, Article.url, Article.body)
                                   .order_by(Article.id).limit(count)).all()
    rng = random.Random(7)
    started = time.perf_counter()
    for i, (_, site_id, url, body) in enumerate(articles):
        length = rng.choice((1_000, 20_000, 100_000, 400_000))
        text = ((body or "规划") * (length // max(1, len(body or "规划")) + 1))[:length]
        data = text.encode("utf-8")
        if i == 0:  # compressed streams, as in a scanned PDF: incompressible
            data += os.urandom(LARGEST_BYTES - len(data))
        file_url = url.rsplit("/", 1)[0] + f"/P0bench{i}.pdf"
        archive.store_attachment(
            site_id, None, file_url, article_url=url, link_text=f"附件{i}", status="fetched",
            capture=CaptureData(url=file_url, http_status=200, headers={"Content-Type": "application/pdf"},
                                body=data, fetched_at=datetime.now(UTC)),
            file_name=f"P0bench{i}.pdf", file_type="pdf", text=text, text_note="extracted")
    archive.close()
    print(f"{len(articles)} attachments in the archive ({time.perf_counter() - started:.0f} s)", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, help="a SQLite archive, e.g. one benchmarks/archive.py made")
    parser.add_argument("--formats", default="jsonl,csv,parquet,warc")
    parser.add_argument("--what", default="all", choices=("articles", "attachments", "all"))
    parser.add_argument("--attachments", type=int, default=0, metavar="N",
                        help="first give the archive N synthetic attachments")
    args = parser.parse_args()
    db = Path(args.db).resolve()
    if not db.exists():
        raise SystemExit(f"{db}: no such archive (make one with benchmarks/archive.py --db {db})")
    if args.attachments:
        add_attachments(db, args.attachments)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        config = folder / "config.yaml"
        config.write_text(f"archive:\n  url: sqlite:///{db}\nsites: []\n", encoding="utf-8")
        print(f"{'format':<8} {'records':>9} {'seconds':>8} {'records/s':>10} {'peak MB':>8} {'file MB':>8}", flush=True)
        for fmt in args.formats.split(","):
            out = folder / f"export.{fmt}"
            started = time.perf_counter()
            run = subprocess.run(["/usr/bin/time", "-f", "PEAK_KB %M", sys.executable, "-m", "scheduler.cli",
                                  "export", "--format", fmt, "--what", args.what, "--out", str(out),
                                  "--config", str(config)],
                                 cwd=ROOT, capture_output=True, text=True)
            seconds = time.perf_counter() - started
            if run.returncode != 0:
                raise SystemExit(f"export {fmt} failed: {run.stderr.strip().splitlines()[-1]}")
            records = sum(int(n) for n in re.findall(r"(\d+) (?:articles|attachments|captures)", run.stderr))
            peak = int(re.search(r"PEAK_KB (\d+)", run.stderr).group(1)) / 1024
            written = list(folder.glob("export*"))
            size = sum(path.stat().st_size for path in written)
            print(f"{fmt:<8} {records:>9} {seconds:>8.1f} {records / seconds:>10.0f} {peak:>8.0f} "
                  f"{size / 2**20:>8.0f}", flush=True)
            for path in written:
                path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
