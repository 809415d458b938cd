"""The headline: guessed from the page's heading elements and <title>, whose site and column
names (滨河市人民政府网, 新闻动态) are told from its headline part and stripped."""

from __future__ import annotations

import re

from crawler.extract.document import CJK, SENTENCE_END, squash, text_of
from crawler.extract.labels import FIELD
from crawler.extract.vocabulary import words

# the last separator, then a short site name
_TITLE_SUFFIX = re.compile(r"\s*(?:[_|｜]|--|\s[-–—]\s|-(?=[^-\s]{2,12}$))\s*[^_|｜]{1,20}$")
_UNBALANCED = re.compile(r"^[^【（(「《]*[】）)」》]")  # rule-usage: general because a closing bracket before any opening one is a cut title fragment, a property of the text
_MARKUP = re.compile(r"</?[a-zA-Z][^<>]*>")  # rule-usage: general because tags escaped into a title's text are HTML markup, never a headline's words, any CMS
_DECORATION = re.compile(r"^[*■□●○◆◇★☆▲△▶►※·•\s]+(?=\S)")  # rule-usage: general because leading bullets and stars are Unicode decoration symbols, not headline words
# a site or column name is a name: a part of <title> with these is the headline (新华视界｜河北遵化：…)
_SENTENCE_MARKS = re.compile(r"[，、“”！？。；：]")  # rule-usage: general because Chinese sentence punctuation marks a headline, never a site or column name
_CATEGORY = re.compile(r"[\[【][^\]】]{1,12}[\]】]\s*")  # rule-usage: general because a 【栏目】/[分类] prefix is the column tag portals, blogs and boards put before headlines
_DATE_ONLY = re.compile(r"^[\d\s年月日:：/.\-]+$")
_PRIVATE_USE = re.compile(r"[\ue000-\uf8ff]")  # rule-usage: general because private-use code points are icon-font glyphs (iconfont, Font Awesome), never text
# <title> parts: 标题 - 频道 - 网站, 网站 - 标题, 栏目--网站
_TITLE_SEPARATOR = re.compile(r"\s*(?:--|——|::|\s[-–—]\s|[_|｜>»]|-(?=\S))\s*")
# what a site or column name ends with (the parts of <title> that are not the headline)
_SITE_NAME = re.compile(rf"(?:{words('site_name_endings')})$", re.I)
# an old bulletin board's subject line: 主题：…
_SUBJECT = re.compile(rf"^(?:{words('subject_labels')})\s*[:：]\s*")
_CONTAINERS = {  # rule-usage: lexicon; general because these are HTML's elements that hold blocks
    "div", "table", "tbody", "tr", "td", "ul", "ol", "li", "p", "section", "article", "form", "dl"}
_TITLE_CLASS = re.compile(r"title|heading|headline|biaoti|^bt|_bt|tit\b", re.I)  # rule-usage: general because the class names CMSs give headline elements, English and pinyin (biaoti, bt)


def guess_title(doc, body_node=None) -> str | None:
    """The page's headline.

    In order: the nearest heading-like element before the body whose text the CMS also wrote
    into <title>; any element echoing a good share of <title>; the nearest heading-like
    element before the body; <h1>, og:title, the headline part of <title>. A site or column
    name (the parts of <title> such as 新闻动态, 滨河市人民政府网, Example Blog) is never
    an echo: logos and breadcrumbs repeat it.
    """
    node = doc.find(".//title")
    page_title = squash(text_of(node)) if node is not None else ""
    if not page_title and doc.tag == "text":  # a page saved in a corpus wrapper: <text title="…">
        page_title = squash(doc.get("title") or "")
    og = [squash(x) for x in doc.xpath('//meta[@property="og:title"]/@content')]
    headline_part, site_parts = _title_parts(page_title)
    if headline_part and headline_part in _menu_links(doc):
        site_parts, headline_part = site_parts + [headline_part], None  # 网站>栏目: a column, in the menu
    near = _headings_before(doc, body_node) if body_node is not None else []
    # a headline the body repeats as its first line, less a category link before it: [文化]标题
    first = next((line for t in body_node.itertext() if (line := squash(t))), "") if body_node is not None else ""
    if len(first) >= 4 and any(text.endswith(first) and _CATEGORY.fullmatch(text[:-len(first)]) for text, _ in near):
        return first

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
        text = _subject(squash(text_of(heading)))
        if not (echoes(text) and len(text) <= 80 and (len(text) >= 0.4 * len(page_title) or text in og
                                                       or text == headline_part)):
            continue
        # the headline, not the site name: Chinese headlines outweigh Latin site names of equal length
        score = len(text) + len(CJK.findall(text)) + (20 if heading.tag in ("h1", "h2") else 0)
        if score > best_score:
            best, best_score = text, score
    if best is None and near:
        marked = [text for text, is_marked in near if is_marked]
        best = marked[-1] if marked else near[-1][0]
    if best is None:
        best = next((t for h in doc.iter("h1", "h2") if 4 <= len(t := _subject(squash(text_of(h)))) <= 80
                     and not _is_link_only(h)), None)
    return best or (og[0] if og else None) or headline_part or page_title or None


