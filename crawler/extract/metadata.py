"""Metadata candidates: <meta> tags, Baidu-news spans, the site's selectors, JSON-LD, journal and
Dublin Core <meta>, label：value lines at the body's edges and beside the title, a reprint's
citation. Each is offered to `Found`, where the first source to offer a value wins."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from itertools import islice

from crawler.extract.credits import names
from crawler.extract.dates import CHINA, PublishTime, parse_publish_time, publish_time_from_url
from crawler.extract.document import CJK, page_names, select, short_text, squash, text_of
from crawler.extract.labels import fields_in_line, is_metadata_line, strip_label
from crawler.extract.vocabulary import VOCABULARY, words

_BAIDU_SPANS = VOCABULARY["baidu_spans"]
_BAIDU_XPATH = "//*[" + " or ".join(f'@id="{span}"' for span in _BAIDU_SPANS) + "]"
# WeChat pages fill the shown date (often 昨天) from this script variable: seconds since 1970
_WECHAT_CREATED = re.compile(r"\bvar ct\s*=\s*\"(\d{9,10})\"")  # rule-usage: general because every WeChat public-account article (mp.weixin.qq.com, any account) carries var ct
_META_TIMES = tuple(VOCABULARY["page_time_meta"])
_FOUNDER = re.compile(r"<!--\s*enpproperty\b.{0,300}?<date>(?P<date>[^<]*)</date>(?:.{0,600}?<url>(?P<url>[^<]*)</url>)?",
                      re.S)
_POSTED = re.compile(r"(?:于|在)\s*(?P<when>(?:19|20)\d\d\s*[-/.年][^在发]{3,20}?)\s*(?:在.{1,40}?)?(?:发表|发布|张贴|發表|發佈)")  # rule-usage: general because 于T发表 is the post line grammar of forums and blogs (CMS-PATTERNS.md)
_STANDARD_TIMES = tuple(VOCABULARY["standard_time_meta"])
_STANDARD_AUTHORS = tuple(VOCABULARY["standard_author_meta"])
_CJK_SPACED = re.compile(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")  # rule-usage: general because Dublin Core/citation authors are often written with spaced characters (张 三), a property of the tags
_SOURCE_STRIP = " 　:：|｜[]【】()（）"
# what a source value runs on into: a date, or the next field of a label：value line
_NEXT_FIELD = re.compile(r"\s*(?:(?:19|20)\d\d\s*[-/.年]|[\u4e00-\u9fff]{1,6}\s*[:：])")
_REPRINTED = re.compile(rf"^(?:{words('reprint_words')})\s*")
_QUOTED = re.compile(r"《([^》]{2,30})》")
_REPRINT_LINE = re.compile(rf"^(?:{words('reprint_words')})\s*《(?P<source>[^》]{{2,30}})》$")  # 转自《北京科技报》  # rule-usage: general because 转自《X》 is the reprint notice grammar of any reposting site
_NOT_OUTLETS = frozenset(VOCABULARY["not_outlets"])
# an outlet named after a dateline: 2005年03月31日03:18 北京娱乐信报
_OUTLET_AFTER_DATE = re.compile(rf"(?:\d{{1,2}}:\d{{2}}(?::\d{{2}})?|\d{{1,2}}日)\s*(?P<source>《[^》]{{2,20}}》|"
                                rf"[\u4e00-\u9fff]{{2,10}}(?:[—·][\u4e00-\u9fff]{{2,10}})?(?:{words('outlet_endings')}))$")
_LINE_TAGS = (  # rule-usage: lexicon; general because these are the HTML elements any CMS prints one label：value line in
    "span", "div", "p", "td", "li", "em", "i", "font", "h1", "h2", "h3", "h4", "b", "strong", "center", "small",
    "time", "dd")
_UNDATED = re.compile(words("undated_container_words"), re.I)
# a cheap test for a dated line before the costly ones: 2024-02, 2024年2月, 7/5/2005, May 3, 2005
_ANY_DATE = re.compile(r"(?:19|20)\d\d\s*[-/.年]\s*\d|\d/(?:19|20)\d\d|,\s*(?:19|20)\d\d")
_WORD = re.compile(r"[^\W\d_]")
_DATES = re.compile(r"(?:19|20)\d\d\s*[-/.年]\s*\d{1,2}|\d{1,2}/\d{1,2}/(?:19|20)\d\d")
# a reprint's closing citation: ——《滨河论坛》1998年3月号
_CITATION = re.compile(r"^\s*(?:——|--)\s*《(?P<source>[^》]{2,30})》\s*(?P<issue>.{0,16})$")  # rule-usage: general because ——《刊名》issue is how reprints cite their original publication, any reposting site


class Found(dict):
    """field -> (value, origin); the first source to offer a non-empty value wins, except that
    a weak offer (a guess, such as an unlabelled date far from the headline) gives way to a
    later plain one. Every publish-time candidate is kept: the URL's date arbitrates."""

    def __init__(self):
        super().__init__()
        self.weak: set[str] = set()
        self.times: list[tuple[str, str, bool]] = []  # (value, origin, weak), in offer order

    def offer(self, key: str, value: str | None, origin: str, weak: bool = False) -> None:
        value = squash(value or "")
        if key == "source" and not clean_source(value):
            return  # 转载, widget debris: not an outlet, so a later candidate may be
        if key in ("reporters", "editors") and ("=" in value or '"' in value or len(value) > 40
                                                 or not names(value)):
            # attribute debris (作者：<font size="20">), a forum signature running on after the
            # name, a counter: not names, so a later candidate may be
            return
        if not value:
            return
        if key == "publish_time":
            self.times.append((value, origin, weak))
        if key not in self or (key in self.weak and not weak):
            self[key] = (value, origin)
            (self.weak.add if weak else self.weak.discard)(key)


