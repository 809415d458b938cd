"""The article body: which element holds it (the site's selector, the CMS families' containers,
else the densest prose), its paragraphs, and what pages print around it (headline again,
bylines, datelines) trimmed from its edges."""

from __future__ import annotations

import re

from crawler.extract.credits import (
    BARE_NAME,
    BRACKET_BYLINE,
    BYLINE,
    EDITED_BY,
    NAME_SOURCE,
    NOT_NAMES,
    TRAILING_BYLINE,
    byline_names,
)
from crawler.extract.dates import parse_publish_time
from crawler.extract.document import (
    BLOCK_TAGS,
    CJK,
    DROP_TAGS,
    SENTENCE_END,
    has_text,
    page_names,
    select,
    short_text,
    squash,
    text_of,
)
from crawler.extract.labels import LABELS, is_metadata_line
from crawler.extract.metadata import Found, short_lines
from crawler.extract.vocabulary import VOCABULARY, words

KNOWN_BODY_SELECTORS = tuple(VOCABULARY["body_selectors"])
_UNLIKELY = re.compile(words("unlikely_container_words"), re.I)  # rule-usage: general because class words of comment/sidebar/footer containers, as readability uses, any CMS
_EDITOR_LINE = re.compile(rf"^[（(【\[]?\s*(?:{LABELS['editors']})\s*[:：/]")  # rule-usage: general because a 责任编辑 label line closes news text on any outlet
_PLAYER = re.compile(words("player_words"), re.I)
_PROSE_MARK = re.compile(r"[。，,]")
_HEADING_CHARS = 12
_BYLINE_TAGS = frozenset(("span", "div", "p", "td", "li", "em", "i", "font"))
# a selector of one id or class (#zoom, div.TRS_Editor), which matches only where the page has that name
_NAMED = re.compile(r"[a-zA-Z0-9]*[#.](?P<name>[\w-]+)")
_NOT_HEADING = re.compile(r"[\d，。！？；,.!?;]|[:：].")  # rule-usage: general because digits and sentence punctuation mark a sentence, not a subheading: a property of text


def find_body(doc, selector: str | None) -> tuple:
    """(the body's element or None, what chose it: ("site_selector", the site's selector),
    ("known_selector", a CMS family's container), ("density", None) or (None, None))."""
    names = page_names(doc)
    for candidate in ((selector,) if selector else ()) + KNOWN_BODY_SELECTORS:
        if (needed := _NAMED.fullmatch(candidate)) and needed.group("name") not in names:
            continue  # a selector of one id or class the page does not have: no walk of its tree
        nodes = [n for n in select(doc, candidate) if len(squash(text_of(n))) >= 20]
        if nodes:
            how = "site_selector" if candidate == selector else "known_selector"
            return max(nodes, key=lambda n: len(text_of(n))), (how, candidate)
    node = _densest(doc)
    return node, ("density" if node is not None else None, None)


def _densest(doc):
    """Readability-style fallback: the element whose paragraphs carry the most prose.

    Each text block scores by its Chinese sentence punctuation, discounted by how much of it
    is link text; the score goes to its parent (and half to the grandparent). Blocks inside
    comment threads, sidebars and footers are not candidates.
    """
    unlikely = {node for marked in doc.xpath("//*[@id or @class]")
                if _UNLIKELY.search(f"{marked.get('id') or ''} {marked.get('class') or ''}") for node in marked.iter()}
    scores: dict = {}
    # per link: its characters, punctuation and CJK characters, counted the first time a
    # block holds it (blocks nest; most links sit in blocks too short to score)
    in_links: dict = {}
    for block in doc.iter("p", "div", "td", "section", "li"):
        if block in unlikely:
            continue
        own = (block.text or "") + "".join((child.tail or "") for child in block)
        own += "".join(text_of(c) for c in block if c.tag in ("span", "strong", "b", "font", "em", "a"))
        if len(own.strip()) < 10:
            continue
        link_text = link_marks = link_cjk = 0
        for a in block.iter("a"):
            if (counted := in_links.get(a)) is None:
                counted = in_links[a] = _counts(text_of(a))
            chars, marks, cjk = counted
            link_text, link_marks, link_cjk = link_text + chars, link_marks + marks, link_cjk + cjk
        density = link_text / max(len(own), 1)
        # punctuation inside links is a list of headlines (a forum's reply tree), not prose
        _, marks, cjk = _counts(own)
        base = 1 if cjk - link_cjk >= 10 else 0
        score = (max(0, marks - link_marks) + base) * max(0.0, 1 - density)
        parent = block.getparent()
        if parent is not None:
            scores[parent] = scores.get(parent, 0) + score
            grand = parent.getparent()
            if grand is not None:
                scores[grand] = scores.get(grand, 0) + score / 2
    if not scores:
        return None
    best = max(scores, key=scores.get)
    return _with_data_tables(best) if scores[best] >= 3 else None


