"""benchmarks/rule_usage.py: switching a construct off shows which pages and sites need it.

Runs the tool's core on a package and pages of our own (../shared is not needed).
"""

import sys
import textwrap

import pytest

from benchmarks import rule_usage
from benchmarks.rule_usage import Page

TOY = textwrap.dedent('''
    import re

    _HOTLINE = re.compile(r"(?:新闻|报料)热线\\s*[:：]\\s*[\\d-]{7,}")


    def extract(text):
        return {"body": "\\n".join(line for line in text.splitlines() if not _HOTLINE.search(line))}
''')
TEXTS = {
    "hotline": "春季植树活动在城西湿地公园举行，三百余名志愿者参加。\n新闻热线：0531-1234567",
    "colon": "区图书馆自下月起延长开放时间至晚九点。\n报料热线: 0531-7654321",
    "plain": "河道清淤工程提前完工，沿岸步道重新开放。\n（完）",
}


@pytest.fixture
def toy_package(tmp_path, monkeypatch):
    (tmp_path / "rule_usage_toy").mkdir()
    (tmp_path / "rule_usage_toy" / "__init__.py").write_text(TOY, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "rule_usage_toy"
    sys.modules.pop("rule_usage_toy", None)


def extract_toy(page: Page, raw: bool) -> dict:
    return sys.modules["rule_usage_toy"].extract(page.data.decode("utf-8"))


@pytest.mark.parametrize(("sites", "pages", "flag"), [
    ({"hotline": "a.example.cn", "colon": "a.example.cn", "plain": "b.example.cn"}, ["hotline", "colon"], "ONE-SITE"),
    ({"hotline": "a.example.cn", "colon": "b.example.cn", "plain": "b.example.cn"}, ["hotline", "colon"], ""),
    ({"hotline": "a.example.cn", "colon": "a.example.cn", "plain": "a.example.cn"}, ["hotline", "colon"], "ONE-SITE"),
])
def test_a_regex_switched_off_changes_the_pages_that_need_it(toy_package, sites, pages, flag):
    constructs, _ = rule_usage.discover([toy_package], explicit=())
    assert [(c.name, c.kind) for c in constructs] == [("rule_usage_toy._HOTLINE", "regex")]
    toy_pages = [Page(name, sites[name], "", text.encode("utf-8")) for name, text in TEXTS.items()]
    [usage] = rule_usage.measure(constructs, toy_pages, extract_toy, packages=[toy_package], processes=1)
    assert usage.pages == pages
    assert usage.sites == sorted({sites[name] for name in pages})
    assert usage.flag == flag
    # switched back on afterwards
    assert "热线" not in extract_toy(toy_pages[0], False)["body"]


def test_a_page_site_is_the_registrable_domain_of_its_canonical_url():
    page = '<html><head><link rel="canonical" href="https://news.binhe.gov.cn/2026/05/t1.html"></head></html>'
    assert rule_usage.site_evidence(page, {})[:2] == ("binhe.gov.cn", "canonical/og:url/base")


def test_a_yaml_number_is_a_setting_and_a_yaml_rule_carries_its_note(tmp_path, monkeypatch):
    package = tmp_path / "rule_usage_yaml_toy"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "rules.yaml").write_text(textwrap.dedent("""
        min_length: 12
        strict: true
        rules:
          - name: hotline
            pattern: 热线
            note: the grammar of a hotline line, any paper
          - name: sms
            pattern: 短信
    """), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        constructs, _ = rule_usage._yaml_entries(["rule_usage_yaml_toy"])
    finally:
        sys.modules.pop("rule_usage_yaml_toy", None)
    assert [(c.name, c.note) for c in constructs] == [
        ("rule_usage_yaml_toy/rules.yaml:rules[hotline]", "the grammar of a hotline line, any paper"),
        ("rule_usage_yaml_toy/rules.yaml:rules[sms]", ""),
    ]