def publish_time_of(found: Found, url: str, reference: datetime | None = None,
                    tz=CHINA) -> tuple[PublishTime | None, str | None]:
    """(publish time, origin): the first candidate offered, unless it falls on another day
    than the URL's date (TRS t20240213_, /202402/13/) while another candidate agrees: a
    <meta> stamp, a widget's clock or a comment's date then lost to the date that the CMS
    wrote into the address when it published the page. No candidate: the URL's date."""
    url_date = next((d for u in (url, found.get("url", ("",))[0]) if (d := publish_time_from_url(u, tz))), None)
    parsed = [(time, origin) for value, origin, _ in sorted(found.times, key=lambda c: c[2])
              if (time := parse_publish_time(value, reference, tz))]
    if not parsed:
        return (url_date, "url") if url_date else (None, None)
    chosen = parsed[0]
    if url_date and chosen[0].value.date() != url_date.value.date():
        chosen = next((c for c in parsed if c[0].value.date() == url_date.value.date()), chosen)
    if chosen[0].precision in ("day", "month"):  # a date-only <meta>: the page's own line may give the clock
        day = chosen[0].value.date()
        chosen = next((c for c in parsed if c[0].value.date() == day and c[0].precision in ("minute", "second")),
                      chosen)
    return chosen


def clean_source(value: str) -> str | None:
    """The outlet's name alone: pages run widgets, dates, counters and the next label on after
    it (人民日报2024-05-13, 访问量：199 after an empty 来源：), and wrap it (转自《北京科技报》)."""
    value = _REPRINTED.sub("", value.strip(_SOURCE_STRIP))
    if "=" in value or '"' in value:  # attribute debris from broken markup, not a name
        return None
    value = _NEXT_FIELD.split(value)[0]
    if CJK.search(value):  # Chinese outlet names have no spaces: what follows one is not the name
        value = (value.split() or [""])[0]
    value = value.strip(_SOURCE_STRIP)
    if m := _QUOTED.fullmatch(value):
        value = m.group(1)
    if value in _NOT_OUTLETS:
        return None
    return value or None


