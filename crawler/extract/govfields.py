"""Government document fields: the 信息公开 metadata block above a document (索引号, 发布机构,
文号, 成文日期, 主题分类, 有效性 …) read into fields of the article and kept out of its body.

Portals print the block as table cells (a label cell, then its value cell), <dl>/<li> pairs,
or label：value runs in one line, and some print it as lines of the body itself; the labels
(govfields.yaml) are what all of these share. A block counts only when it shows at least two
of the document's fields, one of them more than a category (分类 alone is a blog's too).
"""

from __future__ import annotations

import re

from crawler.extract.dates import parse_publish_time
from crawler.extract.document import BLOCK_TAGS, lines_of, remove, squash
from crawler.extract.vocabulary import read_data

_DATA = read_data("govfields.yaml")
FIELDS = tuple(_DATA["fields"])  # index_number, issuing_organ, document_number, written_date, subject, validity
_STRONG = frozenset(_DATA["strong_fields"])
# label (no spaces) -> the field it fills: a document field, an article field, or None (not kept)
_FIELD_OF = {label: key for group in ("fields", "article_fields") for key, labels in _DATA[group].items()
             for label in labels} | {label: None for label in _DATA["other"]}


def _spaced(label: str, gap: str) -> str:
    return gap.join(map(re.escape, label))


_ANY_LABEL = "|".join(_spaced(label, r"\s*") for label in sorted(_FIELD_OF, key=len, reverse=True))
_LABEL_CELL = re.compile(rf"\s*(?P<label>{_ANY_LABEL})\s*[:：]?\s*")  # a cell holding only a label
_LABEL_RUN = re.compile(rf"(?P<label>{_ANY_LABEL})\s*[:：]\s*")  # label：value, anywhere in a line
# cheap test on the page's HTML before any tree walk: a label of a document field, ending a
# cell or followed by its colon (spaces written as entities count: 索&nbsp;引&nbsp;号)
_HTML_GAP = r"(?:\s|&nbsp;|&#160;|\u3000)*"
_IN_HTML = re.compile("(?:" + "|".join(_spaced(label, _HTML_GAP) for key in _STRONG for label in _DATA["fields"][key])
                      + rf"){_HTML_GAP}(?:[:：]|<)")
_CELL_BREAKS = BLOCK_TAGS | {"td", "th"}
# text in a block that is neither label nor value: a close button (X), 【打印】
_MAX_STRAY_CHARS = 8
HEAD_LINES, TAIL_LINES = 12, 8


def _pairs(lines: list[str]) -> tuple[list[tuple[str | None, str]], int]:
    """(field, value) pairs of these lines and how many characters were neither label nor
    value. A line holding only a label takes the next line as its value (a table's value cell)."""
    pairs: list[tuple[str | None, str]] = []
    stray = 0
    waiting: str | None = None  # a label whose value is in the next line
    waiting_label = False
    for raw in lines:
        line = squash(raw)
        if m := _LABEL_CELL.fullmatch(line):
            if waiting_label:
                pairs.append((waiting, ""))
            waiting, waiting_label = _field(m), True
            continue
        runs = list(_LABEL_RUN.finditer(line))
        head = line[:runs[0].start()].strip(" |｜") if runs else line
        if waiting_label:
            pairs.append((waiting, head))
            waiting_label, head = False, ""
        stray += len(head)
        for run, following in zip(runs, [*runs[1:], None], strict=False):
            value = line[run.end():following.start() if following else len(line)].strip(" |｜")
            if value or following:
                pairs.append((_field(run), value))
            else:
                waiting, waiting_label = _field(run), True
    if waiting_label:
        pairs.append((waiting, ""))
    return pairs, stray


def _field(match: re.Match) -> str | None:  # rule-usage: general because the 信息公开 metadata table is the national disclosure template TRS/Hanweb sites all print
    return _FIELD_OF[re.sub(r"\s", "", match.group("label"))]  # rule-usage: general because labels of the 信息公开 table are printed spaced (索 引 号) by many gov CMSs


