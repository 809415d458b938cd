"""Plan-release detection: the labelled titles, the rule file's own examples."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from crawler.plans import default_rules, detect_plan, normalise_title

CASES = yaml.safe_load((Path(__file__).parent / "data" / "plan_titles.yaml").read_text(encoding="utf-8"))["cases"]


def classify(case: dict):
    match = detect_plan(case["title"], text=case.get("snippet"), region=case.get("region", "山东省滨河市"))
    return None if match is None else [match.stage, match.period, match.kind]


def test_labelled_titles_are_classified_with_precision_and_recall_one():
    assert len(CASES) >= 60
    assert sum(c["expect"] is None for c in CASES) >= 20  # hard negatives
    assert {c["expect"][0] for c in CASES if c["expect"]} == {s.stage for s in default_rules().stages}
    wrong = [(c["title"], c["expect"], got) for c in CASES if (got := classify(c)) != c["expect"]]
    assert wrong == []


@pytest.mark.parametrize("stage", default_rules().stages, ids=lambda s: s.stage)
def test_every_stage_rule_detects_its_examples(stage):
    assert stage.matches
    for example in stage.matches:
        match = detect_plan(example, region="山东省滨河市")
        assert match is not None and match.stage == stage.stage, example
    # each form (a frame, a phrase after the name) is shown by one of them at least
    unshown = [f.pattern for f in stage.frames if not any(f.search(normalise_title(e)) for e in stage.matches)]
    assert unshown == []


@pytest.mark.parametrize("veto", default_rules().vetoes, ids=lambda v: v.why)
def test_every_veto_rejects_its_examples(veto):
    assert veto.examples
    for example in veto.examples:
        assert veto.pattern.search(example), example
        assert detect_plan(example, region="山东省滨河市") is None, example


def test_stages_of_one_plan_share_its_key_across_scripts_and_sites():
    titles = [
        "关于公开征求《滨河市国民经济和社会发展第十五个五年规划纲要（征求意见稿）》意见的公告",
        "滨河市人民政府关于印发滨河市国民经济和社会发展第十五个五年规划和二〇三五年远景目标纲要的通知",
        "濱河市國民經濟和社會發展第十五個五年規劃和二○三五年遠景目標綱要.pdf",
    ]
    matches = [detect_plan(t, region="山东省滨河市") for t in titles]
    assert {m.plan_key for m in matches} == {"十五五|国民经济和社会发展"}
    assert [m.stage for m in matches] == ["consultation", "final", "final"]
    special = detect_plan("滨河市“十四五”交通运输发展规划（2022年更新）.pdf", region="山东省滨河市")
    assert special.plan_key == "十四五|交通运输发展" and special.kind == "special"