def offer_page_metadata(found: Found, doc, html: str, selectors: dict) -> None:
    """1. government <meta> tags, 2. Baidu-news spans, 3. the site's selectors."""
    meta = _meta_tags(doc)
    found.offer("title", meta.get("articletitle"), "meta")
    for name in _META_TIMES:
        found.offer("publish_time", meta.get(name), "meta")
    # the address the page gives itself, for its date when the page was saved to a file
    declared = doc.xpath('//link[@rel="canonical"]/@href') + [meta.get("og:url", "")]
    if doc.tag == "text":  # a page saved in a corpus wrapper: <text id="URL" title="…">
        declared.append(doc.get("id") or "")
    # Founder (方正) newspaper CMSs record each article's date and address in a comment
    if founder := _FOUNDER.search(html):
        found.offer("publish_time", founder.group("date"), "cms")
        declared.append(founder.group("url") or "")
    found.offer("url", next((u for u in declared if u.startswith("http")), None), "meta")
    title = squash(text_of(node)) if (node := doc.find(".//title")) is not None else ""
    if squash(meta.get("contentsource") or "") not in (title, squash(meta.get("articletitle") or "")):
        found.offer("source", meta.get("contentsource"), "meta")  # a template may fill it with the title
    for node in doc.xpath(_BAIDU_XPATH) if not page_names(doc).isdisjoint(_BAIDU_SPANS) else ():
        found.offer(_BAIDU_SPANS[node.get("id")], strip_label(text_of(node)), "baidu")
    # ("var ct" first: a search that starts with \b tries every position of the page)
    if "var ct" in html and (wechat := _WECHAT_CREATED.search(html)):  # a WeChat article's creation time, to the second
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
            if parse_publish_time(m.group("issue"), absolute_only=True) or re.search(r"\d{4}\s*年\s*\d{1,2}\s*月", m.group("issue")):  # rule-usage: general because a citation's issue dated to the month (1998年3月号) dates the article
                found.offer("publish_time", m.group("issue"), "citation")
            continue
        if near_edge and (m := _REPRINT_LINE.match(candidate)):
            found.offer("source", m.group("source"), "line")
            continue
        fields = fields_in_line(candidate) if near_edge or len(line) <= 100 else []
        if near_edge and is_metadata_line(candidate):
            for key, value in fields:
                found.offer(key, value, "line")
            # an unlabelled date in a byline; not one in another article's title (原标题：…)
            undated = "".join(value for key, value in fields if key == "original_title")
            if parse_publish_time(candidate.replace(undated, "") if undated else candidate, absolute_only=True):
                found.offer("publish_time", candidate, "line")
            continue
        if len(line) <= 100:
            # a blog's or forum's stamp under the text (comments may follow it), run together with
            # counters or told as a sentence (本贴由X于2005年8月12日16:12:21在〖版〗发表): a guess,
            # and the line stays
            for key, value in fields if len(fields) >= 2 else ():  # a stamp: 作者:X 阅读(3) 发表于:…
                if key == "publish_time":
                    found.offer(key, value, "line", weak=True)
            if m := _POSTED.search(line):
                found.offer("publish_time", m.group("when"), "line", weak=True)
        kept.append(line)
    return kept


def offer_lines_outside(found: Found, outside: list[str], title: str | None) -> None:
    """Label lines among the page's lines outside the body (their dates: `offer_datelines`)."""
    # bylines sit just below the headline; look there first, then in the rest of the page
    at = next((i for i, line in enumerate(outside) if title and title[:10] in line), 0)
    for line in outside[at:] + outside[:at]:
        for key, value in fields_in_line(line):
            if key != "publish_time":
                found.offer(key, value, "line")


def short_lines(doc, body_node) -> list[tuple[object, str, str]]:
    """(element, line, where) for the short lines outside the body, in page order; where is
    "before" or "after" the body. Read once a page: the byline and the dateline readers share them."""
    inside = set(body_node.iter()) if body_node is not None else set()
    ancestors = set(body_node.iterancestors()) if body_node is not None else set()
    lines, where = [], "before"
    for node in doc.iter(*_LINE_TAGS):
        if node in inside:
            where = "after"
            continue
        if len(node) > 6 and node not in ancestors:
            continue  # a container of many elements holds no single short line of its own
        own = squash(node.text or "") if node in ancestors else short_text(node, 120)
        if own and len(own) <= 120:
            lines.append((node, own, where))
    return lines


def page_lines(doc, body_node, lines: list | None = None) -> list[tuple[str, str]]:
    """(line, where) for the short lines outside the body (`short_lines`, unless given), in
    page order; where is "before" or "after" the body, or (see `_where`) "listed" or "entry"
    for lines that cannot date it."""
    ancestors = set(body_node.iterancestors()) if body_node is not None else set()
    return [(own, _where(node, ancestors, where) if node not in ancestors and _ANY_DATE.search(own) else where)
            for node, own, where in (short_lines(doc, body_node) if lines is None else lines)]


