"""Credits: bylines (本报记者 张三 李四, （记者 王五）, 石佳/中国青年报), the names in a credit's
value, and whether a value names people rather than an organisation."""

from __future__ import annotations

import re

from crawler.extract.document import SENTENCE_END, squash, text_of
from crawler.extract.labels import strip_label
from crawler.extract.vocabulary import VOCABULARY, words

LEAD_REPORTERS = re.compile(rf"^.{{0,30}}?(?:{words('lead_words')})\s*[（(](?P<names>[^）)]{{2,40}})[）)]")
_NAME_SPLIT = re.compile(r"\s*[、,，;；/&＆]\s*")
_NAMES = r"[\u4e00-\u9fff·]{2,5}(?:[\s、,，&＆]+[\u4e00-\u9fff·]{2,5}){0,5}"
# a line that is only a byline: 本报记者 张三 李四, □ 记者 王五 发自北京, 执笔/甲、乙
BYLINE = re.compile(rf"^[□■●◆\s]*(?:{words('byline_outlet_prefixes')})?(?:{words('byline_rank_prefixes')})?"
                    rf"(?:{words('byline_roles')})\s*[:：/]?\s*(?P<names>{_NAMES})\s*"
                    rf"(?:发自\S{{2,6}}|發自\S{{2,6}}|报道|報道)?$")
# a closing credit in brackets: （袁源） （记者 张三）
_ROLES_IN_BRACKETS = rf"[\u4e00-\u9fff]{{0,6}}?(?:{words('bracket_roles')})|{words('bracket_bare_roles')}"
# WeChat-style closing credit: 经过文刃重新编排, 由张三整理
EDITED_BY = re.compile(r"^(?:经过|經過|经|經|由)(?P<names>[\u4e00-\u9fff]{2,4}?)(?:重新)?(?:编排|編排|编辑|編輯|整理)$")
NOT_NAMES = re.compile(rf"^(?:{words('not_names')})$")
BRACKET_BYLINE = re.compile(rf"^[（(]\s*(?:{_ROLES_IN_BRACKETS})?\s*(?P<names>{_NAMES})\s*[)）]$")
# the same closing credit run on at the end of the last paragraph: …信息交流。(信报记者 蔡雪婧)
TRAILING_BYLINE = re.compile(rf"[。！？”][（(]\s*(?:{_ROLES_IN_BRACKETS})?\s*(?P<names>{_NAMES})\s*[)）]\s*$")
BARE_NAME = re.compile(r"^[\u4e00-\u9fff·]{2,4}$|^[\u4e00-\u9fff·]{2,3}(?:[、\s][\u4e00-\u9fff·]{2,3}){1,4}$")
# 澎湃-style byline under the headline: 石佳/中国青年报
NAME_SOURCE = re.compile(r"^(?P<names>[\u4e00-\u9fff·]{2,4})\s*/\s*(?P<source>[\u4e00-\u9fffA-Za-z]{2,14})$")
_REPORTER_ROLE = re.compile(rf"^({words('name_role_prefixes')})")
ORGANISATION = re.compile(rf"{words('organisation_words')}|(?:{words('organisation_endings')})$|[_\d@]")
_WIDGET_WORDS = frozenset(VOCABULARY["widget_words"])
# after 本报记者, four characters with no separator are two names far more often than one
# (compound surnames 欧阳 司马 … aside): newspapers run their reporters together, 张岩刘畅
_TWO_NAMES_RUN_ON = re.compile(rf"^(?!{words('compound_surnames')})[\u4e00-\u9fff]{{4}}$")
# a bulletin board's link to a member's profile: the poster, on a forum page (Discuz, phpwind,
# NetEase, ZOL, Yahoo boards)
_PROFILE_LINK = re.compile(r"(?:^|/)(?:user|list_user|u|profile|space|member)\.php\?\S*?\b(?:userid|uid|lookuserid|"
                           r"username|id)=|/people\?u=|space-uid-\d+|home\.php\?mod=space\S*?uid=", re.I)


def looks_like_people(value: str) -> bool:
    """Names of people rather than of an organisation or an account."""
    found = names(value)
    return bool(found) and not any(ORGANISATION.search(name) for name in found)


def byline_names(m: re.Match) -> str:
    """The names of a byline match, run-on pairs split: 本报记者张岩刘畅 -> 张岩、刘畅."""
    value = m.group("names")
    return f"{value[:2]}、{value[2:]}" if _TWO_NAMES_RUN_ON.match(value) else value


def names(value: str) -> list[str]:
    """Person names from a byline value: 张三、李四 / 张三 李四 / 周思博 (Joel Spolsky)."""
    out = []
    for part in _NAME_SPLIT.split(strip_label(value)):
        # spaces separate Chinese names, but belong inside a Latin one
        part = part.strip("：: ")
        pieces = part.split() if re.fullmatch(r"[\u4e00-\u9fff·]+(?:\s+[\u4e00-\u9fff·]+)*", part) else [part]
        for name in pieces:
            name = _REPORTER_ROLE.sub("", name).strip("：: ")
            if name in _WIDGET_WORDS:
                continue
            if name and name not in out and len(name) <= 24 and not re.search(r'[=":<>]', name):
                out.append(name)
    return out


def forum_poster(doc, body_node) -> list[tuple[str, str]]:
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
            text = squash(text_of(element))
            if 2 <= len(text) <= 30 and not SENTENCE_END.search(text):
                poster = text
    return [("reporters", poster)] if poster else []
