"""Metadata candidates: <meta> tags, Baidu-news spans, the site's selectors, JSON-LD, journal and
Dublin Core <meta>, label：value lines at the body's edges and beside the title, a reprint's
citation. Each is offered to `Found`, where the first source to offer a value wins."""

from __future__ import annotations

import json
import re
from datetime import datetime

from crawler.extract.credits import names
from crawler.extract.dates import CHINA, parse_publish_time
from crawler.extract.document import CJK, select, squash, text_of
from crawler.extract.labels import fields_in_line, is_metadata_line, strip_label
from crawler.extract.vocabulary import VOCABULARY, words

_BAIDU_SPANS = VOCABULARY["baidu_spans"]
_BAIDU_XPATH = "//*[" + " or ".join(f'@id="{span}"' for span in _BAIDU_SPANS) + "]"
# WeChat pages fill the shown date (often 昨天) from this script variable: seconds since 1970
_WECHAT_CREATED = re.compile(r"\bvar ct\s*=\s*\"(\d{9,10})\"")
_STANDARD_TIMES = tuple(VOCABULARY["standard_time_meta"])
_STANDARD_AUTHORS = tuple(VOCABULARY["standard_author_meta"])
_CJK_SPACED = re.compile(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")
_NOT_OUTLETS = frozenset(VOCABULARY["not_outlets"])
# an outlet named after a dateline: 2005年03月31日03:18 北京娱乐信报
_OUTLET_AFTER_DATE = re.compile(rf"(?:\d{{1,2}}:\d{{2}}(?::\d{{2}})?|\d{{1,2}}日)\s*(?P<source>[\u4e00-\u9fff]{{2,10}}"
                                rf"(?:{words('outlet_endings')}))$")
# a reprint's closing citation: ——《滨河论坛》1998年3月号
_CITATION = re.compile(r"^\s*(?:——|--)\s*《(?P<source>[^》]{2,30})》\s*(?P<issue>.{0,16})$")


class Found(dict):
    """field -> (value, origin); the first source to offer a non-empty value wins."""

    def offer(self, key: str, value: str | None, origin: str) -> None:
        value = squash(value or "")
        if key == "source" and not clean_source(value):
            return  # 转载, widget debris: not an outlet, so a later candidate may be
        if key in ("reporters", "editors") and ("=" in value or '"' in value or len(value) > 40
                                                 or not names(value)):
            # attribute debris (作者：<font size="20">), a forum signature running on after the
            # name, a counter: not names, so a later candidate may be
            return
        if value and key not in self:
            self[key] = (value, origin)


def clean_source(value: str) -> str | None:
    """The outlet's name alone: pages run widgets, dates and counters on after it."""
    value = value.strip(" 　:：|｜[]【】()（）")
    if "=" in value or '"' in value:  # attribute debris from broken markup, not a name
        return None
    if CJK.search(value):  # Chinese outlet names have no spaces: what follows one is not the name
        value = value.split()[0].strip(" 　:：|｜[]【】()（）")
    if value in _NOT_OUTLETS:
        return None
    return value or None


def offer_page_metadata(found: Found, doc, html: str, selectors: dict) -> None:
    """1. government <meta> tags, 2. Baidu-news spans, 3. the site's selectors."""
    meta = _meta_tags(doc)
    found.offer("title", meta.get("articletitle"), "meta")
    found.offer("publish_time", meta.get("pubdate"), "meta")
    found.offer("source", meta.get("contentsource"), "meta")
    for node in doc.xpath(_BAIDU_XPATH):
        found.offer(_BAIDU_SPANS[node.get("id")], strip_label(text_of(node)), "baidu")
    if wechat := _WECHAT_CREATED.search(html):  # a WeChat article's creation time, to the second
        found.offer("publish_time", datetime.fromtimestamp(int(wechat.group(1)), CHINA).isoformat(), "wechat")
    for key in ("title", "publish_time", "source"):
        if selectors.get(key):
            for node in select(doc, selectors[key])[:1]:
                found.offer(key, strip_label(text_of(node)), "selector")


def page_fallbacks(doc) -> list[tuple[str, str, str]]:
    """(field, value, origin) from schema.org blocks (read before <script> elements are
    dropped), then scholarly and Dublin Core <meta> tags, then <meta name="author"> (often the
    web editor or a department: credits.settle_credits weighs it): for where the page shows nothing."""
    author = _meta_tags(doc).get("author")
    return ([(key, value, "json-ld") for key, value in _json_ld(doc)]
            + [(key, value, "meta") for key, value in _standard_meta(doc)]
            + ([("reporters", author, "meta-author")] if author else []))


def take_metadata_lines(paragraphs: list[str], found: Found) -> list[str]:
    """Read label lines at the head and tail of the body into fields and drop them."""
    head, tail = 6, 8
    kept = []
    for index, line in enumerate(paragraphs):
        near_edge = index < head or index >= len(paragraphs) - tail
        # （责任编辑：孙璟） is wrapped in brackets; 作者：周思博 (Joel Spolsky) only ends with one
        candidate = line[1:-1].strip() if re.fullmatch(r"[（(【\[].*[）)】\]]", line) else line
        if near_edge and (m := _CITATION.match(line)) and index >= len(paragraphs) - tail:
            found.offer("source", m.group("source"), "citation")
            if parse_publish_time(m.group("issue"), absolute_only=True) or re.search(r"\d{4}\s*年\s*\d{1,2}\s*月", m.group("issue")):
                found.offer("publish_time", m.group("issue"), "citation")
            continue
        if near_edge and is_metadata_line(candidate):
            for key, value in fields_in_line(candidate):
                found.offer(key, value, "line")
            if parse_publish_time(candidate, absolute_only=True):  # an unlabelled date in a byline
                found.offer("publish_time", candidate, "line")
            continue
        kept.append(line)
    return kept


def offer_lines_outside(found: Found, outside: list[str], title: str | None) -> None:
    """Label lines and a dateline among the page's lines outside the body."""
    # bylines sit just below the headline; look there first, then in the rest of the page
    at = next((i for i, line in enumerate(outside) if title and title[:10] in line), 0)
    outside = outside[at:] + outside[:at]
    for line in outside:
        for key, value in fields_in_line(line):
            found.offer(key, value, "line")
    for line in outside if "publish_time" not in found else ():
        if len(line) <= 80 and parse_publish_time(line, absolute_only=True):
            found.offer("publish_time", line, "line")
            if m := _OUTLET_AFTER_DATE.search(line):
                found.offer("source", m.group("source"), "line")
            break


def _meta_tags(doc) -> dict[str, str]:
    meta: dict[str, str] = {}
    for node in doc.iter("meta"):
        name = (node.get("name") or node.get("property") or "").strip().lower()
        content = (node.get("content") or "").strip()
        if name and content and name not in meta:  # real pages repeat the block; the first non-empty wins
            meta[name] = content
    return meta


def _json_ld(doc) -> list[tuple[str, str]]:
    """(field, value) from schema.org NewsArticle/Article blocks: headline, datePublished, author."""
    out = []
    for script in doc.xpath('//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        for item in data if isinstance(data, list) else data.get("@graph", [data]) if isinstance(data, dict) else []:
            if not isinstance(item, dict) or "Article" not in str(item.get("@type", "")):
                continue
            authors = item.get("author") or []
            authors = authors if isinstance(authors, list) else [authors]
            joined = "、".join(a.get("name", "") if isinstance(a, dict) else str(a) for a in authors)
            out += [("title", item.get("headline")), ("publish_time", item.get("datePublished")), ("reporters", joined)]
    return [(key, value) for key, value in out if isinstance(value, str) and value.strip()]


def _standard_meta(doc) -> list[tuple[str, str]]:
    """(field, value) from journal and Dublin Core <meta> tags: an article's date and authors."""
    values: dict[str, list[str]] = {}
    for node in doc.iter("meta"):
        name = (node.get("name") or node.get("property") or "").strip().lower()
        if name in _STANDARD_TIMES or name in _STANDARD_AUTHORS:
            values.setdefault(name, []).append(squash(node.get("content") or ""))
    out = [("publish_time", values[name][0]) for name in _STANDARD_TIMES if values.get(name)]
    for name in _STANDARD_AUTHORS:
        if values.get(name):  # one tag per author; a Chinese name may be spaced out: 孙  晴
            spaced = [_CJK_SPACED.sub("", n) for n in values[name] if n]
            out.append(("reporters", "、".join(spaced)))
            break
    return [(key, value) for key, value in out if value]