def offer_datelines(found: Found, lines: list[tuple[str, str]], title: str | None) -> None:
    """Publish-time candidates outside the body, surest first: a line between the headline
    and the body, a labelled date elsewhere, then (weakly: a body's own dateline goes first)
    an unlabelled date elsewhere; never a listed line."""
    at = next((i for i, (line, where) in enumerate(lines) if title and title[:10] in line and where == "before"), None)
    beside = [line for line, where in lines[at + 1:] if where == "before"] if at is not None else []
    for line in beside:
        if labelled := [value for key, value in fields_in_line(line) if key == "publish_time"]:
            found.offer("publish_time", labelled[0], "line")
        elif len(line) <= 80 and parse_publish_time(line, absolute_only=True):
            found.offer("publish_time", line, "line")
            if m := _OUTLET_AFTER_DATE.search(line):
                found.offer("source", m.group("source"), "line")
    for line, where in lines:
        for key, value in fields_in_line(line) if where != "listed" else ():
            if key == "publish_time":
                found.offer(key, value, "line")
    for line, where in lines:
        if where in ("before", "after") and len(line) <= 80 and parse_publish_time(line, absolute_only=True):
            found.offer("publish_time", line, "line", weak=True)
            if m := _OUTLET_AFTER_DATE.search(line):
                found.offer("source", m.group("source"), "line")
            break  # the first; the rest of the page's dates are widgets' more often than not


def _where(node, body_ancestors: set, where: str) -> str:
    """`where`, or "listed" for a link's date, a comment's or a sidebar's, or "entry" for an
    entry of a list of links: a short block holding a headline's link and its date, in a flat
    list of such pairs or beside sibling blocks that each hold one (a forum's floors are such
    entries too, but each names its date: a labelled date in an entry still counts)."""
    if any((a.tag == "a" and a.get("href")) or (a not in body_ancestors and _UNDATED.search(f"{a.get('id') or ''} {a.get('class') or ''}"))
           for a in (node, *node.iterancestors())) or any(_DATES.search(text_of(a)) for a in _links(node, 0)):
        return "listed"
    entry = next((a for a in [node, *list(node.iterancestors())[:3]] if _has_links(a)), None)
    if entry is None:
        return where
    entry_text = text_of(entry)
    if _link_share(entry, entry_text) < 0.4:
        return where
    if len(list(islice(_links(entry), 2))) == 2 and len(_DATES.findall(entry_text)) >= 2:
        return "entry"
    if len(entry_text) > 300:
        return where
    parent = entry.getparent()
    if parent is not None and any(child is not entry and _has_links(child) and _DATES.search(text_of(child))
                                  and len(text_of(child)) <= 300 for child in parent):
        return "entry"
    return where


def _link_share(node, text: str) -> float:
    """The share of node's words (its `text`; dates and numbers aside) that are link text."""
    return sum(len(_WORD.findall(text_of(a))) for a in _links(node, 0)) / max(len(_WORD.findall(text)), 1)


def _links(node, shortest: int = 4) -> Iterator:
    """The links in node (not anchors: <a name=top1> left open wraps a forum's floors), as
    they are needed: the callers ask whether there are any, or two."""
    return (a for a in node.iter("a") if a.get("href") and (not shortest or len(squash(text_of(a))) >= shortest))


def _has_links(node) -> bool:
    return next(_links(node), None) is not None


def _meta_tags(doc) -> dict[str, str]:
    meta: dict[str, str] = {}
    for node in doc.iter("meta"):
        name = (node.get("name") or node.get("property") or "").strip().lower()
        content = (node.get("content") or "").strip()
        if name and content and name not in meta:  # real pages repeat the block; the first non-empty wins
            meta[name] = content
    return meta


def _json_ld(doc) -> list[tuple[str, str]]:  # rule-usage: general because schema.org JSON-LD and Baidu cambrian blocks are standards many news CMSs embed
    """(field, value) from schema.org NewsArticle/Article blocks (headline, datePublished, author)
    and Baidu's cambrian blocks (pubDate)."""
    out = []
    for script in doc.xpath('//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        for item in data if isinstance(data, list) else data.get("@graph", [data]) if isinstance(data, dict) else []:
            if isinstance(item, dict) and "cambrian" in str(item.get("@context", "")):
                out.append(("publish_time", item.get("pubDate")))  # Baidu's schema for Chinese sites
                continue
            if not isinstance(item, dict) or "Article" not in str(item.get("@type", "")):
                continue
            authors = item.get("author") or []
            authors = authors if isinstance(authors, list) else [authors]
            joined = "、".join(a.get("name", "") if isinstance(a, dict) else str(a) for a in authors)
            out += [("title", item.get("headline")), ("publish_time", item.get("datePublished")), ("reporters", joined)]
    return [(key, value) for key, value in out if isinstance(value, str) and value.strip()]


def _standard_meta(doc) -> list[tuple[str, str]]:  # rule-usage: general because Dublin Core and citation_ <meta> tags are standards of journals and repositories
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