def _is_block(pairs: list[tuple[str | None, str]]) -> bool:  # rule-usage: general because the 信息公开 metadata table is the national disclosure template TRS/Hanweb sites all print
    shown = {key for key, value in pairs if value and key in FIELDS}
    return len(shown) >= 2 and bool(shown & _STRONG)


def _only_metadata(node) -> list[tuple[str | None, str]] | None:
    pairs, stray = _pairs(lines_of(node, _CELL_BREAKS))
    return pairs if pairs and stray <= _MAX_STRAY_CHARS else None


def read_block(article, found, doc, html: str) -> None:
    """Fill the article's document fields from the page's metadata blocks and remove the
    blocks from the tree: each is the largest element around a document field's label that
    holds nothing but labels and values."""
    if not _IN_HTML.search(html):
        return
    blocks: list = []
    for node in doc.iter():
        if not isinstance(node.tag, str) or not node.text:
            continue
        if not (m := _LABEL_CELL.match(squash(node.text))) or _field(m) not in FIELDS:
            continue
        if any(block is node or block in node.iterancestors() for block in blocks):
            continue
        if _only_metadata(node) is None:
            continue  # a label line inside the body's own text: read_lines reads it
        block = node
        while (parent := block.getparent()) is not None and parent.tag not in ("body", "html"):
            if _only_metadata(parent) is None:
                break
            block = parent
        blocks = [b for b in blocks if block not in b.iterancestors()] + [block]
        # a block printed a line an element (<p>标题：…</p><p>索引号：…</p>) inside the body
        for step in (lambda n: n.getprevious(), lambda n: n.getnext()):
            sibling = step(block)
            while sibling is not None and isinstance(sibling.tag, str) and sibling not in blocks \
                    and _only_metadata(sibling) is not None:
                blocks.append(sibling)
                sibling = step(sibling)
    pairs = [pair for block in blocks for pair in _only_metadata(block) or []]
    if _is_block(pairs):
        for block in blocks:
            remove(block)
        _fill(article, found, pairs)


def read_lines(article, found, paragraphs: list[str]) -> list[str]:
    """Fill the article's document fields from metadata lines at the head and tail of the
    body (pages that print the block as text); the body without them, and without the 文号
    line printed under a document's title (GB/T 9704 places it there)."""
    edges = [i for i in range(len(paragraphs)) if i < HEAD_LINES or i >= len(paragraphs) - TAIL_LINES]
    found_lines = {}
    for i in edges:
        if _LABEL_RUN.search(paragraphs[i]):
            pairs, stray = _pairs([paragraphs[i]])
            if not stray:
                found_lines[i] = pairs
    pairs = [pair for i in sorted(found_lines) for pair in found_lines[i]]
    if _is_block(pairs):
        _fill(article, found, pairs)
        paragraphs = [line for i, line in enumerate(paragraphs) if i not in found_lines]
    if number := article.document_number:
        number = re.sub(r"\s", "", number)
        head = [i for i, line in enumerate(paragraphs[:HEAD_LINES]) if re.sub(r"\s", "", line) == number]
        paragraphs = [line for i, line in enumerate(paragraphs) if i not in head[:1]]
    return paragraphs


def _fill(article, found, pairs: list[tuple[str | None, str]]) -> None:  # rule-usage: general because the 信息公开 metadata table is the national disclosure template TRS/Hanweb sites all print
    """Set the article's document fields (the first value of each wins) and offer the title,
    publish time and source the block names, like the page's other label lines."""
    for key, value in pairs:
        value = squash(value)
        if not value or key is None:
            continue
        if key in ("title", "publish_time", "source"):
            found.offer(key, value, "govinfo")
        elif getattr(article, key) is None:
            if key == "written_date":
                written = parse_publish_time(value, absolute_only=True)
                if written is None or written.precision == "month":
                    continue
                value = written.value.date()
            setattr(article, key, value)