def _title_parts(page_title: str) -> tuple[str | None, list[str]]:
    """(the headline part of <title> or None, the site and column names in it)."""
    parts = [p for p in _TITLE_SEPARATOR.split(page_title) if p and p.lower() != "null"]
    if len(parts) == 1 and _SITE_NAME.search(parts[0]) and CJK.search(parts[0]):
        parts = parts[0].split()  # 标题 blogger  天极Blog: spaces set the site's words apart
    if len(parts) < 2:
        site = bool(parts) and bool(_SITE_NAME.search(parts[0]))
        return (None, parts) if site else (parts[0] if parts else None, [])
    any_cjk = any(CJK.search(p) for p in parts)
    site_parts = [p for p in parts if _SITE_NAME.search(p) or "." in p or (any_cjk and not CJK.search(p))]
    headline = next((p for p in parts if p not in site_parts), None)
    return headline, site_parts


def _menu_links(doc) -> set[str]:  # rule-usage: general because links set side by side (menus, breadcrumbs) are structure, not one site's words
    """Texts of links set side by side with others (a menu, a breadcrumb): column names."""
    return {squash(text_of(a)) for parent in doc.xpath("//*[count(a) >= 3]") for a in parent.iterchildren("a")}


def _subject(text: str) -> str:
    return _SUBJECT.sub("", text)


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
        text = squash(text_of(element))
        if _SUBJECT.match(text):  # a board's subject line: <b>主题：</b>the subject
            if not _subject(text) and element.getparent() is not None:
                text = squash(text_of(element.getparent()))
            text, marked = _subject(text), True
        if 4 <= len(text) <= 80 and not SENTENCE_END.search(text[:-1]) and not FIELD.search(text) \
                and not _DATE_ONLY.match(text):  # a calendar's month, a dateline
            found.append((text, marked))
    return found


def _is_link_only(node) -> bool:
    """A heading that is all link (a site logo, a column name) rather than a headline."""
    link_text = sum(len(squash(text_of(a))) for a in node.iter("a"))
    return link_text >= len(squash(text_of(node))) > 0


def strip_title_suffix(title: str) -> str:
    """Drop a site name appended to a headline: 标题_潍坊市人民政府, 标题 - 新华网, 标题--雅虎新闻;
    and what is not the headline's words: markup a CMS wrote into it with the subtitle that
    markup sets apart (标题<div>——副标题</div>), leading decoration (*, ■)."""
    title = _PRIVATE_USE.sub("", title).strip()  # GBK user-defined glyphs: nothing a reader sees
    if _MARKUP.search(title):
        pieces = [squash(p) for p in _MARKUP.split(title)]
        title = "".join(p for i, p in enumerate(pieces) if not (i and p.startswith(("——", "--"))))
    title = _DECORATION.sub("", title)
    for _ in range(2):
        m = _TITLE_SUFFIX.search(title)
        if not m or m.start() < 4 or _UNBALANCED.search(m.group()) or _SENTENCE_MARKS.search(m.group()):
            break  # a dash inside 【DVDSCR-RMVB】 is part of the headline; a site name has no commas
        title = title[:m.start()].rstrip()
    return title
