"""Text normalisation shared by the crawler (what it indexes, how it reads plan titles) and the
archive (what it compares and searches): one script (OpenCC traditional -> simplified), and
quotation marks that split a name people search as one removed. Pure functions; owned by
neither package, so neither imports the other for it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache


@lru_cache(maxsize=1)
def _to_simplified():
    import opencc  # building the converter loads its dictionaries: once per process

    return opencc.OpenCC("t2s.json")


def simplified(text: str) -> str:
    """Traditional -> simplified (OpenCC t2s); simplified text passes unchanged."""
    return _to_simplified().convert(text)


# quotation marks and title brackets that split a name people search as one: “十四五”规划
QUOTES = "“”‘’「」『』《》〈〉\"'＂＇"
_NO_QUOTES = str.maketrans("", "", QUOTES)


def searchable(text: str) -> str:
    """The text the search index holds: simplified script, quotation marks removed."""
    return simplified(text).translate(_NO_QUOTES)


@dataclass(frozen=True)
class SearchText:
    """What the search index holds for an article (see searchable)."""

    title: str
    body: str


def search_text(title: str | None, body: str | None) -> SearchText:
    return SearchText(searchable(title or ""), searchable(body or ""))
