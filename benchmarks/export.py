"""Export speed and memory: every format over a large archive.

    python benchmarks/archive.py --articles 1000000 --db /tmp/bench.db   # makes the archive (about an hour)
    python benchmarks/export.py --db /tmp/bench.db

Runs `muniarchive export --format F --out FILE` for jsonl, csv, parquet and warc, each in
its own process, and prints records, seconds, records per second, peak memory of that
process (GNU time's maximum resident set size) and the file's size.
Target (issue 7): peak memory <= 300 MB for every format, however large the archive.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, help="a SQLite archive, e.g. one benchmarks/archive.py made")
    parser.add_argument("--formats", default="jsonl,csv,parquet,warc")
    args = parser.parse_args()
    db = Path(args.db).resolve()
    if not db.exists():
        raise SystemExit(f"{db}: no such archive (make one with benchmarks/archive.py --db {db})")
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        config = folder / "config.yaml"
        config.write_text(f"archive:\n  url: sqlite:///{db}\nsites: []\n", encoding="utf-8")
        print(f"{'format':<8} {'records':>9} {'seconds':>8} {'records/s':>10} {'peak MB':>8} {'file MB':>8}", flush=True)
        for fmt in args.formats.split(","):
            out = folder / f"export.{fmt}"
            started = time.perf_counter()
            run = subprocess.run(["/usr/bin/time", "-f", "PEAK_KB %M", sys.executable, "-m", "scheduler.cli",
                                  "export", "--format", fmt, "--out", str(out), "--config", str(config)],
                                 cwd=ROOT, capture_output=True, text=True)
            seconds = time.perf_counter() - started
            if run.returncode != 0:
                raise SystemExit(f"export {fmt} failed: {run.stderr.strip().splitlines()[-1]}")
            records = int(re.search(r"exported (\d+)", run.stderr).group(1))
            peak = int(re.search(r"PEAK_KB (\d+)", run.stderr).group(1)) / 1024
            print(f"{fmt:<8} {records:>9} {seconds:>8.1f} {records / seconds:>10.0f} {peak:>8.0f} "
                  f"{out.stat().st_size / 2**20:>8.0f}", flush=True)
            out.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
