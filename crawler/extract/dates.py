"""Publish dates as Chinese pages write them, kept with their precision.

Pure functions: the reference time (the fetch time) and the time zone are arguments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")

_CN_DIGITS = {"〇": 0, "○": 0, "零": 0, "Ｏ": 0, "O": 0, "一": 1, "二": 2, "三": 3, "四": 4,
              "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_NUM = "〇○零Ｏ一二三四五六七八九十"

_SEP = r"\s*[-/.年]\s*"
# 2007-08-20-23:59:59 (firstpublishedtime <meta>) joins date and clock with a hyphen
_TIME = r"(?:\s*(?:[T\s]|-(?=\d{1,2}:)|日\s*)?\s*(?:[（(]?(?:星期|周|週)[一二三四五六日天][)）]?\s*)?(?P<H>[01]?\d|2[0-3])\s*[:：时]\s*(?P<M>[0-5]\d)(?:\s*[:：分]\s*(?P<S>[0-5]\d))?)?"
_ABSOLUTE = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d\d)" + _SEP + r"(?P<m>1[0-2]|0?[1-9])" + _SEP.replace("年", "月")
    + r"(?P<d>3[01]|[12]\d|0?[1-9])(?!\d)\s*日?" + _TIME
)
_ISO = re.compile(r"(?<!\d)(?:19|20)\d\d-\d\d-\d\dT\d\d:\d\d(?::(?P<S>\d\d))?(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)")
# 7/5/2005 9:23:57 PM (US, month first) and 06/02/2022 - 13:48 (day first): the year comes last
_SLASHED = re.compile(
    r"(?<![\d/])(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y>(?:19|20)\d\d)(?![\d/])"
    r"(?:\s*-?\s*(?P<H>[01]?\d|2[0-3]):(?P<M>[0-5]\d)(?::(?P<S>[0-5]\d))?\s*(?P<ampm>[AaPp][Mm])?)?"
)
_COMPACT = re.compile(r"(?<!\d)(?P<y>(?:19|20)\d\d)(?P<m>0[1-9]|1[0-2])(?P<d>0[1-9]|[12]\d|3[01])(?!\d)")
_MONTH_ONLY = re.compile(r"(?<!\d)(?P<y>(?:19|20)\d\d)\s*[-/.年]\s*(?P<m>1[0-2]|0?[1-9])(?!\d)\s*月?(?![\d日])")  # rule-usage: general because a date to the month (1998年3月号) is how magazines and monthly issues are dated
_PARTIAL = re.compile(
    r"(?<![\d年/.-])(?P<m>1[0-2]|0?[1-9])\s*(?:月|-|/)\s*(?P<d>3[01]|[12]\d|0?[1-9])(?!\d)\s*日?" + _TIME
)
_CN_DATE = re.compile(
    rf"(?P<y>[{_CN_NUM}]{{4}})年(?P<m>[{_CN_NUM}]{{1,2}})月(?P<d>[{_CN_NUM}]{{1,3}})日"
)
# Saturday, September 10th, 2005 10:56 am; Sep 10, 2005: blog platforms in English templates
_MONTHS = (  # rule-usage: lexicon; general because these are the English month names, any English date
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_ENGLISH = re.compile(  # rule-usage: general because it is the English date grammar (Mar 5, 2004) of bilingual and overseas Chinese sites
    r"\b(?P<mon>(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*)\.?\s+(?P<d>3[01]|[12]\d|0?[1-9])"
    r"(?:st|nd|rd|th)?,?\s+(?P<y>(?:19|20)\d\d)\b"
    r"(?:[\s,]*(?:at\s+)?(?P<H>[01]?\d|2[0-3]):(?P<M>[0-5]\d)(?::(?P<S>[0-5]\d))?\s*(?P<ampm>[ap]\.?m\.?)?)?", re.I)
# a day and a year-month printed in separate elements (a big 21 over 2024年02月, or after it)
# read together: only a line holding nothing else, so a day is not taken from running text
_SPLIT_DAY = re.compile(
    r"^\s*(?:(?P<d>3[01]|[12]\d|0?[1-9])\s*(?P<y>(?:19|20)\d\d)\s*[-/.年]\s*(?P<m>1[0-2]|0?[1-9])\s*月?"
    r"|(?P<y2>(?:19|20)\d\d)\s*[-/.年]\s*(?P<m2>1[0-2]|0?[1-9])\s*月?\s+(?P<d2>3[01]|[12]\d|0?[1-9])\s*日?)\s*$")
_RELATIVE = re.compile(r"(?P<n>\d+)\s*(?P<unit>分钟|小時|小时|天|日)前|(?P<word>刚刚|剛剛|今天|昨天|前天)")
_URL_DATES = [
    re.compile(r"/t(?P<y>20\d\d)(?P<m>\d\d)(?P<d>\d\d)_"),
    re.compile(r"/art/(?P<y>20\d\d)/(?P<m>\d{1,2})/(?P<d>\d{1,2})/"),
    re.compile(r"/(?P<y>20\d\d)[-/]?(?P<m>\d\d)[-/](?P<d>\d\d)/"),
    re.compile(r"/(?P<y>20\d\d)(?P<m>\d\d)(?P<d>\d\d)/"),  # rule-usage: general because /YYYYMMDD/ folders are the date path of many news CMSs
    re.compile(r"/(?P<y>20\d\d)/(?P<m>\d\d)(?P<d>\d\d)/"),
]


@dataclass(frozen=True)
class PublishTime:
    value: datetime  # timezone-aware
    precision: str  # second | minute | day | month

    def isoformat(self) -> str:
        """ISO 8601 at the precision the page gave: a date alone when there is no time."""
        if self.precision == "month":
            return self.value.strftime("%Y-%m")
        if self.precision == "day":
            return self.value.date().isoformat()
        timespec = "seconds" if self.precision == "second" else "minutes"
        return self.value.isoformat(timespec=timespec)


def _cn_number(text: str) -> int:
    if "十" not in text:
        return int("".join(str(_CN_DIGITS[c]) for c in text))
    tens, _, ones = text.partition("十")
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)


def _build(y: int, m: int, d: int, match: re.Match | None, tz: tzinfo) -> PublishTime | None:
    hour = minute = second = 0
    precision = "day"
    if match is not None and match.groupdict().get("H") is not None:
        hour, minute = int(match["H"]), int(match["M"])
        precision = "minute"
        if match["S"] is not None:
            second, precision = int(match["S"]), "second"
    try:
        return PublishTime(datetime(y, m, d, hour, minute, second, tzinfo=tz), precision)
    except ValueError:
        return None


def parse_publish_time(text: str, reference: datetime | None = None, tz: tzinfo = CHINA,
                       *, absolute_only: bool = False) -> PublishTime | None:
    """The first publish time written in `text`, or None.

    A year-less date takes the year that puts it at or before `reference` (the fetch time);
    relative forms (昨天, 3小时前) count back from `reference`. With absolute_only, only
    dates that give year, month and day count (for unlabelled text, where 5月6日 may be anything).
    """
    if not text:
        return None
    text = text.replace("\u3000", " ").replace("\xa0", " ")
    if m := _ISO.search(text):
        try:
            value = datetime.fromisoformat(m.group(0).replace("Z", "+00:00")).astimezone(tz)
            return PublishTime(value, "second" if m["S"] else "minute")
        except ValueError:
            pass
    if m := _ABSOLUTE.search(text):
        return _build(int(m["y"]), int(m["m"]), int(m["d"]), m, tz)
    if m := _SLASHED.search(text):
        return _slashed(m, tz)
    if m := _CN_DATE.search(text):
        try:
            return _build(_cn_number(m["y"]), _cn_number(m["m"]), _cn_number(m["d"]), None, tz)
        except (KeyError, ValueError):
            pass
    if m := _SPLIT_DAY.match(text):
        return _build(int(m["y"] or m["y2"]), int(m["m"] or m["m2"]), int(m["d"] or m["d2"]), None, tz)
    if m := _ENGLISH.search(text):
        return _english(m, tz)
    if m := _COMPACT.search(text):
        return _build(int(m["y"]), int(m["m"]), int(m["d"]), None, tz)
    if absolute_only:  # a bare year and month in running text is rarely the publish date
        return None
    if m := _MONTH_ONLY.search(text):
        return PublishTime(datetime(int(m["y"]), int(m["m"]), 1, tzinfo=tz), "month")
    ref = (reference or datetime.now(tz)).astimezone(tz)
    if m := _PARTIAL.search(text):
        found = _build(ref.year, int(m["m"]), int(m["d"]), m, tz)
        if found and found.value.date() > ref.date():
            found = _build(ref.year - 1, int(m["m"]), int(m["d"]), m, tz)
        return found
    if m := _RELATIVE.search(text):
        if m["word"]:
            days = {"刚刚": 0, "剛剛": 0, "今天": 0, "昨天": 1, "前天": 2}[m["word"]]
            if m["word"] in ("刚刚", "剛剛"):
                return PublishTime(ref.replace(second=0, microsecond=0), "minute")
            day = (ref - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
            return PublishTime(day, "day")
        n = int(m["n"])
        if m["unit"] == "分钟":
            return PublishTime((ref - timedelta(minutes=n)).replace(second=0, microsecond=0), "minute")
        if m["unit"] in ("小时", "小時"):
            return PublishTime((ref - timedelta(hours=n)).replace(second=0, microsecond=0), "minute")
        day = (ref - timedelta(days=n)).replace(hour=0, minute=0, second=0, microsecond=0)
        return PublishTime(day, "day")
    return None


def _slashed(m: re.Match, tz: tzinfo) -> PublishTime | None:
    a, b = int(m["a"]), int(m["b"])
    # the number over 12 is the day; otherwise an AM/PM clock marks a US page (month first)
    month_first = b > 12 or (a <= 12 and m["ampm"] is not None)
    month, day = (a, b) if month_first else (b, a)
    hour = int(m["H"]) if m["H"] else None
    if hour is not None and m["ampm"]:
        hour = hour % 12 + (12 if m["ampm"].lower() == "pm" else 0)
    precision = "second" if m["S"] else "minute" if m["H"] else "day"
    try:
        value = datetime(int(m["y"]), month, day, hour or 0, int(m["M"] or 0), int(m["S"] or 0), tzinfo=tz)
    except ValueError:
        return None
    return PublishTime(value, precision)


def _english(m: re.Match, tz: tzinfo) -> PublishTime | None:  # rule-usage: general because it reads the English date grammar, any site
    hour = int(m["H"]) if m["H"] else 0
    if m["ampm"]:
        hour = hour % 12 + (12 if m["ampm"][0].lower() == "p" else 0)
    precision = "second" if m["S"] else "minute" if m["H"] else "day"
    try:
        value = datetime(int(m["y"]), _MONTHS.index(m["mon"][:3].lower()) + 1, int(m["d"]), hour,
                         int(m["M"] or 0), int(m["S"] or 0), tzinfo=tz)
    except ValueError:
        return None
    return PublishTime(value, precision)


def publish_time_from_url(url: str, tz: tzinfo = CHINA) -> PublishTime | None:
    """Dates that CMSs write into article URLs: TRS t20201202_, Hanweb /art/2020/12/2/, /20201202/."""
    for pattern in _URL_DATES:
        if m := pattern.search(url):
            found = _build(int(m["y"]), int(m["m"]), int(m["d"]), None, tz)
            if found:
                return found
    return None
