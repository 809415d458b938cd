"""Extraction quality on the labelled real pages of ../shared/eval/dev may only go up.

tests/eval_ratchet.json holds the best scores reached so far; raise it (never lower it)
when the extractor improves: `python tests/test_eval_ratchet.py` prints the current scores.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from crawler.extract import extract_article

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
EVAL = SHARED / "eval"
RATCHET = Path(__file__).with_name("eval_ratchet.json")


def dev_scores() -> dict:
    spec = importlib.util.spec_from_file_location("eval_score", EVAL / "score.py")
    scorer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scorer)
    predictions = {}
    for page in sorted((EVAL / "dev").glob("*.html")):
        record = extract_article(page.read_bytes(), page.resolve().as_uri()).as_record()
        predictions[page.stem] = {"id": page.stem, **record}
    result = scorer.score(predictions, scorer.load_labels(EVAL / "dev"))
    result.pop("per_page")
    return result


@pytest.mark.skipif(not (EVAL / "dev").is_dir(), reason="../shared/eval is not beside the project: "
                    "extraction quality cannot be scored")
def test_dev_scores_never_fall_below_the_best_reached():
    scores = dev_scores()
    best = json.loads(RATCHET.read_text(encoding="utf-8"))
    fallen = {key: (scores[key], floor) for key, floor in best.items()
              if (scores[key] > floor if key in ("leak_pages", "body_f1_under_0.9") else scores[key] < floor - 1e-9)}
    assert not fallen, f"scores below the ratchet (now, best): {fallen}"


if __name__ == "__main__":
    json.dump(dev_scores(), sys.stdout, indent=1)
