"""A page as a tree: parsing HTML, removing nodes, an element's text, CSS selection, links."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urljoin

import lxml.etree
import lxml.html
from lxml.cssselect import CSSSelector

BLOCK_TAGS = {  # rule-usage: lexicon; general because these are HTML's block-level elements
    "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table",
    "section", "article", "blockquote", "pre", "center", "dd", "dt", "dl", "figure", "figcaption",
}
DROP_TAGS = ("script", "style", "noscript", "iframe", "form", "button", "select", "textarea", "input", "nav")  # rule-usage: general because these elements hold no article text (scripts, frames, form controls, navigation), HTML
CJK = re.compile(r"[\u3400-\u9fff]")
# not ASCII ";": counters use it (阅读:3727;评论:63)
SENTENCE_END = re.compile(r"[。！？!?；]")  # rule-usage: general because sentence-ending punctuation marks prose, a property of text

# plain lxml elements: lxml.html's own element classes are looked up in Python for every
# element touched, which cost a seventh of the extraction time
_HTML_PARSER = lxml.etree.HTMLParser()
# no depth limit: libxml2 stops at 256 levels and drops the WHOLE page, not only what is deeper
_DEEP_HTML_PARSER = lxml.etree.HTMLParser(huge_tree=True)
# characters XML forbids, raw or as character references (&#1;, &#x1f;): lxml parses them but
# refuses any string holding one, so the first edit of a text beside them (dropping a comment,
# flattening a deep tree) raises "All strings must be XML compatible"
_BAD_REFERENCE = r"&#(?:[xX]0*(?:[0-8bcefBCEF]|1[0-9a-fA-F])|0*(?:[0-8]|1[124-9]|2\d|3[01]));"
_NOT_XML = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|{_BAD_REFERENCE}")
# the same test in the cheap order (a page is 30-100 KB): one scan for a small character class
# (U+FFFE in the class makes the scan several times slower), substring searches, and the
# references only where the page has some ("&#" is a literal prefix the scan jumps between)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_BAD_REFERENCE_SEARCH = re.compile(_BAD_REFERENCE)
# libxml2 ends the document at </html>; pages built from include fragments (TRS on gov.cn)
# carry one after the included header, before the article. It closes what is open at the
# end of the input anyway, so dropping every </html> loses nothing.
_END_OF_HTML = re.compile(r"</html\s*>", re.I)
# a tree past libxml2's limit is flattened below this depth: the extractor's walks recurse
# once per level
MAX_DEPTH = 200
# past libxml2's limit even with huge_tree (2048), the nesting is taken out of the markup:
# block tags become <p> (which never nests), inline ones go
_NESTING_TAG = re.compile(r"<(/?)(?:(?P<block>div|table|tbody|tr|td|th|ul|ol|li|dl|dd|dt|center|section|article|"
                          r"blockquote)|span|font|b|i|u|em|strong|small|big|a)\b[^>]*>", re.I)


def parse(html: str):
    """The page's tree, whole: stray </html> tags, characters XML forbids and nesting deeper
    than libxml2 allows (each of which loses or crashes a real page) are repaired first."""
    if not html or not html.strip():
        return None
    if _CONTROL.search(html) or "\ufffe" in html or "\uffff" in html or _BAD_REFERENCE_SEARCH.search(html):
        html = _NOT_XML.sub(lambda m: " " if m.group() in "\x0b\x0c" else "", html)
    html = _END_OF_HTML.sub("", html)
    doc = _parse(html, _HTML_PARSER)
    if doc is not None and _too_deep(_HTML_PARSER):
        doc = _parse(html, _DEEP_HTML_PARSER)
        if doc is not None and _too_deep(_DEEP_HTML_PARSER):
            doc = _parse(_NESTING_TAG.sub(lambda m: "<p>" if m.group("block") else "", html), _HTML_PARSER)
        if doc is not None:
            _flatten(doc)
    return doc


def _parse(html: str, parser):
    try:
        return _root(html, parser)
    except (lxml.etree.LxmlError, ValueError):
        try:  # a lone surrogate cannot be encoded for libxml2
            return _root(html.encode("utf-8", "replace"), parser)
        except (lxml.etree.LxmlError, ValueError):
            return None


def _root(html: str | bytes, parser):
    try:
        return lxml.html.fromstring(html, parser=parser)
    except AttributeError:
        # lxml.html merges a second <body> (a stray </body> before <html> makes one) with a
        # method of its own element classes, which the plain elements of this parser lack
        return lxml.etree.fromstring(html, parser=parser)


def _too_deep(parser) -> bool:
    return any(error.message.startswith("Excessive depth") for error in parser.error_log)


def _flatten(doc) -> None:
    """Elements deeper than MAX_DEPTH become <p> lines of their text under their ancestor at
    that depth: what they say stays, their nesting goes."""
    for anchor in doc.xpath("/*" * MAX_DEPTH):
        lines = lines_of(anchor)
        for child in list(anchor):
            anchor.remove(child)
        anchor.text = None
        for text in lines:
            lxml.etree.SubElement(anchor, "p").text = text


def lines_of(node, breaks=BLOCK_TAGS) -> list[str]:
    """The text of `node` as lines, a line ending at each element of `breaks`; blank lines
    dropped. Iterative: a tree of any depth."""
    lines, line = [], [node.text or ""]
    for event, child in lxml.etree.iterwalk(node, events=("start", "end", "comment", "pi")):
        if child is node:
            continue
        if event in ("comment", "pi"):  # no text of their own, but a tail
            line.append(child.tail or "")
            continue
        if child.tag in breaks:
            lines.append("".join(line))
            line = []
        if event == "start" and child.text and child.tag not in DROP_TAGS:
            line.append(child.text)
        if event == "end" and child.tail:
            line.append(child.tail)
    lines.append("".join(line))
    return [text for text in lines if text.strip()]


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


def has_text(node) -> bool:  # rule-usage: general because whether an element holds any text, on any page (a faster form of squash(text_of(node)))
    """Whether `squash(text_of(node))` is not empty, read only as far as the first word."""
    return any(not piece.isspace() for piece in node.itertext() if piece)


def short_text(node, limit: int) -> str | None:
    """`squash(text_of(node))` when it is at most `limit` characters, else None. A long text is
    read only until it is known to be too long: the pages' wrappers hold the whole page, and
    each level of them would be read whole."""
    pieces, words_ = [], 0
    for piece in node.itertext():
        words_ += len("".join(piece.split()))
        if words_ > limit:  # squashing keeps every character that is not a space
            return None
        pieces.append(piece)
    text = squash("".join(pieces))
    return text if len(text) <= limit else None


_SQUASHED = re.compile(r"[ \t\r\n\u3000\xa0]+")


def squash(text: str) -> str:
    return _SQUASHED.sub(" ", text).strip()


_NAMES = lxml.etree.XPath("//@id | //@class", smart_strings=False)


def page_names(doc) -> set[str]:
    """Every id and class name the page's elements carry (one walk of the tree in libxml2)."""
    return {name for value in _NAMES(doc) for name in value.split()}


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