def _with_data_tables(best):  # rule-usage: general because notices with tables (quotas, lists) are a CMS staple
    """The body and the data tables that follow it (a notice's table of quotas or subjects):
    their cells hold no sentences to score, yet they are the text's. A table of data has rows
    of several cells and no links; a page's footer or link box is not one."""
    box = best
    while (parent := box.getparent()) is not None and sum(1 for c in parent if has_text(c)) == 1:
        box = parent  # a wrapper holding only the body
    tables = []
    for sibling in box.itersiblings():
        if not has_text(sibling):
            continue
        if sibling.tag != "table" or sibling.find(".//a") is not None:
            break
        rows = sibling.findall(".//tr")
        if len(rows) < 3 or sum(len(row.findall("td")) >= 2 for row in rows) < len(rows) / 2:
            break
        tables.append(sibling)
    return box.getparent() if tables and box.getparent() is not None else best


def _counts(text: str) -> tuple[int, int, int]:
    """Characters, sentence punctuation (，。,) and CJK characters of a text."""
    return len(text), text.count("，") + text.count("。") + text.count(","), len(CJK.findall(text))


def paragraphs_of(node) -> list[str]:
    """Text of a body node split at block boundaries (<p>, <div>, <br> ...), blank lines dropped.

    A line that is mostly link text (related links, a forum's thread list, navigation) is
    not prose and is left out; so is the heading over such links and, when they share an
    element that opens with the heading, everything in it (a related-articles box with its
    teasers). Search links a page sets inside a sentence, （图片-新闻-网页）, are left out too.
    """
    lines: list[list] = [["", 0, None]]  # text, link characters, the element the text starts in

    def add(text: str, in_link: bool, element) -> None:
        line = lines[-1]
        if line[2] is None and text.strip():
            line[2] = element
        line[0] += text
        if in_link:
            line[1] += len(text.strip())

    def walk(element, in_link: bool) -> None:
        tag = element.tag if isinstance(element.tag, str) else ""
        in_link = in_link or tag == "a"
        block = tag in BLOCK_TAGS
        if block:
            lines.append(["", 0, None])
        if element.text:
            add(element.text, in_link, element)
        for child in element:
            if isinstance(child.tag, str) and child.tag not in DROP_TAGS and not _link_cluster(child) \
                    and not _player_text(child):
                walk(child, in_link)
            if child.tail:
                add(child.tail, in_link, element)
        if block:
            lines.append(["", 0, None])

    walk(node, False)
    texts = [(squash(text), link_chars, element) for text, link_chars, element in lines]
    texts = [(text, link_chars > 0.5 * len(text.replace(" ", "")), element) for text, link_chars, element in texts if text]
    boxes: set = set()
    headings: set[int] = set()
    limit = None
    for index, (text, is_link, element) in enumerate(texts):
        if not is_link and element not in boxes and (run := _heads_links(texts, index)):
            headings.update(run)
            if limit is None:
                limit = len(squash(text_of(node))) / 2
            if (box := _box_of(element, text, node, limit)) is not None:
                boxes.update(box.iter())
    return [text for index, (text, is_link, element) in enumerate(texts)
            if not is_link and index not in headings and element not in boxes]


def _link_cluster(element) -> bool:  # rule-usage: general because it is structure, not words
    """An inline bracket holding only links and separators: （图片-新闻-网页）."""
    if element.tag in BLOCK_TAGS or len(element) < 2 or any(child.tag != "a" for child in element):
        return False
    rest = (element.text or "") + "".join(child.tail or "" for child in element)
    return bool(re.fullmatch(r"\s*[（(\[【]?[\s\-|/·、]*[）)\]】]?\s*", rest))  # rule-usage: general because separators between links are structure, not words


def _player_text(element) -> bool:  # rule-usage: general because any embedded player names itself so
    """A player's caption or controls: short text in an element its id or class names as a player
    (a box of the article's own text may be named video too, so its text must be short)."""
    if not _PLAYER.search(f"{element.get('id') or ''} {element.get('class') or ''}"):
        return False
    text = squash(text_of(element))
    return len(text) <= 60 and not SENTENCE_END.search(text)


def _heads_links(texts: list[tuple[str, bool, object]], index: int) -> range | None:
    """The lines of a heading over a list of links (相关阅读, 今日焦点：, or a column name set one
    character a line), if the line opens one: short, no sentence, digit or label：value in it,
    and at least two link lines follow. The links are not prose; nor is their heading."""
    heading, at = texts[index][0], index + 1
    while len(heading) == 1 and at < len(texts) and len(texts[at][0]) == 1 and not texts[at][1]:
        at += 1  # one character a line: 今 / 日 / 推 / 荐
    following = texts[at:at + 2]
    if (len(heading) <= _HEADING_CHARS and not _NOT_HEADING.search(heading)
            and len(following) == 2 and all(is_link for _, is_link, _ in following)):
        return range(index, at)
    return None


