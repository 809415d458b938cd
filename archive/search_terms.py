"""The ways Chinese government text writes one thing, for search: a query term becomes the
list of its spellings, and search finds any of them. Pure functions over text already made
searchable (textnorm.searchable: simplified script, no quotation marks).

Five-year plans: the nth plan is written 十四五, 第十四个五年 or by its years, 2021—2025年
(any dash, 至, ～; 年 after both years or only the last). From the third plan on the years
follow one rule, 1966 + 5(n−3) to four years later; the first two spans are history's own.
Chinese years: 二〇三五 = 二○三五 = 二零三五 = 2035.

    >>> expand("十四五")[:3]
    ['十四五', '十四个五年', '2021—2025']
    >>> "十五五" in expand("2026-2030年")
    True
"""

from __future__ import annotations

import itertools
import re

DIGITS = "一二三四五六七八九"
ZEROS = "〇○零"
# what may stand between a plan's first and last year
DASHES = "—–-－~～至到"
# the first two plans' years do not follow the rule that holds from the third on
EARLY_SPANS = {1: (1953, 1957), 2: (1958, 1962)}
# words after a short form like 九五 that make it a plan, not the number 95
PLAN_WORDS = ("规划", "计划", "时期", "期间")
# a term with many spellable parts would multiply into a huge query: past this, keep the first
MAX_SPELLINGS = 64

_CHINESE_YEAR = f"[{ZEROS}{DIGITS}]{{4}}"
_NUMERAL = f"[{DIGITS}十]{{1,3}}"
_TOKEN = re.compile(
    rf"(?P<ordinal>第?(?P<ordinal_n>{_NUMERAL})个五年)"
    rf"|(?P<years>(?<!\d)(?P<start>(?:19|20)\d\d)年?[{re.escape(DASHES)}](?P<end>(?:19|20)\d\d)(?!\d)年?)"
    rf"|(?P<chinese_year>{_CHINESE_YEAR})"
    rf"|(?P<short>(?P<short_n>{_NUMERAL})五)"
    r"|(?P<year>(?<!\d)(?:19|20)\d\d(?!\d))"
)


def chinese_numeral(n: int) -> str:
    """1..99 as Chinese numerals: 九, 十, 十四, 二十, 二十一."""
    tens, ones = divmod(n, 10)
    return (DIGITS[tens - 1] if tens > 1 else "") + ("十" if tens else "") + (DIGITS[ones - 1] if ones else "")


def parse_numeral(text: str) -> int | None:
    """The number a Chinese numeral of 1..99 writes (十四 -> 14), None if it is not one."""
    for n in range(1, 100):
        if chinese_numeral(n) == text:
            return n
    return None


def plan_years(n: int) -> tuple[int, int] | None:
    if n in EARLY_SPANS:
        return EARLY_SPANS[n]
    return (1966 + 5 * (n - 3), 1970 + 5 * (n - 3)) if n >= 3 else None


def plan_of_years(start: int, end: int) -> int | None:
    """Which five-year plan spans these years, if one does."""
    for n, span in EARLY_SPANS.items():
        if span == (start, end):
            return n
    if end - start == 4 and start >= 1966 and (start - 1966) % 5 == 0:
        return 3 + (start - 1966) // 5
    return None


def _short_is_a_number(n: int) -> bool:
    """九五, 十五, 二十五 also read as numbers (95, 15, 25); 十四五, 二十一五 do not."""
    return n <= 10 or n % 10 == 0


def _year_spellings(start: int, end: int, more_follows: bool) -> list[str]:
    nian = "年" if more_follows else ""  # a prefix also finds the form with 年 at the end
    return ([f"{start}{dash}{end}{nian}" for dash in DASHES]
            + [f"{start}年{dash}{end}{nian}" for dash in DASHES])


def _period_spellings(n: int, first: bool, last: bool, own: str) -> list[str]:
    numeral = chinese_numeral(n)
    spellings = [own]
    if not _short_is_a_number(n) or not last:
        spellings.append(numeral + "五")
    else:
        spellings += [numeral + "五" + word for word in PLAN_WORDS]
    spellings.append(("" if first else "第") + numeral + "个五年")
    if years := plan_years(n):
        spellings += _year_spellings(*years, more_follows=not last)
    return spellings


def _chinese_year_spellings(text: str) -> list[str]:
    digits = "".join(str(DIGITS.index(c) + 1) if c in DIGITS else "0" for c in text)
    return [text, *(text.translate(str.maketrans(ZEROS, zero * 3)) for zero in ZEROS), digits]


def _arabic_year_spellings(text: str) -> list[str]:
    chinese = "".join(DIGITS[int(d) - 1] if d != "0" else "〇" for d in text)
    return [text, *_chinese_year_spellings(chinese)]


def _spellings(match: re.Match, first: bool, last: bool) -> list[str] | None:
    """The spellings of one recognised part of a term, None when it is no such thing."""
    own = match.group()
    if match["ordinal"]:
        n = parse_numeral(match["ordinal_n"])
        return _period_spellings(n, first, last, own) if n else None
    if match["years"]:
        start, end = int(match["start"]), int(match["end"])
        if (n := plan_of_years(start, end)) is not None:
            return _period_spellings(n, first, last, own)
        return [own, *_year_spellings(start, end, more_follows=not last)]
    if match["chinese_year"]:
        return _chinese_year_spellings(own) if any(c in DIGITS for c in own) else None
    if match["short"]:
        n = parse_numeral(match["short_n"])
        rest = match.string[match.end():]
        if n is None or (_short_is_a_number(n) and not rest.startswith(PLAN_WORDS)):
            return None
        return _period_spellings(n, first, last, own)
    return _arabic_year_spellings(own)


def expand(term: str) -> list[str]:
    """Every spelling of a searchable term, the term itself first: its plan periods, spans of
    years and Chinese years written in each of their forms; the rest of the term as it is."""
    parts: list[list[str]] = []
    position = 0
    for match in _TOKEN.finditer(term):
        spellings = _spellings(match, first=match.start() == 0, last=match.end() == len(term))
        if spellings is None:
            continue
        parts += [[term[position:match.start()]], spellings]
        position = match.end()
    parts.append([term[position:]])
    combined = ("".join(choice) for choice in itertools.product(*parts))
    return list(dict.fromkeys(itertools.islice(combined, MAX_SPELLINGS)))
