"""label：value lines (来源：… 发布时间：… 责任编辑：…): which field each label fills, and the
fields a line holds."""

from __future__ import annotations

import re
from functools import lru_cache

from crawler.extract.dates import parse_publish_time
from crawler.extract.document import SENTENCE_END, squash
from crawler.extract.vocabulary import VOCABULARY, one_of, words

LABELS = {key: one_of(labels) for key, labels in VOCABULARY["labels"].items()}  # field -> alternation
_LABEL_NAMES = "|".join(LABELS.values())
_LEADING_LABEL = re.compile(rf"^\s*(?:{_LABEL_NAMES})\s*[:：]\s*")
_ANY_LABEL = "|".join(f"(?P<{key}>{alts})" for key, alts in LABELS.items())
# a label, a colon, then its value up to the next label or the end of the line
FIELD = re.compile(rf"(?:{_ANY_LABEL})\s*[:：]\s*(?P<value>.*?)(?=\s*(?:{_LABEL_NAMES})\s*[:：]|$)")
# 发布时间 2005/03/15 22:36:13: the colon left out before a date
_TIME_LABEL_NO_COLON = re.compile(rf"({words('time_labels_without_colon')})\s*(?=\d)")


def strip_label(text: str) -> str:
    return _LEADING_LABEL.sub("", squash(text))


@lru_cache(maxsize=4096)
def fields_in_line(line: str) -> tuple[tuple[str, str], ...]:
    """The (field, value) pairs of a line. Cached: the lines around a body are read for
    labelled fields, then for labelled dates, then among the page's dated lines."""
    if ":" not in line and "：" not in line and not _TIME_LABEL_NO_COLON.search(line):
        return ()  # every field has a colon, or a time label the colon is left out after
    line = _TIME_LABEL_NO_COLON.sub(r"\1：", line)
    out = []
    for m in FIELD.finditer(line):
        key = next(k for k in LABELS if m.group(k))
        value = m.group("value").strip(" 　|｜")
        if value:
            out.append((key, value))
    return tuple(out)


def is_metadata_line(line: str) -> bool:
    """A line made only of label: value pairs (and dates), short enough to be a byline; or a
    dateline that also names a labelled field (2005-04-05 06:40更新 来源：…)."""
    if len(line) > 120:
        return False
    line = _TIME_LABEL_NO_COLON.sub(r"\1：", line)
    if (len(line) <= 100 and not SENTENCE_END.search(line) and FIELD.search(line)
            and parse_publish_time(line, absolute_only=True)):
        return True
    stripped = FIELD.sub("", line)
    stripped = re.sub(r"[\d\s:：\-/年月日.|｜【】\[\]（）()]", "", stripped)
    return not stripped and bool(FIELD.search(line))
