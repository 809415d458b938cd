"""A page as a tree: parsing HTML, removing nodes, an element's text, CSS selection, links."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urljoin

import lxml.etree
import lxml.html
from lxml.cssselect import CSSSelector

BLOCK_TAGS = {
    "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table",
    "section", "article", "blockquote", "pre", "center", "dd", "dt", "dl", "figure", "figcaption",
}
DROP_TAGS = ("script", "style", "noscript", "iframe", "form", "button", "select", "textarea", "input", "nav")
CJK = re.compile(r"[\u3400-\u9fff]")
SENTENCE_END = re.compile(r"[。！？!?；]")  # not ASCII ";": counters use it (阅读:3727;评论:63)

# plain lxml elements: lxml.html's own element classes are looked up in Python for every
# element touched, which cost a seventh of the extraction time
_HTML_PARSER = lxml.etree.HTMLParser()


def parse(html: str):
    if not html or not html.strip():
        return None
    try:
        doc = lxml.html.fromstring(html, parser=_HTML_PARSER)
    except (lxml.etree.ParserError, ValueError):
        try:
            doc = lxml.html.fromstring(html.encode("utf-8", "replace"), parser=_HTML_PARSER)
        except (lxml.etree.ParserError, ValueError):
            return None
    return doc


def remove(node) -> None:
    parent = node.getparent()
    if parent is None:
        return
    if node.tail:
        previous = node.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + node.tail
        else:
            parent.text = (parent.text or "") + node.tail
    parent.remove(node)


def text_of(node) -> str:
    return "".join(node.itertext()) if hasattr(node, "itertext") else str(node)


def squash(text: str) -> str:
    return re.sub(r"[ \t\r\n\u3000\xa0]+", " ", text).strip()


@lru_cache(maxsize=256)
def _compiled(selector: str) -> CSSSelector | None:
    """CSS -> XPath translation costs more than running it; site selectors repeat on every page."""
    try:
        return CSSSelector(selector, translator="html")
    except Exception:  # cssselect raises several types for a bad selector
        return None


def select(doc, selector: str) -> list:
    compiled = _compiled(selector)
    return compiled(doc) if compiled is not None else []


def find_links(html_or_doc, base_url: str) -> list[tuple[str, str]]:
    """Every <a href> of a page as (absolute URL, link text), document order, fragments dropped."""
    doc = parse(html_or_doc) if isinstance(html_or_doc, str) else html_or_doc
    if doc is None:
        return []
    origin = re.match(r"^[a-z]+://[^/]+", base_url)
    out = []
    for a in doc.iter("a"):
        href = (a.get("href") or "").strip()
        if not href or href.startswith(("javascript:", "mailto:", "#")):
            continue
        # most hrefs are absolute or root-relative: no general join needed (it is the costly part)
        if href.startswith(("http://", "https://")) and "/." not in href:
            url = href
        elif origin and href.startswith("/") and not href.startswith("//") and "/." not in href:
            url = origin.group(0) + href
        else:
            url = urljoin(base_url, href)
        out.append((url.split("#", 1)[0], squash(text_of(a))))
    return out