def _box_of(element, heading: str, body, limit: float):
    """The largest element that opens with the heading and holds less than half the body's
    text (`limit`): the box of links (and teasers) the heading names; None if the heading's
    own element holds more (the heading is one line among the text's)."""
    box = None
    for candidate in (element, *element.iterancestors()):
        if candidate is body:
            break
        text = short_text(candidate, int(limit))
        if text is None or not text.startswith(heading):
            break
        box = candidate
    return box


def end_at_closing_credits(paragraphs: list[str]) -> list[str]:  # rule-usage: general because Chinese news closes with the editor
    """An article ends at its editor's line (责任编辑：…) and the label lines after it: what the
    body box holds past them (another article's card, the outlet's name) is the page's. Only
    near the end: a line holding a third of the text after it is no closing credit."""
    for index in range(len(paragraphs) - 1, -1, -1):
        if _EDITOR_LINE.match(paragraphs[index]):
            end = index + 1
            while end < len(paragraphs) and is_metadata_line(paragraphs[end]):
                end += 1
            after = sum(map(len, paragraphs[end:]))
            return paragraphs[:end] if after * 3 < sum(map(len, paragraphs[:index])) else paragraphs
    return paragraphs


def _is_headline(line: str, title: str | None) -> bool:
    """The headline printed again, whole, in part, or with a blog's decoration (标题 - -)."""
    return bool(title) and (line == title or (len(line) >= 4 and line in title)
                            or (title in line and len(line) <= len(title) + 4))


def trim_edges(paragraphs: list[str], title: str | None, found: Found) -> list[str]:
    """Drop what pages print around an article but is not its text: at the head, the
    headline again, a ——subtitle, the author's bare name, a dateline; bylines at either end.
    """
    start = 0
    # what sits above the headline printed again, if no prose: its kicker (引题), a title bar
    headline_at = max((i for i, line in enumerate(paragraphs[:6]) if _is_headline(line, title)), default=0)
    if any(len(line) > 40 or _PROSE_MARK.search(line) for line in paragraphs[:headline_at]):
        headline_at = 0
    after_title = False
    for line in paragraphs[:6]:
        was_after_title = after_title
        after_title = _is_headline(line, title)
        if after_title or (start < 3 and line.startswith(("——", "--")) and len(line) <= 40):
            pass  # the headline again, or a ——subtitle
        elif m := NAME_SOURCE.match(line):
            found.offer("reporters", m.group("names"), "byline")
            found.offer("source", m.group("source"), "byline")
        elif m := BYLINE.match(line):
            found.offer("reporters", byline_names(m), "byline")
        elif (start < 3 or was_after_title) and BARE_NAME.match(line):
            if was_after_title:  # the author's name under the headline; above it, a stray label
                found.offer("reporters", line, "byline")
        elif len(line) <= 40 and parse_publish_time(line, absolute_only=True) and not SENTENCE_END.search(line):
            found.offer("publish_time", line, "line")
        elif start >= headline_at:
            break
        start += 1
    end = len(paragraphs)

    def closing_byline(line: str):
        m = BYLINE.match(line) or BRACKET_BYLINE.match(line)
        return m if m and not NOT_NAMES.match(m.group("names")) else None

    while end > start and len(paragraphs[end - 1]) <= 4 and not SENTENCE_END.search(paragraphs[end - 1]) \
            and not closing_byline(paragraphs[end - 1]):
        end -= 1  # crumbs of widgets after the text: 图集, +1, 返回 (but not a credit: （高远）)
    while end > start and (m := closing_byline(paragraphs[end - 1])):
        found.offer("reporters", m.group("names"), "byline")
        end -= 1
    while end > start and (m := EDITED_BY.match(paragraphs[end - 1])):
        found.offer("editors", m.group("names"), "byline")
        end -= 1
    for line in paragraphs[max(start, end - 2):end]:
        if (m := TRAILING_BYLINE.search(line)) and not NOT_NAMES.match(m.group("names")):
            found.offer("reporters", m.group("names"), "byline")
    # a byline may follow a pull-quote or standfirst rather than open the body
    # (only before the first finished sentence: a notice ends with its signature's date)
    kept = []
    prose = False
    for index, line in enumerate(paragraphs[start:end]):
        if not prose and index < 4 and (m := BYLINE.match(line)):
            found.offer("reporters", byline_names(m), "byline")
            continue
        if not prose and index < 4 and line.startswith(("——", "--")) and len(line) <= 40:
            continue  # a ——subtitle under the headline
        if not prose and index < 4 and len(line) <= 24 and parse_publish_time(line, absolute_only=True) \
                and not SENTENCE_END.search(line) and len(CJK.findall(line)) <= 4:
            found.offer("publish_time", line, "line")  # a bare dateline: 2005年1月2日
            continue
        prose = prose or line.endswith(("。", "！", "？", "”"))
        kept.append(line)
    return kept


def lines_outside(doc, body_node, lines: list | None = None) -> list[str]:
    """Short text lines of the page outside the body (bylines sit beside the title), from
    `short_lines` (unless given) those of the elements a byline is printed in."""
    return [own for node, own, _ in (short_lines(doc, body_node) if lines is None else lines)
            if node.tag in _BYLINE_TAGS]
