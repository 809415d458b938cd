"""Extraction speed, memory and quality: ours against trafilatura on the same pages.

    pip install trafilatura        # not a dependency of the service
    python benchmarks/extraction.py [--rounds 3]

Both extractors get the raw bytes of every page in ../shared/eval/dev and holdout (each
decodes them itself), in one process, one after the other. Printed per tool: pages per
second (best of the rounds), the Python-heap peak while it ran (tracemalloc: lxml's own
C allocations are not counted), and for dev, the scores of ../shared/eval/score.py.
Holdout pages are only timed here, never scored or looked at.
Target (issue 3): ours at least 3 x trafilatura's pages per second.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawler.extract import extract_article  # noqa: E402

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"
SCORED = ("body_f1_mean", "body_f1_median", "leak_pages", "title", "publish_time", "source",
          "reporters_f1", "editors_f1")


def ours(page: bytes, url: str) -> dict:
    return extract_article(page, url).as_record()


def trafilatura_record(page: bytes, url: str) -> dict:
    import trafilatura

    doc = trafilatura.bare_extraction(page, url=url, with_metadata=True)
    if doc is None:
        return {"title": None, "publish_time": None, "source": None, "reporters": [], "editors": [], "body": None}
    author = doc.author or ""
    return {"title": doc.title, "publish_time": doc.date, "source": None,
            "reporters": [a.strip() for a in author.split(";") if a.strip()], "editors": [], "body": doc.text}


def run(tool, pages: list[tuple[str, bytes, str]], rounds: int) -> tuple[float, float, dict]:
    best = float("inf")
    tracemalloc.start()
    for _ in range(rounds):
        started = time.perf_counter()
        records = {page_id: {"id": page_id, **tool(body, url)} for page_id, body, url in pages}
        best = min(best, time.perf_counter() - started)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return len(pages) / best, peak, records


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not EVAL.is_dir():
        print(f"{EVAL}: not found; the benchmark needs ../shared/eval beside the project")
        return 1
    spec = importlib.util.spec_from_file_location("eval_score", EVAL / "score.py")
    scorer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scorer)
    labels = scorer.load_labels(EVAL / "dev")
    pages = [(p.stem, p.read_bytes(), p.resolve().as_uri())
             for folder in ("dev", "holdout") for p in sorted((EVAL / folder).glob("*.html"))]
    print(f"{len(pages)} pages ({sum(len(b) for _, b, _ in pages) / 2**20:.1f} MB), best of {args.rounds} rounds")

    results = {"muniarchive": run(ours, pages, args.rounds)}
    try:
        results["trafilatura"] = run(trafilatura_record, pages, args.rounds)
    except ImportError:
        print("trafilatura is not installed (pip install trafilatura): only our figures follow")

    print(f"{'tool':<12} {'pages/s':>8} {'peak MB':>8}  " + " ".join(f"{k:>14}" for k in SCORED))
    for name, (rate, peak, records) in results.items():
        scores = scorer.score({k: v for k, v in records.items() if k in labels}, labels)
        cells = " ".join(f"{scores[k]:>14.3f}" if isinstance(scores[k], float) else f"{scores[k]:>14}"
                         for k in SCORED)
        print(f"{name:<12} {rate:>8.1f} {peak:>8.1f}  {cells}")
    if "trafilatura" in results:
        print(f"speed ratio ours/trafilatura: {results['muniarchive'][0] / results['trafilatura'][0]:.2f} "
              "(target >= 3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
