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
from crawler.extract.document import BLOCK_TAGS, CJK, DROP_TAGS, SENTENCE_END, select, squash, text_of
from crawler.extract.metadata import Found
from crawler.extract.vocabulary import VOCABULARY, words

KNOWN_BODY_SELECTORS = tuple(VOCABULARY["body_selectors"])
_UNLIKELY = re.compile(words("unlikely_container_words"), re.I)


def find_body(doc, selector: str | None):
    for candidate in ((selector,) if selector else ()) + KNOWN_BODY_SELECTORS:
        nodes = [n for n in select(doc, candidate) if len(squash(text_of(n))) >= 20]
        if nodes:
            return max(nodes, key=lambda n: len(text_of(n)))
    return _densest(doc)


def _densest(doc):
    """Readability-style fallback: the element whose paragraphs carry the most prose.

    Each text block scores by its Chinese sentence punctuation, discounted by how much of it
    is link text; the score goes to its parent (and half to the grandparent). Blocks inside
    comment threads, sidebars and footers are not candidates.
    """
    unlikely = {node for marked in doc.xpath("//*[@id or @class]")
                if _UNLIKELY.search(f"{marked.get('id') or ''} {marked.get('class') or ''}") for node in marked.iter()}
    scores: dict = {}
    link_chars = {a: len(text_of(a)) for a in doc.iter("a")}  # blocks nest: count each link once
    for block in doc.iter("p", "div", "td", "section", "li"):
        if block in unlikely:
            continue
        own = (block.text or "") + "".join((child.tail or "") for child in block)
        own += "".join(text_of(c) for c in block if c.tag in ("span", "strong", "b", "font", "em", "a"))
        if len(own.strip()) < 10:
            continue
        links = [a for a in block.iter("a")]
        link_text = sum(link_chars.get(a, 0) for a in links)
        density = link_text / max(len(own), 1)
        # punctuation inside links is a list of headlines (a forum's reply tree), not prose
        prose = own
        for a in links:
            prose = prose.replace(text_of(a), "", 1)
        base = 1 if len(CJK.findall(prose)) >= 10 else 0
        score = (prose.count("，") + prose.count("。") + prose.count(",") + base) * max(0.0, 1 - density)
        parent = block.getparent()
        if parent is not None:
            scores[parent] = scores.get(parent, 0) + score
            grand = parent.getparent()
            if grand is not None:
                scores[grand] = scores.get(grand, 0) + score / 2
    if not scores:
        return None
    best = max(scores, key=scores.get)
    return best if scores[best] >= 3 else None


def paragraphs_of(node) -> list[str]:
    """Text of a body node split at block boundaries (<p>, <div>, <br> ...), blank lines dropped.

    A line that is mostly link text (related links, a forum's thread list, navigation) is
    not prose and is left out.
    """
    lines: list[tuple[list[str], int]] = [([], 0)]

    def add(text: str, in_link: bool) -> None:
        parts, link_chars = lines[-1]
        parts.append(text)
        if in_link:
            lines[-1] = (parts, link_chars + len(text.strip()))

    def walk(element, in_link: bool) -> None:
        tag = element.tag if isinstance(element.tag, str) else ""
        in_link = in_link or tag == "a"
        block = tag in BLOCK_TAGS
        if block:
            lines.append(([], 0))
        if element.text:
            add(element.text, in_link)
        for child in element:
            if isinstance(child.tag, str) and child.tag not in DROP_TAGS:
                walk(child, in_link)
            if child.tail:
                add(child.tail, in_link)
        if block:
            lines.append(([], 0))

    walk(node, False)
    out = []
    for parts, link_chars in lines:
        text = squash("".join(parts))
        if text and link_chars <= 0.5 * len(text.replace(" ", "")):
            out.append(text)
    return out
def trim_edges(paragraphs: list[str], title: str | None, found: Found) -> list[str]:
    """Drop what pages print around an article but is not its text: at the head, the
    headline again, a ——subtitle, the author's bare name, a dateline; bylines at either end.
    """
    start = 0
    after_title = False
    for line in paragraphs[:6]:
        was_after_title = after_title
        after_title = bool(title) and (line == title or (len(line) >= 4 and line in title))
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
        else:
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


def lines_outside(doc, body_node) -> list[str]:
    """Short text lines of the page outside the body (bylines sit beside the title)."""
    inside = set(body_node.iter()) if body_node is not None else set()
    ancestors = set(body_node.iterancestors()) if body_node is not None else set()
    lines = []
    for node in doc.iter("span", "div", "p", "td", "li", "em", "i", "font"):
        if node in inside or (len(node) > 6 and node not in ancestors):
            continue  # a container of many elements holds no single short line of its own
        own = squash(node.text or "" if node in ancestors else text_of(node))
        if own and len(own) <= 120:
            lines.append(own)
    return lines
