"""Page bytes -> article fields. Pure: no I/O, no Scrapy, no database.

Sources of truth, in order (DESIGN.md): government <meta> tags, Baidu-news spans, the
site's CSS selectors from config.yaml, the page's own metadata lines (来源：… 发布时间：…),
then generic guesses (text density for the body, <h1>/<title> for the title, the URL for
the date). Metadata lines are read before boilerplate rules run, so a 发布时间 line gives
its date before it is stripped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from functools import lru_cache
from urllib.parse import urljoin

import lxml.etree
import lxml.html
from lxml.cssselect import CSSSelector

from crawler.clean import apply_rules, default_rules, find_mojibake, strip_pinyin
from crawler.clean.boilerplate import Rule
from crawler.extract.dates import CHINA, PublishTime, parse_publish_time, publish_time_from_url
from crawler.extract.decode import Decoded, decode_body

# Body containers of the CMS families in CMS-PATTERNS.md, most specific first.
KNOWN_BODY_SELECTORS = (
    "div.TRS_Editor", "div.TRS_UEDITOR", "#UCAP-CONTENT", "#zoom", "#artibody", "#rwb_zw",
    "#ozoom", "div.article-content", "div.content-text", "#js_content", "article",
)
BLOCK_TAGS = {
    "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table",
    "section", "article", "blockquote", "pre", "center", "dd", "dt", "dl", "figure", "figcaption",
}
DROP_TAGS = ("script", "style", "noscript", "iframe", "form", "button", "select", "textarea", "input", "nav")

_LABELS = {
    "source": r"信息来源|文章来源|新闻来源|稿件来源|来源于|来源|信息來源|文章來源|來源於|來源|出处|出處|来自|來自",
    "publish_time": r"发布时间|发布日期|發布時間|發佈時間|發布日期|发表时间|發表時間|发表日期|发表于|發表於|发布于|發布於|發佈於|发稿时间|更新时间|时间|日期|時間|发布|發布",
    "reporters": r"作者|记者|記者|通讯员|通訊員|撰稿|执笔人|執筆人|执笔|執筆|文|摄|攝|文/图|文/圖",
    # credited but not a field of the record: the line goes, the names are not kept
    "credits": r"译者|譯者|翻译|翻譯|译|譯|责任校对|图片|圖片|制图|製圖|视频|視頻|出品|监制|監製|策划|策劃",
    "editors": r"责任编辑|責任編輯|责编|責編|编辑|編輯|审核|審核|校对|校對|初审|初審|终审|終審|值班编辑",
    "original_title": r"原标题|原標題",
}
_BAIDU_SPANS = {"pubtime_baidu": "publish_time", "source_baidu": "source", "author_baidu": "reporters",
                "editor_baidu": "editors"}
_BAIDU_XPATH = "//*[" + " or ".join(f'@id="{span}"' for span in _BAIDU_SPANS) + "]"
_LABEL_NAMES = "|".join(_LABELS.values())
_LEADING_LABEL = re.compile(rf"^\s*(?:{_LABEL_NAMES})\s*[:：]\s*")
_ANY_LABEL = "|".join(f"(?P<{key}>{alts})" for key, alts in _LABELS.items())
# a label, a colon, then its value up to the next label or the end of the line
_FIELD = re.compile(rf"(?:{_ANY_LABEL})\s*[:：]\s*(?P<value>.*?)(?=\s*(?:{_LABEL_NAMES})\s*[:：]|$)")
_LEAD_REPORTERS = re.compile(r"^.{0,30}?(?:讯|訊|消息)\s*[（(](?P<names>[^）)]{2,40})[）)]")
_NAME_SPLIT = re.compile(r"\s*[、,，;；/&＆]\s*")
_NAMES = r"[\u4e00-\u9fff·]{2,5}(?:[\s、,，&＆]+[\u4e00-\u9fff·]{2,5}){0,5}"
# a line that is only a byline: 本报记者 张三 李四, □ 记者 王五 发自北京, 执笔/甲、乙
_BYLINE = re.compile(rf"^[□■●◆\s]*(?:本报|本刊|本台|本网|本報|本網)?(?:特约|特約)?(?:记者|記者|通讯员|通訊員|实习生|實習生|"
                     rf"撰文|执笔|執筆)\s*[:：/]?\s*(?P<names>{_NAMES})\s*(?:发自\S{{2,6}}|發自\S{{2,6}}|报道|報道)?$")
# a closing credit in brackets: （袁源） （记者 张三）
_ROLES_IN_BRACKETS = r"[\u4e00-\u9fff]{0,6}?(?:记者|記者|评论员|評論員|通讯员|通訊員)|文|作者"
# WeChat-style closing credit: 经过文刃重新编排, 由张三整理
_EDITED_BY = re.compile(r"^(?:经过|經過|经|經|由)(?P<names>[\u4e00-\u9fff]{2,4}?)(?:重新)?(?:编排|編排|编辑|編輯|整理)$")
_NOT_NAMES = re.compile(r"^(?:完|待续|待續|未完待续|未完待續|续|續|全文完|图|圖|上|下|中|附|注|註)$")
_BRACKET_BYLINE = re.compile(rf"^[（(]\s*(?:{_ROLES_IN_BRACKETS})?\s*(?P<names>{_NAMES})\s*[)）]$")
# the same closing credit run on at the end of the last paragraph: …信息交流。(信报记者 蔡雪婧)
_TRAILING_BYLINE = re.compile(rf"[。！？”][（(]\s*(?:{_ROLES_IN_BRACKETS})?\s*(?P<names>{_NAMES})\s*[)）]\s*$")
_BARE_NAME = re.compile(r"^[\u4e00-\u9fff·]{2,4}$|^[\u4e00-\u9fff·]{2,3}(?:[、\s][\u4e00-\u9fff·]{2,3}){1,4}$")
# 澎湃-style byline under the headline: 石佳/中国青年报
_NAME_SOURCE = re.compile(r"^(?P<names>[\u4e00-\u9fff·]{2,4})\s*/\s*(?P<source>[\u4e00-\u9fffA-Za-z]{2,14})$")
_REPORTER_ROLE = re.compile(r"^(记者|記者|通讯员|通訊員|实习生|實習生|作者)")
# the last separator, then a short site name
_TITLE_SUFFIX = re.compile(r"\s*(?:[_|｜]|--|\s[-–—]\s|-(?=[^-\s]{2,12}$))\s*[^_|｜]{1,20}$")
_CJK = re.compile(r"[\u3400-\u9fff]")
_UNBALANCED = re.compile(r"^[^【（(「《]*[】）)」》]")
_PRIVATE_USE = re.compile(r"[\ue000-\uf8ff]")
_SENTENCE_END = re.compile(r"[。！？!?；]")  # not ASCII ";": counters use it (阅读:3727;评论:63)
# 发布时间 2005/03/15 22:36:13: the colon left out before a date
_TIME_LABEL_NO_COLON = re.compile(r"(发布时间|发布日期|发表时间|发表日期|發布時間|發表時間|更新时间|发表于|發表於)\s*(?=\d)")
# a reprint's closing citation: ——《滨河论坛》1998年3月号
_CITATION = re.compile(r"^\s*(?:——|--)\s*《(?P<source>[^》]{2,30})》\s*(?P<issue>.{0,16})$")


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
    original_title: str | None = None
    body: str | None = None
    quality: dict = field(default_factory=dict)
    links: list[tuple[str, str]] = field(default_factory=list)  # every <a href>, when options.collect_links

    def as_record(self) -> dict:
        return {
            "title": self.title,
            "publish_time": self.publish_time.isoformat() if self.publish_time else None,
            "publish_time_precision": self.publish_time.precision if self.publish_time else None,
            "publish_time_origin": self.publish_time_origin,
            "source": self.source,
            "reporters": self.reporters,
            "editors": self.editors,
            "original_title": self.original_title,
            "body": self.body,
            "quality": self.quality,
        }


def extract_article(body: bytes, url: str, content_type: str | None = None,
                    options: ExtractOptions | None = None) -> Article:
    options = options or ExtractOptions()
    return extract_decoded(decode_body(body, content_type, options.encoding), url, options)


def extract_decoded(decoded: Decoded, url: str, options: ExtractOptions | None = None) -> Article:
    article = extract_from_html(decoded.text, url, options)
    article.quality.update(encoding=decoded.encoding, encoding_step=decoded.step)
    article.quality["warnings"] = decoded.warnings + article.quality.get("warnings", [])
    return article


class _Found(dict):
    """field -> (value, origin); the first source to offer a non-empty value wins."""

    def offer(self, key: str, value: str | None, origin: str) -> None:
        value = _squash(value or "")
        if key == "source" and not _clean_source(value):
            return  # 转载, widget debris: not an outlet, so a later candidate may be
        if key in ("reporters", "editors") and ("=" in value or '"' in value or len(value) > 40
                                                 or not _names(value)):
            # attribute debris (作者：<font size="20">), a forum signature running on after the
            # name, a counter: not names, so a later candidate may be
            return
        if value and key not in self:
            self[key] = (value, origin)


def extract_from_html(html: str, url: str, options: ExtractOptions | None = None) -> Article:
    options = options or ExtractOptions()
    article = Article(url=url, quality={"warnings": []})
    doc = _parse(html)
    if doc is None:
        article.quality["warnings"].append("not an HTML page: no elements to extract from")
        return article
    if options.collect_links:
        article.links = find_links(doc, url)
    for bad in doc.xpath("//comment() | //processing-instruction()"):
        _remove(bad)
    meta = _meta_tags(doc)
    # where the page shows nothing: schema.org blocks (before <script> elements are dropped),
    # then scholarly and Dublin Core <meta> tags
    fallbacks = [(key, value, "json-ld") for key, value in _json_ld(doc)]
    fallbacks += [(key, value, "meta") for key, value in _standard_meta(doc)]
    found = _Found()

    # 1. government meta tags, 2. Baidu-news spans, 3. the site's selectors
    found.offer("title", meta.get("articletitle"), "meta")
    found.offer("publish_time", meta.get("pubdate"), "meta")
    found.offer("source", meta.get("contentsource"), "meta")
    if _looks_like_people(meta.get("author") or ""):  # often the publisher's name instead
        found.offer("reporters", meta.get("author"), "meta")
    for node in doc.xpath(_BAIDU_XPATH):
        found.offer(_BAIDU_SPANS[node.get("id")], _strip_label(_text(node)), "baidu")
    if wechat := _WECHAT_CREATED.search(html):  # a WeChat article's creation time, to the second
        found.offer("publish_time", datetime.fromtimestamp(int(wechat.group(1)), CHINA).isoformat(), "wechat")
    selectors = options.selectors or {}
    for key in ("title", "publish_time", "source"):
        if selectors.get(key):
            for node in _select(doc, selectors[key])[:1]:
                found.offer(key, _strip_label(_text(node)), "selector")

    body_node = _body_node(doc, selectors.get("body"))
    fallbacks += [(key, value, "forum") for key, value in _forum_poster(doc, body_node)]
    # ASP.NET pages wrap the whole page, article and bylines included, in one <form>
    keep = set(body_node.iterancestors("form")) if body_node is not None else set()
    for node in list(doc.iter(*DROP_TAGS)):
        if node not in keep:
            _remove(node)
    if body_node is None:
        article.quality["warnings"].append("no article body found")
    paragraphs = _paragraphs(body_node) if body_node is not None else []
    return _complete(article, paragraphs, found, options, lambda: _lines_outside(doc, body_node),
                     lambda: _guess_title(doc, body_node), fallbacks)


def extract_from_text(text: str, url: str, options: ExtractOptions | None = None) -> Article:
    """A plain-text dump of a page (one paragraph a line). Its first line is the title when it
    reads like one (short, not a sentence) once leading metadata lines (来源：…) are set aside."""
    options = options or ExtractOptions()
    article = Article(url=url, quality={"warnings": []})
    lines = [line for line in (_squash(x) for x in text.splitlines()) if line]
    if not lines:
        article.quality["warnings"].append("empty text")
        return article
    found = _Found()
    while lines:
        line = strip_pinyin(lines[0])[0]
        if _is_metadata_line(line):
            for key, value in _fields_in_line(line):
                found.offer(key, value, "line")
        elif len(line) <= 30 and not _CJK.search(line) and parse_publish_time(line, absolute_only=True):
            found.offer("publish_time", line, "line")  # a bare dateline
        else:
            break
        lines = lines[1:]
    first = strip_pinyin(lines[0])[0] if lines else ""
    # mojibake (?。) may sit inside a title: a line is a sentence when it ends like one
    title = first if first and len(first) <= 80 and not first.endswith(("。", "！", "？", "”")) else None
    return _complete(article, lines[1:] if title else lines, found, options, lambda: [], lambda: title)


def _complete(article: Article, paragraphs: list[str], found: _Found, options: ExtractOptions,
              lines_outside, guess_title, fallbacks: list[tuple[str, str, str]] = ()) -> Article:
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

    title_value = found.get("title", (None,))[0] or guess_title()
    article.title = _strip_title_suffix(title_value) if title_value else None

    # 4. the page's own metadata lines: in the body (then removed) and around the title
    paragraphs = _take_metadata_lines(cleaned, found)
    if not all(key in found for key in ("source", "publish_time", "reporters", "editors")):
        outside = lines_outside()
        # bylines sit just below the headline; look there first, then in the rest of the page
        at = next((i for i, line in enumerate(outside) if article.title and article.title[:10] in line), 0)
        outside = outside[at:] + outside[:at]
        for line in outside:
            for key, value in _fields_in_line(line):
                found.offer(key, value, "line")
        for line in outside if "publish_time" not in found else ():
            if len(line) <= 80 and parse_publish_time(line, absolute_only=True):
                found.offer("publish_time", line, "line")
                if m := _OUTLET_AFTER_DATE.search(line):
                    found.offer("source", m.group("source"), "line")
                break

    for key, value, origin in fallbacks:
        found.offer(key, value, origin)
    if article.title is None and "title" in found:
        article.title = found["title"][0]

    paragraphs, fired = apply_rules(paragraphs, default_rules() + tuple(options.rules))
    paragraphs = _trim_edges(paragraphs, article.title, found)
    if paragraphs and "reporters" not in found and (m := _LEAD_REPORTERS.search(paragraphs[0])):
        found.offer("reporters", m.group("names"), "lead")

    if "publish_time" in found:
        value, origin = found["publish_time"]
        article.publish_time = parse_publish_time(value, options.fetched_at, options.tz)
        article.publish_time_origin = origin if article.publish_time else None
    if article.publish_time is None and (from_url := publish_time_from_url(article.url, options.tz)):
        article.publish_time, article.publish_time_origin = from_url, "url"

    article.source = _clean_source(found["source"][0]) if "source" in found else None
    # a lead's brackets name the station with the reporter: 濟寧新聞網訊(濟寧臺 吳鐘亮)
    if "reporters" not in found:
        article.reporters = []
    elif found["reporters"][1] == "forum":  # a nickname, whole: 夜雨&听风
        article.reporters = [found["reporters"][0]]
    else:
        article.reporters = [n for n in _names(found["reporters"][0]) if not _ORGANISATION.search(n)]
    article.editors = _names(found["editors"][0]) if "editors" in found else []
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


def find_links(html_or_doc, base_url: str) -> list[tuple[str, str]]:
    """Every <a href> of a page as (absolute URL, link text), document order, fragments dropped."""
    doc = _parse(html_or_doc) if isinstance(html_or_doc, str) else html_or_doc
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
        out.append((url.split("#", 1)[0], _squash(_text(a))))
    return out


# ---------------------------------------------------------------- helpers

# plain lxml elements: lxml.html's own element classes are looked up in Python for every
# element touched, which cost a seventh of the extraction time
_HTML_PARSER = lxml.etree.HTMLParser()


def _parse(html: str):
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


def _remove(node) -> None:
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


def _text(node) -> str:
    return "".join(node.itertext()) if hasattr(node, "itertext") else str(node)


def _squash(text: str) -> str:
    return re.sub(r"[ \t\r\n\u3000\xa0]+", " ", text).strip()


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
            names = "、".join(a.get("name", "") if isinstance(a, dict) else str(a) for a in authors)
            out += [("title", item.get("headline")), ("publish_time", item.get("datePublished")), ("reporters", names)]
    return [(key, value) for key, value in out if isinstance(value, str) and value.strip()]


# WeChat pages fill the shown date (often 昨天) from this script variable: seconds since 1970
_WECHAT_CREATED = re.compile(r"\bvar ct\s*=\s*\"(\d{9,10})\"")
_STANDARD_TIMES = ("citation_publication_date", "citation_date", "dcterms.issued", "dc.date.issued", "dc.date",
                   "article:published_time")
_STANDARD_AUTHORS = ("citation_author", "dc.creator")


# a bulletin board's link to a member's profile: the poster, on a forum page (Discuz, phpwind,
# NetEase, ZOL, Yahoo boards)
_PROFILE_LINK = re.compile(r"(?:^|/)(?:user|list_user|u|profile|space|member)\.php\?\S*?\b(?:userid|uid|lookuserid|"
                           r"username|id)=|/people\?u=|space-uid-\d+|home\.php\?mod=space\S*?uid=", re.I)


def _forum_poster(doc, body_node) -> list[tuple[str, str]]:
    """("reporters", nickname) from the last profile link before the post's text (which may be
    in the post's own row, beside the text)."""
    if body_node is None:
        return []
    poster = None
    inside = False
    for element in doc.iter():
        inside = inside or element is body_node
        if inside and len((element.text or "").strip()) > 30:
            break
        if element.tag == "a" and _PROFILE_LINK.search(element.get("href") or ""):
            text = _squash(_text(element))
            if 2 <= len(text) <= 30 and not _SENTENCE_END.search(text):
                poster = text
    return [("reporters", poster)] if poster else []


