"""Page bytes -> article fields. Pure: no I/O, no Scrapy, no database.

Sources of truth, in order (DESIGN.md): government <meta> tags, Baidu-news spans, the
site's CSS selectors from config.yaml, the page's own metadata lines (来源：… 发布时间：…),
then generic guesses (text density for the body, <h1>/<title> for the title, the URL for
the date). Metadata lines are read before boilerplate rules run, so a 发布时间 line gives
its date before it is stripped.

The steps live in modules by concern: document (the tree), metadata and labels (field
candidates), body, title, credits (names); this module runs them in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from functools import cache

from crawler.clean import apply_rules, default_rules, find_mojibake, strip_pinyin
from crawler.clean.boilerplate import Rule
from crawler.extract.body import end_at_closing_credits, find_body, lines_outside, paragraphs_of, trim_edges
from crawler.extract.credits import ROLES, credits_in_text, forum_poster, settle_credits, take_credit_lines
from crawler.extract.dates import CHINA, PublishTime, parse_publish_time
from crawler.extract.decode import Decoded, decode_body
from crawler.extract.document import CJK, DROP_TAGS, find_links, parse, remove, squash
from crawler.extract.govfields import read_block, read_lines
from crawler.extract.labels import fields_in_line, is_metadata_line
from crawler.extract.metadata import (
    Found,
    clean_source,
    offer_datelines,
    offer_lines_outside,
    offer_page_metadata,
    page_fallbacks,
    page_lines,
    publish_time_of,
    short_lines,
    take_metadata_lines,
)
from crawler.extract.title import guess_title, strip_title_suffix


@dataclass
class ExtractOptions:
    """What the extractor may know about the site: from its config.yaml entry."""

    selectors: dict[str, str | None] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()  # site rules, applied after the default rules
    encoding: str | None = None
    fetched_at: datetime | None = None
    tz: tzinfo = CHINA
    collect_links: bool = False  # the crawler wants every link (attachments); resolving them costs


@dataclass
class Article:
    url: str
    title: str | None = None
    publish_time: PublishTime | None = None
    publish_time_origin: str | None = None
    source: str | None = None
    reporters: list[str] = field(default_factory=list)
    editors: list[str] = field(default_factory=list)
    photographers: list[str] = field(default_factory=list)
    original_title: str | None = None
    body: str | None = None
    quality: dict = field(default_factory=dict)
    links: list[tuple[str, str]] = field(default_factory=list)  # every <a href>, when options.collect_links
    # a government document's 信息公开 fields (govfields.py)
    index_number: str | None = None  # 索引号
    issuing_organ: str | None = None  # 发布机构 / 发文机关
    document_number: str | None = None  # 文号 / 发文字号
    written_date: date | None = None  # 成文日期
    subject: str | None = None  # 主题分类
    validity: str | None = None  # 有效性

    def as_record(self) -> dict:
        return {
            "title": self.title,
            "publish_time": self.publish_time.isoformat() if self.publish_time else None,
            "publish_time_precision": self.publish_time.precision if self.publish_time else None,
            "publish_time_origin": self.publish_time_origin,
            "source": self.source,
            "reporters": self.reporters,
            "editors": self.editors,
            "photographers": self.photographers,
            "original_title": self.original_title,
            "body": self.body,
            "quality": self.quality,
            "index_number": self.index_number,
            "issuing_organ": self.issuing_organ,
            "document_number": self.document_number,
            "written_date": self.written_date.isoformat() if self.written_date else None,
            "subject": self.subject,
            "validity": self.validity,
        }


def extract_article(body: bytes, url: str, content_type: str | None = None,
                    options: ExtractOptions | None = None) -> Article:
    options = options or ExtractOptions()
    return extract_decoded(decode_body(body, content_type, options.encoding), url, options)


def extract_decoded(decoded: Decoded, url: str, options: ExtractOptions | None = None) -> Article:
    article = extract_from_html(decoded.text, url, options)
    article.quality.update(encoding=decoded.encoding, encoding_step=decoded.step)
    article.quality["warnings"] = decoded.warnings + article.quality.get("warnings", [])
    if decoded.bad_spans:
        article.quality["bad_bytes"] = decoded.bad_spans
    return article


def extract_from_html(html: str, url: str, options: ExtractOptions | None = None) -> Article:
    options = options or ExtractOptions()
    article = Article(url=url, quality={"warnings": []})
    doc = parse(html)
    if doc is None:
        article.quality["warnings"].append("not an HTML page: no elements to extract from")
        return article
    if options.collect_links:
        article.links = find_links(doc, url)
    for bad in doc.xpath("//comment() | //processing-instruction()"):
        remove(bad)
    fallbacks = page_fallbacks(doc)  # before <script> elements are dropped
    found = Found()
    selectors = options.selectors or {}
    offer_page_metadata(found, doc, html, selectors)
    read_block(article, found, doc, html)  # the 信息公开 table: fields, then out of the page

    body_node, (body_from, body_selector) = find_body(doc, selectors.get("body"))
    article.quality.update(body_from=body_from, body_selector=body_selector)  # `muniarchive probe` shows it
    fallbacks += [(key, value, "forum") for key, value in forum_poster(doc, body_node)]
    # ASP.NET pages wrap the whole page, article and bylines included, in one <form>
    keep = set(body_node.iterancestors("form")) if body_node is not None else set()
    for node in list(doc.iter(*DROP_TAGS)):
        if node not in keep:
            remove(node)
    if body_node is None:
        article.quality["warnings"].append("no article body found")
    paragraphs = paragraphs_of(body_node) if body_node is not None else []
    short = cache(lambda: short_lines(doc, body_node))  # for bylines, then datelines
    return _complete(article, paragraphs, found, options, lambda: lines_outside(doc, body_node, short()),
                     lambda: guess_title(doc, body_node), fallbacks, lambda: page_lines(doc, body_node, short()))


def extract_from_text(text: str, url: str, options: ExtractOptions | None = None) -> Article:
    """A plain-text dump of a page (one paragraph a line). Its first line is the title when it
    reads like one (short, not a sentence) once leading metadata lines (来源：…) are set aside."""
    options = options or ExtractOptions()
    article = Article(url=url, quality={"warnings": []})
    lines = [line for line in (squash(x) for x in text.splitlines()) if line]
    if not lines:
        article.quality["warnings"].append("empty text")
        return article
    found = Found()
    while lines:
        line = strip_pinyin(lines[0])[0]
        if is_metadata_line(line):
            for key, value in fields_in_line(line):
                found.offer(key, value, "line")
        elif len(line) <= 30 and not CJK.search(line) and parse_publish_time(line, absolute_only=True):
            found.offer("publish_time", line, "line")  # a bare dateline
        else:
            break
        lines = lines[1:]
    first = strip_pinyin(lines[0])[0] if lines else ""
    # mojibake (?。) may sit inside a title: a line is a sentence when it ends like one
    title = first if first and len(first) <= 80 and not first.endswith(("。", "！", "？", "”")) else None
    return _complete(article, lines[1:] if title else lines, found, options, lambda: [], lambda: title)


def _complete(article: Article, paragraphs: list[str], found: Found, options: ExtractOptions,
              outside_lines, headline, fallbacks: list[tuple[str, str, str]] = (),
              dated_lines=lambda: []) -> Article:
    """The steps after the body's paragraphs are known, shared by HTML pages and text dumps.

    `fallbacks` (field, value, origin: JSON-LD, journal <meta>, a forum poster) count only
    where the page shows nothing: on real pages JSON-LD holds UTC stamps, show names and wiki
    contributors rather than what readers see.
    """
    # flattened pinyin hides labels (原標(biāo)題), so it goes before anything reads lines
    pinyin_removed = 0
    cleaned = []
    for paragraph in paragraphs:
        text, count = strip_pinyin(paragraph)
        pinyin_removed += count
        cleaned.append(text)
    cleaned = read_lines(article, found, cleaned)  # 信息公开 fields printed as lines of the body

    title_value = found.get("title", (None,))[0] or headline()
    article.title = strip_title_suffix(title_value) if title_value else None

    # credit lines at the body's edges (after the text is cut at its editor's line, which stays for them)
    paragraphs, credits = take_credit_lines(end_at_closing_credits(cleaned))
    # 4. the page's own metadata lines: in the body (then removed) and around the title
    paragraphs = take_metadata_lines(paragraphs, found)
    if not all(key in found for key in ("source", "publish_time", "reporters", "editors")):
        offer_lines_outside(found, outside_lines(), article.title)
    offer_datelines(found, dated_lines(), article.title)

    for key, value, origin in fallbacks:
        if key not in ROLES:  # credits weigh theirs against what the page prints: settle_credits
            found.offer(key, value, origin, weak=True)
    if article.title is None and "title" in found:
        article.title = found["title"][0]

    paragraphs, fired = apply_rules(paragraphs, default_rules() + tuple(options.rules))
    paragraphs = trim_edges(paragraphs, article.title, found)
    credits.update(credits_in_text(paragraphs))

    article.publish_time, article.publish_time_origin = publish_time_of(found, article.url, options.fetched_at,
                                                                        options.tz)

    article.source = clean_source(found["source"][0]) if "source" in found else None
    settled = settle_credits(found, credits, fallbacks)
    article.reporters, article.editors = settled["reporters"], settled["editors"]
    article.photographers = settled["photographers"]
    article.original_title = found["original_title"][0] if "original_title" in found else None
    article.body = "\n".join(paragraphs) if paragraphs else None
    if article.body is None:
        if "no article body found" not in article.quality["warnings"]:
            article.quality["warnings"].append("the article body is empty after cleaning")
        # not a single article (a listing, an error page): a headline and date would be a guess
        article.title = article.publish_time = article.publish_time_origin = None
    article.quality.update(
        pinyin_removed=pinyin_removed,
        mojibake=[{"field": name, **span} for name in ("title", "body")
                  for span in find_mojibake(getattr(article, name) or "")],
        rules_fired=sorted(set(fired)),
    )
    return article
