"""Extraction speed, memory and quality: ours against trafilatura, GNE and readability-lxml.

    pip install -e '.[bench]'      # the peers; not dependencies of the service (a pip newer than 23)
    python benchmarks/extraction.py [--rounds 3]

Every timing is cold: each tool runs once over the 90 pages of ../shared/eval/dev in a fresh
process of its own (imported, then timed over one pass: the import is printed apart), and the
order of the tools rotates from round to round, so that a machine busy with other work slows
each tool in turn. Nothing traces memory while timing; memory is a separate pass, again one
fresh process per tool: its peak resident size during the pass (VmHWM, reset as the pass
starts; lxml's C allocations count too) and how much the pass added to the resident size the
process had with its tool imported and the pages loaded (Linux: read from /proc).

Same input for all: ours gets each page's raw bytes and decodes them itself (inside the timed
pass); the peers get the text our decoder made of them, so they are spared the decoding and
none of them meets a page it cannot decode. The speed ratios are same-round figures, the
point of the rotation: on a shared machine pages/s move between rounds, ratios far less.
Quality: the first round's output, scored by ../shared/eval/score.py.
Targets (issues 12 and 17): ours >= 3 x trafilatura's pages/s, >= 2.5 x GNE's.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT.parent / "shared" / "eval"
SCORED = ("body_f1_mean", "body_f1_median", "leak_pages", "title", "publish_time", "source",
          "reporters_f1", "editors_f1")
# tool -> the module it needs; ours first, the peers in the order their ratios are printed
TOOLS = {"muniarchive": "crawler", "trafilatura": "trafilatura", "gne": "gne", "readability": "readability"}
TARGETS = {"trafilatura": 3.0, "gne": 2.5}
EMPTY = {"title": None, "publish_time": None, "source": None, "reporters": [], "editors": [], "body": None}


# ---------------------------------------------------------------------------- the tools (in a child)

def extractor(tool: str):
    """The tool imported: a function (page bytes, the text our decoder made of them, url) -> record."""
    if tool == "muniarchive":
        sys.path.insert(0, str(ROOT))
        from crawler.extract import extract_article

        return lambda page, text, url: extract_article(page, url).as_record()
    if tool == "trafilatura":
        import trafilatura

        def run(page, text, url):
            doc = trafilatura.bare_extraction(text, url=url, with_metadata=True)
            if doc is None:
                return EMPTY
            return {**EMPTY, "title": doc.title, "publish_time": doc.date, "body": doc.text,
                    "reporters": [a.strip() for a in (doc.author or "").split(";") if a.strip()]}
        return run
    if tool == "gne":
        from gne import GeneralNewsExtractor

        gne = GeneralNewsExtractor()

        def run(page, text, url):
            found = gne.extract(text)
            return {**EMPTY, "title": found.get("title"), "publish_time": found.get("publish_time") or None,
                    "body": found.get("content"), "reporters": [found["author"]] if found.get("author") else []}
        return run
    if tool == "readability":
        import lxml.html
        from readability import Document

        def run(page, text, url):
            doc = Document(text, url=url)
            summary = lxml.html.fromstring(doc.summary(html_partial=True))
            return {**EMPTY, "title": doc.short_title(), "body": "\n".join(summary.itertext())}
        return run
    raise ValueError(tool)


def status_mb(field: str) -> float:
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith(field + ":"))
    return int(line.split()[1]) / 1024


def child(tool: str, pages_file: Path, memory: bool) -> dict:
    """One cold pass of one tool, in this fresh process."""
    with open(pages_file, "rb") as f:
        pages = pickle.load(f)
    started = time.perf_counter()
    run = extractor(tool)
    import_seconds = time.perf_counter() - started
    if memory:  # the high-water mark starts again here: loading the pages is not the pass
        Path("/proc/self/clear_refs").write_text("5")
        before_mb = status_mb("VmRSS")
    records, failures = {}, []
    wall, cpu = time.perf_counter(), time.process_time()
    for page_id, page, text, url in pages:
        try:
            records[page_id] = run(page, text, url)
        except Exception as exc:  # a peer that raises on a page: an empty record, counted
            records[page_id] = EMPTY
            failures.append(f"{page_id}: {type(exc).__name__}: {exc}"[:160])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if memory:
        peak_mb = status_mb("VmHWM")
        return {"peak_mb": peak_mb, "pass_mb": peak_mb - before_mb}
    return {"seconds": wall, "cpu_seconds": cpu, "import_seconds": import_seconds, "failures": failures,
            "records": records}


# ---------------------------------------------------------------------------- the parent

def in_fresh_process(tool: str, pages_file: Path, memory: bool = False) -> dict:
    command = [sys.executable, __file__, "--child", tool, "--pages", str(pages_file)] + (["--memory"] if memory else [])
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{tool}: its process failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # the last line: a tool may print before it


def spread(values: list[float]) -> str:
    return f"min {min(values):.2f}  median {statistics.median(values):.2f}  max {max(values):.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", choices=TOOLS, help=argparse.SUPPRESS)
    parser.add_argument("--pages", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--memory", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.pages, args.memory), ensure_ascii=False))
        return 0
    if not EVAL.is_dir():
        print(f"{EVAL}: not found; the benchmark needs ../shared/eval beside the project")
        return 1

    sys.path.insert(0, str(ROOT))
    from crawler.extract import decode_body

    spec = importlib.util.spec_from_file_location("eval_score", EVAL / "score.py")
    scorer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scorer)
    labels = scorer.load_labels(EVAL / "dev")
    files = sorted((EVAL / "dev").glob("*.html"))
    pages = [(p.stem, p.read_bytes(), p.resolve().as_uri()) for p in files]
    pages = [(page_id, body, decode_body(body).text, url) for page_id, body, url in pages]

    tools = [t for t, module in TOOLS.items() if importlib.util.find_spec(module) is not None]
    missing = [t for t in TOOLS if t not in tools]
    print(f"{len(pages)} pages of ../shared/eval/dev ({sum(len(b) for _, b, _, _ in pages) / 2**20:.1f} MB), "
          f"{args.rounds} rounds; each tool cold in a fresh process per round, order rotated. Input: ours the raw "
          "bytes (decoding timed), the peers the text our decoder made of them (decoding not timed).")
    if missing:
        print(f"not installed, left out: {', '.join(missing)} (pip install -e '.[bench]')")
    if "muniarchive" not in tools:
        print("our package is not importable from here: run from a checkout with its dependencies installed")
        return 1

    runs: dict[str, list[dict]] = {tool: [] for tool in tools}
    with tempfile.TemporaryDirectory() as tmp:
        pages_file = Path(tmp) / "pages.pickle"
        pages_file.write_bytes(pickle.dumps(pages))
        for round_number in range(args.rounds):
            shift = round_number % len(tools)
            order = tools[shift:] + tools[:shift]
            for tool in order:
                runs[tool].append(in_fresh_process(tool, pages_file))
            print(f"round {round_number + 1}: " + ", ".join(
                f"{tool} {len(pages) / runs[tool][-1]['seconds']:.1f}" for tool in order) + " pages/s", flush=True)
        memory = {tool: in_fresh_process(tool, pages_file, memory=True) for tool in tools}

    print()
    print(f"{'tool':<12} {'pages/s (min-median-max)':>25} {'CPU pages/s':>11} {'import s':>8} {'peak MB':>7} "
          f"{'pass MB':>7} {'errors':>6}  " + " ".join(f"{k:>14}" for k in SCORED))
    for tool in tools:
        rates = sorted(len(pages) / r["seconds"] for r in runs[tool])
        cpu_rate = statistics.median(len(pages) / r["cpu_seconds"] for r in runs[tool])
        first = runs[tool][0]
        scores = scorer.score({k: {"id": k, **v} for k, v in first["records"].items() if k in labels}, labels)
        cells = " ".join(f"{scores[k]:>14.3f}" if isinstance(scores[k], float) else f"{scores[k]:>14}" for k in SCORED)
        print(f"{tool:<12} {f'{rates[0]:.1f}-{statistics.median(rates):.1f}-{rates[-1]:.1f}':>25} {cpu_rate:>11.1f} "
              f"{statistics.median(r['import_seconds'] for r in runs[tool]):>8.2f} {memory[tool]['peak_mb']:>7.0f} "
              f"{memory[tool]['pass_mb']:>7.0f} {len(first['failures']):>6}  {cells}")
    for tool in tools:
        for failure in runs[tool][0]["failures"][:3]:
            print(f"  {tool} raised on {failure}")

    print()
    for peer in tools[1:]:
        wall = [peer_run["seconds"] / ours_run["seconds"] for ours_run, peer_run in zip(runs["muniarchive"], runs[peer], strict=True)]
        cpu = [peer_run["cpu_seconds"] / ours_run["cpu_seconds"]
               for ours_run, peer_run in zip(runs["muniarchive"], runs[peer], strict=True)]
        target = f"  (target >= {TARGETS[peer]:g})" if peer in TARGETS else ""
        print(f"speed ratio ours/{peer:<12} same round: {spread(wall)}{target}; by CPU time: {spread(cpu)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
