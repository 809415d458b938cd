"""Query expansion (archive/search_terms.py): every spelling of a plan period, a span of
years and a Chinese year, over several periods and forms, and nothing made of plain numbers."""

from __future__ import annotations

import re

import pytest

from archive.search_terms import chinese_numeral, expand, parse_numeral, plan_of_years, plan_years
from textnorm import searchable


def finds(query: str, text: str) -> bool:
    """What search does with a term: the searchable text contains one of its spellings."""
    return any(spelling in searchable(text) for spelling in expand(searchable(query)))


@pytest.mark.parametrize(("n", "numeral", "years"), [
    (4, "四", (1971, 1975)), (9, "九", (1996, 2000)), (10, "十", (2001, 2005)), (11, "十一", (2006, 2010)),
    (13, "十三", (2016, 2020)), (14, "十四", (2021, 2025)), (15, "十五", (2026, 2030)), (16, "十六", (2031, 2035)),
    (19, "十九", (2046, 2050)), (20, "二十", (2051, 2055)), (21, "二十一", (2056, 2060)),
])
def test_periods_follow_one_rule_from_numeral_to_years(n, numeral, years):
    assert chinese_numeral(n) == numeral and parse_numeral(numeral) == n
    assert plan_years(n) == years and plan_of_years(*years) == n


def test_the_first_plans_keep_their_own_years_and_other_spans_are_no_plan():
    assert plan_years(1) == (1953, 1957) and plan_years(3) == (1966, 1970)
    assert plan_of_years(1958, 1962) == 2
    assert plan_of_years(2024, 2028) is None and plan_of_years(2021, 2035) is None
    assert parse_numeral("十十") is None and parse_numeral("一十") is None


# (a query, texts it must find: the same period written another way)
SAME_PERIOD = [
    ("十三五", ["本区“十三五”时期新建学校九所", "第十三个五年规划纲要", "交通发展规划（2016—2020年）",
               "2016年至2020年期间累计投资", "产业布局规划(2016-2020)"]),
    ("第十六个五年", ["迈向十六五", "《港区总体规划（2031～2035年）》", "2031年到2035年", "第十六个五年规划的建议"]),
    ("2041—2045年", ["第十八个五年规划", "“十八五”开局", "2041-2045年"]),
    ("十一五规划", ["第十一个五年规划", "“十一五”规划"]),
    ("2026-2030年规划", ["十五五规划", "第十五个五年规划", "2026—2030年规划"]),
    ("第九个五年", ["“九五”计划期间", "九五时期", "1996—2000年"]),
    ("第二十一个五年", ["二十一五规划", "2056-2060"]),
]


@pytest.mark.parametrize(("query", "texts"), SAME_PERIOD)
def test_a_period_finds_its_other_spellings(query, texts):
    for text in texts:
        assert finds(query, text), (query, text)


@pytest.mark.parametrize(("query", "text"), [
    ("十四五", "第十五个五年规划"), ("十四五", "2026—2030年"), ("第十五个五年", "“十四五”规划"),
    ("2021-2025", "2021-2026年"), ("十三五", "2016—2021年"),
])
def test_a_period_does_not_find_its_neighbours(query, text):
    assert not finds(query, text)


@pytest.mark.parametrize("query", ["十五", "二十五", "九五", "十五日", "规划", "十", "五年", "第五", "一个五"])
def test_numbers_that_are_not_periods_stay_as_they_are(query):
    assert expand(query) == [query]


def test_a_short_form_that_reads_as_a_number_needs_a_plan_word():
    # 九五 alone is ninety-five; 九五计划 is the ninth plan
    assert finds("九五计划", "第九个五年计划") and finds("十五时期", "第十个五年时期")
    assert "十五" not in expand("第十个五年")


@pytest.mark.parametrize(("query", "text"), [
    ("二〇三五年远景目标", "二○三五年远景目标"), ("二○三五年", "二〇三五年"), ("二〇三五", "2035年远景"),
    ("2035年远景目标", "二〇三五年远景目标"), ("2050年", "二○五○年"), ("二〇二〇年", "二零二零年"),
])
def test_chinese_years_in_every_zero_and_in_digits(query, text):
    assert finds(query, text)


def test_spans_of_years_that_are_no_plan_still_take_any_dash():
    assert finds("2026—2035年", "城市更新专项规划（2026-2035年）")
    assert finds("2024~2030", "2024年至2030年")
    assert not finds("2026—2035年", "十五五")


def test_a_term_keeps_its_other_parts_and_comes_first():
    spellings = expand("滨河十四五和二〇三五年远景")
    assert spellings[0] == "滨河十四五和二〇三五年远景"
    assert "滨河第十四个五年和二○三五年远景" in spellings and "滨河2021-2025年和2035年远景" in spellings
    assert all(s.startswith("滨河") and s.endswith("远景") for s in spellings)
    assert len(spellings) == len(set(spellings))


def test_years_need_four_digits_of_their_own():
    assert expand("120355") == ["120355"]
    assert not any(re.search("[一二三四五六七八九〇]", s) for s in expand("20215"))
