"""The naive-crawl text dumps in ../shared/samples, cleaned: every defect they show is gone,
and every sentence of the article stays. Expectations are written from the dumps themselves."""

from __future__ import annotations

import re

import pytest

from crawler.extract import extract_from_text
from tests.conftest import SHARED

SAMPLES = SHARED / "samples"
pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason="../shared/samples is not beside the project")

TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
# a flattened annotation right after a Chinese character: 發(fā), 濟(jì)
ANNOTATION = re.compile(rf"(?<=[\u4e00-\u9fff])[(（][a-zü{TONED}' ]*[{TONED}][a-zü{TONED}' ]*[)）]")
NOT_ARTICLE = re.compile(r"熱線|热线|責任編輯|责任编辑|來源|来源|原標題|原标题|發布時間|发布时间|爆料")
FIELDS = {
    "jining-news-article": {"source": "濟寧新聞網", "publish_time": "2017-08-30T14:50:08+08:00",
                            "original_title": "加快新舊動能轉換推進經濟開發區創新發展"},
    "weifang-daily-article": {"source": "濰坊日報", "publish_time": "2020-12-02T09:47:31+08:00",
                              "editors": ["李倩"]},
    "weicheng-14th-plan": {},
}


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("name", sorted(FIELDS))
def test_sample_dump_is_cleaned_and_complete(name):
    raw = (SAMPLES / f"{name}.txt").read_text(encoding="utf-8")
    record = extract_from_text(raw, f"file:///{name}.txt").as_record()
    body = squash(record["body"])
    everything = squash(f"{record['title'] or ''}{record['body']}")

    assert not ANNOTATION.search(everything), ANNOTATION.search(everything)
    for key, value in FIELDS[name].items():
        assert record[key] == value, key
    for boilerplate in ("熱線", "責任編輯", "原標題", "來源:", "發布時間", "爆料"):
        assert boilerplate not in body, boilerplate

    # every sentence and every non-pinyin bracket of the article's own lines is still there
    article_lines = [ANNOTATION.sub("", line) for line in raw.splitlines()
                     if "。" in line and not NOT_ARTICLE.search(line)]
    assert article_lines
    for line in article_lines:
        for sentence in (s for s in line.split("。") if len(s) >= 8):
            assert squash(sentence) in everything, sentence[:40]
        for bracket in re.findall(r"[(（][^()（）]{1,30}[)）]", line):
            assert squash(bracket) in everything, bracket


@pytest.mark.parametrize("name, span", [("weifang-daily-article", "?;A"), ("weicheng-14th-plan", "?。H")])
def test_mojibake_is_listed_and_left_as_it_was(name, span):
    record = extract_from_text((SAMPLES / f"{name}.txt").read_text(encoding="utf-8"), "file:///x.txt").as_record()
    spans = [s["text"] for s in record["quality"]["mojibake"]]
    assert any(span in s for s in spans)
    assert span in f"{record['title']}\n{record['body']}"