def _standard_meta(doc) -> list[tuple[str, str]]:
    """(field, value) from journal and Dublin Core <meta> tags: an article's date and authors."""
    values: dict[str, list[str]] = {}
    for node in doc.iter("meta"):
        name = (node.get("name") or node.get("property") or "").strip().lower()
        if name in _STANDARD_TIMES or name in _STANDARD_AUTHORS:
            values.setdefault(name, []).append(_squash(node.get("content") or ""))
    out = [("publish_time", values[name][0]) for name in _STANDARD_TIMES if values.get(name)]
    for name in _STANDARD_AUTHORS:
        if values.get(name):  # one tag per author; a Chinese name may be spaced out: 孙  晴
            names = [_CJK_SPACED.sub("", n) for n in values[name] if n]
            out.append(("reporters", "、".join(names)))
            break
    return [(key, value) for key, value in out if value]


_CJK_SPACED = re.compile(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")


def _meta_tags(doc) -> dict[str, str]:
    meta: dict[str, str] = {}
    for node in doc.iter("meta"):
        name = (node.get("name") or node.get("property") or "").strip().lower()
        content = (node.get("content") or "").strip()
        if name and content and name not in meta:  # real pages repeat the block; the first non-empty wins
            meta[name] = content
    return meta


@lru_cache(maxsize=256)
def _compiled(selector: str) -> CSSSelector | None:
    """CSS -> XPath translation costs more than running it; site selectors repeat on every page."""
    try:
        return CSSSelector(selector, translator="html")
    except Exception:  # cssselect raises several types for a bad selector
        return None


def _select(doc, selector: str) -> list:
    compiled = _compiled(selector)
    return compiled(doc) if compiled is not None else []


def _strip_label(text: str) -> str:
    return _LEADING_LABEL.sub("", _squash(text))


def _body_node(doc, selector: str | None):
    for candidate in ((selector,) if selector else ()) + KNOWN_BODY_SELECTORS:
        nodes = [n for n in _select(doc, candidate) if len(_squash(_text(n))) >= 20]
        if nodes:
            return max(nodes, key=lambda n: len(_text(n)))
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
    link_chars = {a: len(_text(a)) for a in doc.iter("a")}  # blocks nest: count each link once
    for block in doc.iter("p", "div", "td", "section", "li"):
        if block in unlikely:
            continue
        own = (block.text or "") + "".join((child.tail or "") for child in block)
        own += "".join(_text(c) for c in block if c.tag in ("span", "strong", "b", "font", "em", "a"))
        if len(own.strip()) < 10:
            continue
        link_text = sum(link_chars.get(a, 0) for a in block.iter("a"))
        density = link_text / max(len(own), 1)
        score = (own.count("，") + own.count("。") + own.count(",") + 1) * max(0.0, 1 - density)
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


def _paragraphs(node) -> list[str]:
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
        text = _squash("".join(parts))
        if text and link_chars <= 0.5 * len(text.replace(" ", "")):
            out.append(text)
    return out


def _fields_in_line(line: str) -> list[tuple[str, str]]:
    line = _TIME_LABEL_NO_COLON.sub(r"\1：", line)
    out = []
    for m in _FIELD.finditer(line):
        key = next(k for k in _LABELS if m.group(k))
        value = m.group("value").strip(" 　|｜")
        if value:
            out.append((key, value))
    return out


def _is_metadata_line(line: str) -> bool:
    """A line made only of label: value pairs (and dates), short enough to be a byline; or a
    dateline that also names a labelled field (2005-04-05 06:40更新 来源：…)."""
    if len(line) > 120:
        return False
    line = _TIME_LABEL_NO_COLON.sub(r"\1：", line)
    if (len(line) <= 100 and not _SENTENCE_END.search(line) and _FIELD.search(line)
            and parse_publish_time(line, absolute_only=True)):
        return True
    stripped = _FIELD.sub("", line)
    stripped = re.sub(r"[\d\s:：\-/年月日.|｜【】\[\]（）()]", "", stripped)
    return not stripped and bool(_FIELD.search(line))


def _take_metadata_lines(paragraphs: list[str], found: _Found) -> list[str]:
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
        if near_edge and _is_metadata_line(candidate):
            for key, value in _fields_in_line(candidate):
                found.offer(key, value, "line")
            if parse_publish_time(candidate, absolute_only=True):  # an unlabelled date in a byline
                found.offer("publish_time", candidate, "line")
            continue
        kept.append(line)
    return kept


def _trim_edges(paragraphs: list[str], title: str | None, found: _Found) -> list[str]:
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
        elif m := _NAME_SOURCE.match(line):
            found.offer("reporters", m.group("names"), "byline")
            found.offer("source", m.group("source"), "byline")
        elif m := _BYLINE.match(line):
            found.offer("reporters", _byline_names(m), "byline")
        elif (start < 3 or was_after_title) and _BARE_NAME.match(line):
            if was_after_title:  # the author's name under the headline; above it, a stray label
                found.offer("reporters", line, "byline")
        elif len(line) <= 40 and parse_publish_time(line, absolute_only=True) and not _SENTENCE_END.search(line):
            found.offer("publish_time", line, "line")
        else:
            break
        start += 1
    end = len(paragraphs)

    def closing_byline(line: str):
        m = _BYLINE.match(line) or _BRACKET_BYLINE.match(line)
        return m if m and not _NOT_NAMES.match(m.group("names")) else None

    while end > start and len(paragraphs[end - 1]) <= 4 and not _SENTENCE_END.search(paragraphs[end - 1]) \
            and not closing_byline(paragraphs[end - 1]):
        end -= 1  # crumbs of widgets after the text: 图集, +1, 返回 (but not a credit: （高远）)
    while end > start and (m := closing_byline(paragraphs[end - 1])):
        found.offer("reporters", m.group("names"), "byline")
        end -= 1
    while end > start and (m := _EDITED_BY.match(paragraphs[end - 1])):
        found.offer("editors", m.group("names"), "byline")
        end -= 1
    for line in paragraphs[max(start, end - 2):end]:
        if (m := _TRAILING_BYLINE.search(line)) and not _NOT_NAMES.match(m.group("names")):
            found.offer("reporters", m.group("names"), "byline")
    # a byline may follow a pull-quote or standfirst rather than open the body
    # (only before the first finished sentence: a notice ends with its signature's date)
    kept = []
    prose = False
    for index, line in enumerate(paragraphs[start:end]):
        if not prose and index < 4 and (m := _BYLINE.match(line)):
            found.offer("reporters", _byline_names(m), "byline")
            continue
        if not prose and index < 4 and line.startswith(("——", "--")) and len(line) <= 40:
            continue  # a ——subtitle under the headline
        if not prose and index < 4 and len(line) <= 24 and parse_publish_time(line, absolute_only=True) \
                and not _SENTENCE_END.search(line) and len(_CJK.findall(line)) <= 4:
            found.offer("publish_time", line, "line")  # a bare dateline: 2005年1月2日
            continue
        prose = prose or line.endswith(("。", "！", "？", "”"))
        kept.append(line)
    return kept


def _lines_outside(doc, body_node) -> list[str]:
    """Short text lines of the page outside the body (bylines sit beside the title)."""
    inside = set(body_node.iter()) if body_node is not None else set()
    ancestors = set(body_node.iterancestors()) if body_node is not None else set()
    lines = []
    for node in doc.iter("span", "div", "p", "td", "li", "em", "i", "font"):
        if node in inside or (len(node) > 6 and node not in ancestors):
            continue  # a container of many elements holds no single short line of its own
        own = _squash(node.text or "" if node in ancestors else _text(node))
        if own and len(own) <= 120:
            lines.append(own)
    return lines


def _guess_title(doc, body_node=None) -> str | None:
    """The page's headline.

    In order: the nearest heading-like element before the body whose text the CMS also wrote
    into <title>; any element echoing a good share of <title>; the nearest heading-like
    element before the body; <h1>, og:title, the headline part of <title>. A site or column
    name (the parts of <title> such as 新闻动态, 滨河市人民政府网, Example Blog) is never
    an echo: logos and breadcrumbs repeat it.
    """
    node = doc.find(".//title")
    page_title = _squash(_text(node)) if node is not None else ""
    if not page_title and doc.tag == "text":  # a page saved in a corpus wrapper: <text title="…">
        page_title = _squash(doc.get("title") or "")
    og = [_squash(x) for x in doc.xpath('//meta[@property="og:title"]/@content')]
    headline_part, site_parts = _title_parts(page_title)
    near = _headings_before(doc, body_node) if body_node is not None else []

    def echoes(text: str) -> bool:
        if text == headline_part and len(text) >= 2:
            return True
        if len(text) < 4 or not (text in page_title or text in og):
            return False
        return not any(text in part for part in site_parts) or (headline_part is not None and text in headline_part)

    for text, _ in reversed(near):
        if echoes(text):
            return text
    best, best_score = None, 0.0
    titles = page_title + "\n" + "\n".join(og)
    for heading in doc.iter("h1", "h2", "h3", "h4", "h5", "strong", "b", "font", "span", "div", "td", "p", "a"):
        # most elements cannot echo <title>: their first characters are not in it (a cheap test
        # before the costly one, on pages of thousands of elements)
        probe = (heading.text or "").strip() or next((c.text.strip() for c in heading if c.text and c.text.strip()), "")
        if probe and probe[:2] not in titles and not _SUBJECT.match(probe):
            continue
        if any(isinstance(child.tag, str) and child.tag in _CONTAINERS for child in heading):
            continue  # a headline element holds inline text, not blocks
        text = _subject(_squash(_text(heading)))
        if not (echoes(text) and len(text) <= 80 and (len(text) >= 0.4 * len(page_title) or text in og
                                                       or text == headline_part)):
            continue
        # the headline, not the site name: Chinese headlines outweigh Latin site names of equal length
        score = len(text) + len(_CJK.findall(text)) + (20 if heading.tag in ("h1", "h2") else 0)
        if score > best_score:
            best, best_score = text, score
    if best is None and near:
        marked = [text for text, is_marked in near if is_marked]
        best = marked[-1] if marked else near[-1][0]
    if best is None:
        best = next((t for h in doc.iter("h1", "h2") if 4 <= len(t := _subject(_squash(_text(h)))) <= 80
                     and not _is_link_only(h)), None)
    return best or (og[0] if og else None) or headline_part or page_title or None


# <title> parts: 标题 - 频道 - 网站, 网站 - 标题, 栏目--网站
_TITLE_SEPARATOR = re.compile(r"\s*(?:--|——|::|\s[-–—]\s|[_|｜]|-(?=\S))\s*")
# what a site or column name ends with (the parts of <title> that are not the headline)
_SITE_NAME = re.compile(r"(?:网|網|网站|官网|门户|频道|论坛|博客|blog|政府|新闻|新聞|动态|动向|百科全书|娱乐|首页|中心)$", re.I)
# an old bulletin board's subject line: 主题：…
_SUBJECT = re.compile(r"^(?:主题|主題|标题|標題)\s*[:：]\s*")


def _title_parts(page_title: str) -> tuple[str | None, list[str]]:
    """(the headline part of <title> or None, the site and column names in it)."""
    parts = [p for p in _TITLE_SEPARATOR.split(page_title) if p and p.lower() != "null"]
    if len(parts) < 2:
        site = bool(parts) and bool(_SITE_NAME.search(parts[0]))
        return (None, parts) if site else (parts[0] if parts else None, [])
    any_cjk = any(_CJK.search(p) for p in parts)
    site_parts = [p for p in parts if _SITE_NAME.search(p) or "." in p or (any_cjk and not _CJK.search(p))]
    headline = next((p for p in parts if p not in site_parts), None)
    return headline, site_parts


def _subject(text: str) -> str:
    return _SUBJECT.sub("", text)


# containers of what readers add or what surrounds an article, never its body (as in readability)
_UNLIKELY = re.compile(r"comment|reply|feedback|pinglun|gentie|sidebar|related|footer|recommend", re.I)
_CONTAINERS = {"div", "table", "tbody", "tr", "td", "ul", "ol", "li", "p", "section", "article", "form", "dl"}
_TITLE_CLASS = re.compile(r"title|heading|headline|biaoti|^bt|_bt|tit\b", re.I)


def _headings_before(doc, body_node) -> list[tuple[str, bool]]:
    """Headline-like texts before the body, in page order, as (text, marked by tag or class);
    when there are none, those in the first elements of the body."""
    found: list[tuple[str, bool]] = []
    inside = 0
    for element in doc.iter():
        if element is body_node:
            if found:
                break
            inside = 1
        if inside:
            inside += 1
            if inside > 12:
                break
        if not isinstance(element.tag, str):
            continue
        marked = bool(element.tag in ("h1", "h2", "h3", "h4", "h5") or _TITLE_CLASS.search(
            f"{element.get('class') or ''} {element.get('id') or ''}"))
        if not marked and element.tag not in ("strong", "b", "font"):
            continue
        text = _squash(_text(element))
        if _SUBJECT.match(text):  # a board's subject line: <b>主题：</b>the subject
            if not _subject(text) and element.getparent() is not None:
                text = _squash(_text(element.getparent()))
            text, marked = _subject(text), True
        if 4 <= len(text) <= 80 and not _SENTENCE_END.search(text[:-1]) and not _FIELD.search(text):
            found.append((text, marked))
    return found


def _is_link_only(node) -> bool:
    """A heading that is all link (a site logo, a column name) rather than a headline."""
    link_text = sum(len(_squash(_text(a))) for a in node.iter("a"))
    return link_text >= len(_squash(_text(node))) > 0


def _strip_title_suffix(title: str) -> str:
    """Drop a site name appended to a headline: 标题_潍坊市人民政府, 标题 - 新华网, 标题--雅虎新闻."""
    title = _PRIVATE_USE.sub("", title).strip()  # GBK user-defined glyphs: nothing a reader sees
    for _ in range(2):
        m = _TITLE_SUFFIX.search(title)
        if not m or m.start() < 4 or _UNBALANCED.search(m.group()):
            break  # a dash inside 【DVDSCR-RMVB】 is part of the headline
        title = title[:m.start()].rstrip()
    return title


def _clean_source(value: str) -> str | None:
    """The outlet's name alone: pages run widgets, dates and counters on after it."""
    value = value.strip(" 　:：|｜[]【】()（）")
    if "=" in value or '"' in value:  # attribute debris from broken markup, not a name
        return None
    if _CJK.search(value):  # Chinese outlet names have no spaces: what follows one is not the name
        value = value.split()[0].strip(" 　:：|｜[]【】()（）")
    if value in _NOT_OUTLETS:
        return None
    return value or None


_NOT_OUTLETS = {"转载", "轉載", "转载文章", "原创", "原創", "本站", "本网", "本網", "网络", "網絡"}
# an outlet named after a dateline: 2005年03月31日03:18 北京娱乐信报
_OUTLET_AFTER_DATE = re.compile(r"(?:\d{1,2}:\d{2}(?::\d{2})?|\d{1,2}日)\s*(?P<source>[\u4e00-\u9fff]{2,10}"
                                r"(?:报|報|网|網|社|台|刊|杂志|雜誌|新闻|新聞))$")


_ORGANISATION = re.compile(r"贡献者|貢獻者|编辑部|編輯部|[Cc]ontributors|集团|集團|出版社|网络|網絡|公司|报社|報社|传媒|傳媒|中心|网站|網站|[网網台臺报報社]$|Team|Inc|Ltd|Press|[_\d@]")


_WIDGET_WORDS = {"分享", "打印", "收藏", "评论", "評論", "关闭", "關閉", "字号", "字號", "转发", "轉發", "点赞", "點讚"}


def _looks_like_people(value: str) -> bool:
    """Names of people rather than of an organisation or an account."""
    names = _names(value)
    return bool(names) and not any(_ORGANISATION.search(name) for name in names)


# after 本报记者, four characters with no separator are two names far more often than one
# (compound surnames 欧阳 司马 … aside): newspapers run their reporters together, 张岩刘畅
_TWO_NAMES_RUN_ON = re.compile(r"^(?!欧阳|司马|诸葛|上官|东方|皇甫|令狐|慕容|尉迟|公孙|夏侯|端木|长孙|宇文|司徒|澹台)"
                               r"[\u4e00-\u9fff]{4}$")


def _byline_names(m: re.Match) -> str:
    """The names of a byline match, run-on pairs split: 本报记者张岩刘畅 -> 张岩、刘畅."""
    names = m.group("names")
    return f"{names[:2]}、{names[2:]}" if _TWO_NAMES_RUN_ON.match(names) else names


def _names(value: str) -> list[str]:
    """Person names from a byline value: 张三、李四 / 张三 李四 / 周思博 (Joel Spolsky)."""
    names = []
    for part in _NAME_SPLIT.split(_strip_label(value)):
        # spaces separate Chinese names, but belong inside a Latin one
        part = part.strip("：: ")
        pieces = part.split() if re.fullmatch(r"[\u4e00-\u9fff·]+(?:\s+[\u4e00-\u9fff·]+)*", part) else [part]
        for name in pieces:
            name = _REPORTER_ROLE.sub("", name).strip("：: ")
            if name in _WIDGET_WORDS:
                continue
            if name and name not in names and len(name) <= 24 and not re.search(r'[=":<>]', name):
                names.append(name)
    return names
