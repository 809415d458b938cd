from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crawler.extract.dates import CHINA, parse_publish_time, publish_time_from_url

FETCHED = datetime(2026, 1, 5, 10, 0, tzinfo=CHINA)


@pytest.mark.parametrize("text, iso, precision", [
    ("2020-12-02 09:47:31", "2020-12-02T09:47:31+08:00", "second"),
    ("发布时间：2020年12月2日 09:47", "2020-12-02T09:47+08:00", "minute"),
    ("2020/12/02", "2020-12-02", "day"),
    ("2020.12.2", "2020-12-02", "day"),
    ("2020-12-02T01:47:31Z", "2020-12-02T09:47:31+08:00", "second"),
    ("二〇二〇年十二月二日", "2020-12-02", "day"),
    ("二○二一年三月十五日", "2021-03-15", "day"),
    ("12月30日", "2025-12-30", "day"),  # year-less: at or before the fetch time
    ("1月3日 08:15", "2026-01-03T08:15+08:00", "minute"),
    ("3小时前", "2026-01-05T07:00+08:00", "minute"),
    ("昨天", "2026-01-04", "day"),
    ("2021年3月", "2021-03", "month"),
    ("发布日期： 7/5/2005 9:23:57 PM", "2005-07-05T21:23:57+08:00", "second"),
    ("发表时间： 06/02/2022 - 13:48", "2022-02-06T13:48+08:00", "minute"),
    ("25/12/2021", "2021-12-25", "day"),
    ("本页面最后修订于2022年2月9日 (星期三) 08:16。", "2022-02-09T08:16+08:00", "minute"),
    ("2007-08-20-23:59:59", "2007-08-20T23:59:59+08:00", "second"),  # firstpublishedtime <meta>
    ("Saturday, September 10th, 2005 10:56 am", "2005-09-10T10:56+08:00", "minute"),
    ("Posted on Sep 3, 2019 at 7:32 pm", "2019-09-03T19:32+08:00", "minute"),
    ("March 1, 2024", "2024-03-01", "day"),
    ("21 2024年02月", "2024-02-21", "day"),  # day and year-month in separate elements
    ("212024-02", "2024-02-21", "day"),
    ("2024.02 21", "2024-02-21", "day"),
])
def test_forms(text, iso, precision):
    found = parse_publish_time(text, FETCHED)
    assert (found.isoformat(), found.precision) == (iso, precision)


@pytest.mark.parametrize("text", ["二〇三五年远景目标", "到2025年，全市", "第十四个五年规划", "", "共186万人次",
                                  "May 2024 report"])
def test_years_and_numbers_in_text_are_not_dates(text):
    assert parse_publish_time(text, FETCHED) is None


@pytest.mark.parametrize("url, day", [
    ("http://x.gov.cn/zwdt/202012/t20201202_6116434.html", "2020-12-02"),
    ("http://x.gov.cn/art/2021/1/20/art_1506270_59028240.html", "2021-01-20"),
    ("http://news.x.com/system/2026/08/21/105825502.shtml", "2026-08-21"),
    ("http://epaper.x.com/xzrb/202202/13/content_128707.html", "2022-02-13"),
    ("http://www.x.com/2024-02/13/c_1130.htm", "2024-02-13"),
])
def test_dates_from_urls(url, day):
    assert publish_time_from_url(url).isoformat() == day


@given(st.text(max_size=200))
def test_any_text_gives_none_or_an_aware_time(text):
    found = parse_publish_time(text, FETCHED)
    assert found is None or found.value.tzinfo is not None


@given(st.integers(1, 12), st.integers(1, 28), st.datetimes(datetime(2001, 1, 1), datetime(2039, 12, 31)))
def test_year_less_dates_never_land_after_the_fetch_time(month, day, fetched):
    fetched = fetched.replace(tzinfo=CHINA)
    found = parse_publish_time(f"{month}月{day}日", fetched)
    assert found.value.date() <= fetched.date()
    assert fetched.date() - found.value.date() < timedelta(days=366)
