"""Credits: who wrote, photographed, edited or supplied an article, read by the grammar of
credit lines (credits.yaml) and checked by recognising what a person's name looks like.

A credit is `[outlet][rank] ROLE [separator] NAMES [report suffix]` (本报记者 张三 李四 北京报道,
光明日报记者 王五, 【编辑:赵六】) or `NAMES [/] ROLE` (孙七 摄, 周八/文, 药剂科供稿). A line at the
body's edges made of credits and nothing else leaves the body; a lead's brackets
(本报讯（记者 张三）) and a closing bracket after the last sentence (（张三 上海报道）) are read
where they stand. A name that a role word vouches for only has to look like a name and not
like a phrase; a name no label vouches for must be one that the word tagger (jieba's, wordtags.py) tags as a
person's name, or 2-3 characters led by a surname (surnames.yaml): the tagger misses given
names with rare characters (王喆, 张珺).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from crawler.extract import wordtags
from crawler.extract.document import SENTENCE_END, squash, text_of
from crawler.extract.labels import strip_label
from crawler.extract.vocabulary import one_of, read_data, words

_GRAMMAR = read_data("credits.yaml")
_SURNAMES = read_data("surnames.yaml")
ROLES = ("reporters", "photographers", "editors", "contributors")  # rule-usage: general because the four roles of the credit grammar (issue 12 part 1); 供稿/来稿/整理 credit contributors on any outlet


def _role_words(table: dict) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for role, role_words in table.items():
        for word in role_words:
            out[word] = out.get(word, ()) + (role,)
    return out


_COMBINED = {word: tuple(roles) for word, roles in _GRAMMAR["combined_roles"].items()}
_BEFORE = _role_words(_GRAMMAR["roles_before"]) | _COMBINED
_AFTER = _role_words(_GRAMMAR["roles_after"]) | _COMBINED
_WITH_OUTLET = tuple(_GRAMMAR["roles_with_outlet"])


def _longest_first(items) -> str:
    return one_of(sorted(set(items), key=len, reverse=True))


# a role word of two or more characters inside a run of text (本报记者张三, 药剂科供稿); one
# character (文 图 摄) is a role only standing alone, or 摄 closing a name (张三摄)
_ROLE_INSIDE = re.compile(_longest_first(w for w in {*_BEFORE, *_AFTER} if len(w) > 1))
# a role written onto a labelled name: 作者：记者张三
_ROLE_PREFIX = re.compile(rf"^(?:{_longest_first(w for w in _BEFORE if len(w) > 1)})")  # rule-usage: general because a label's value that repeats the role (作者：记者张三) is the credit grammar, any outlet
_SEPARATORS = "".join(re.escape(s) for s in _GRAMMAR["separators"])
_NO_NAMES = _longest_first(_GRAMMAR["credits_without_names"])
_TOKEN = re.compile(rf"{_longest_first(_COMBINED)}|{_NO_NAMES}|[^{_SEPARATORS}\s]+?(?={_NO_NAMES}|[{_SEPARATORS}\s]|$)")
_NAMELESS = frozenset(_GRAMMAR["credits_without_names"])
_OUTLET = re.compile(rf"^[\u4e00-\u9fff·A-Za-z]{{1,12}}(?:{_longest_first(_GRAMMAR['outlet_endings'])})$")  # rule-usage: general because an outlet is a name ending in 报/社/台/网/新闻… (outlet_endings), the credit grammar of any paper
_REPORT_FROM = re.compile(rf"^(?:(?:{one_of(_GRAMMAR['report_from_before'])})[\u4e00-\u9fff]{{2,8}}"  # rule-usage: general because 发自X / X报道 dateline suffixes follow reporters' names in all Chinese news
                          rf"|[\u4e00-\u9fff]{{0,8}}(?:{one_of(_GRAMMAR['report_from_after'])}))$")
_REPORT_FROM_GLUED = re.compile(rf"^(?P<names>[\u4e00-\u9fff]{{2,8}}?)(?P<place>(?:{one_of(_GRAMMAR['report_from_before'])})"
                                rf"[\u4e00-\u9fff]{{2,8}})$")
_PHOTO_GLUED = re.compile(r"^(?P<names>[\u4e00-\u9fff]{2,4})(?:摄|攝)$")
_BRACKETED = re.compile(r"^[（(【\[〔](?P<inner>.*)[）)】\]〕]$")  # rule-usage: general because credits set in brackets （记者 张三） are the standard closing credit of Chinese news
_BULLETS = " 　□■●◆▲★·•-—"
_BRACKETS = "：: （）()【】[]〔〕"
LEAD = re.compile(rf"^(?P<lead>.{{0,40}}?(?:{one_of(_GRAMMAR['lead_endings'])}))\s*[（(](?P<inner>[^（()）]{{2,60}})[）)]")
# a closing credit run on at the end of the last paragraph: …信息交流。（记者 张三）
_CLOSING = re.compile(r"[。！？!?”」』…）)]\s*[（(](?P<inner>[^（()）]{2,40})[）)]\s*$")  # rule-usage: general because a bracketed credit run on after the last sentence is the same closing credit without a line break

_CJK_NAME = re.compile(r"^[\u4e00-\u9fff]{2,4}$|^[\u4e00-\u9fff]{1,8}(?:[·・][\u4e00-\u9fff]{1,8}){1,3}$")  # rule-usage: general because the shape of a Chinese name (2-4 characters) or a transliterated one joined by ·
# a label may vouch for a longer account name: 系统管理员
_CJK_VOUCHED = re.compile(r"^[\u4e00-\u9fff]{2,5}$")  # rule-usage: general because a role label vouches for any short CJK account name (system or pen names on blogs, boards, gov sites)
# a Chinese name with its Latin one: 周思博 (Joel Spolsky)
_WITH_LATIN_NAME = re.compile(r"^[\u4e00-\u9fff·]{2,8}\s*[（(][A-Za-z][A-Za-z .\-]{1,40}[)）]$")  # rule-usage: general because translated articles credit the author as 中文名 (Original Name), any translating outlet
_LATIN_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]{1,30}$")
_NOT_NAMES = frozenset(_GRAMMAR["not_names"]) | frozenset(_BEFORE) | frozenset(_AFTER)
_ORGANISATION = re.compile(rf"{_longest_first(_GRAMMAR['organisation_words'])}")
_ORGANISATION_ENDING = re.compile(rf"(?:{one_of(_GRAMMAR['organisation_endings'])})$")
_PHRASE_TAGS = frozenset(_GRAMMAR["phrase_tags"])
_COMMON = _GRAMMAR["common_word_frequency"]
_SINGLE_SURNAMES = frozenset(_SURNAMES["single"].replace(" ", "").replace("\n", ""))
_COMPOUND_SURNAMES = tuple(_SURNAMES["compound"])


@dataclass
class Credits:
    """Names by role, in the order the page gives them, each once."""

    by_role: dict[str, list[str]] = field(default_factory=lambda: {role: [] for role in ROLES})

    def add(self, role: str, name: str) -> None:
        if name not in self.by_role[role]:
            self.by_role[role].append(name)

    def update(self, credits: Iterable[tuple[str, str]]) -> None:
        for role, name in credits:
            self.add(role, name)


# ---- names

@lru_cache(maxsize=8192)
def _tags(token: str) -> tuple[tuple[str, str], ...]:
    return tuple(wordtags.tag(token))


def _surname(token: str) -> str | None:  # rule-usage: general because name recognition by the surname list (issue 12 part 1), no page's words
    if token.startswith(_COMPOUND_SURNAMES):
        return token[:2]
    return token[0] if token[0] in _SINGLE_SURNAMES else None


def _frequency(word: str) -> int:
    return wordtags.frequency(word)


def _tagged_as_name(token: str) -> bool:  # rule-usage: general because name recognition by jieba's nr/nrfg tags (issue 12 part 1), no page's words
    """The tagger reads a name: 马俊峰/nr, 徐睿/nrfg 翔/nr, 王/nr 喆/zg."""
    tags = _tags(token)
    return tags[0][1].startswith("nr") and all(f.startswith("nr") or len(w) == 1 for w, f in tags[1:])


def is_recognised_name(token: str) -> bool:  # rule-usage: general because the person-name recogniser the issue asks for: tagger or surname, any page
    """A person's name by recognition alone: the tagger says so (nr, nrfg) of a word that is
    not a common one (its dictionary tags 文明 and 黄金周 nr too), or 2-3 characters led by a
    surname that the tagger does not read as another word (高兴 is a word)."""
    if not _CJK_NAME.match(token) or token in _NOT_NAMES:
        return False
    if _tagged_as_name(token):
        return _frequency(token) < _COMMON
    surname = _surname(token)
    return bool(surname) and 1 <= len(token) - len(surname) <= 2 and _tags(token)[0][0] == surname


def _reads_as_phrase(token: str) -> bool:
    """Words rather than a name: 返回富达, 学习目的 (a common verb, place or pronoun in it), 新闻
    (a common word); a pen name is a rare word (流泉) or none (叨叨姐)."""
    return not _tagged_as_name(token) and any(
        len(word) > 1 and not flag.startswith("nr") and _frequency(word) >= _COMMON
        and (flag in _PHRASE_TAGS or word == token) for word, flag in _tags(token))


def is_name(token: str, vouched: bool) -> bool:
    """Whether `token` names a person. `vouched`: a role word or label stands before it, so a
    pen name (流泉) or a user's handle (zboygirl) is taken as the page gives it."""
    if token in _NOT_NAMES or _REPORT_FROM.match(token):
        return False
    if _LATIN_NAME.match(token):
        return vouched
    if not vouched:
        return is_recognised_name(token)
    return bool(_CJK_NAME.match(token) or _CJK_VOUCHED.match(token)) and not _reads_as_phrase(token)


def is_organisation(name: str) -> bool:
    """A department or organisation (教育局, 医技药剂党支部, 新闻中心), not a person."""
    return bool(_ORGANISATION.search(name)) or (
        bool(_ORGANISATION_ENDING.search(name)) and (len(name) > 3 or not is_recognised_name(name)))


def _split_run_on(token: str) -> list[str]:
    """Four characters led by a surname, with a name led by a surname in their second half, are
    two names run together (张岩刘畅): a single surname takes a given name of one or two
    characters; a compound surname (欧阳夏丹) or a name of another tradition (格桑边觉) is one."""
    if len(token) == 4 and not token.startswith(_COMPOUND_SURNAMES) and _surname(token) and _surname(token[2:]) \
            and is_recognised_name(token[2:]):
        return [token[:2], token[2:]]
    return [token]


# ---- the grammar

def _pieces(chunk: str) -> list[tuple[str, object]]:
    """A run of text between separators as ("role", word) and ("text", str) pieces:
    本报记者张三 -> role 记者 (the outlet dropped), text 张三."""
    if chunk in _BEFORE or chunk in _AFTER or chunk in _NAMELESS:
        return [("role", chunk)]
    if m := _PHOTO_GLUED.match(chunk):
        return [("text", m.group("names")), ("role", "摄")]
    m = _ROLE_INSIDE.search(chunk)
    if not m or _REPORT_FROM.match(chunk):
        glued = _REPORT_FROM_GLUED.match(chunk)  # 罗科苏盈发自北京
        return [("text", glued.group("names")), ("text", glued.group("place"))] if glued else [("text", chunk)]
    before, word, rest = chunk[:m.start()], m.group(), chunk[m.end():]
    if not before:
        return [("role", word)] + (_pieces(rest) if rest else [])
    if word in _AFTER and not rest:  # 药剂科供稿, 张三采写
        return [("text", before), ("role", word)]
    if word.endswith(_WITH_OUTLET) and word in _BEFORE:  # 光明日报记者, 南都记者, 职工通讯员
        return [("role", word)] + (_pieces(rest) if rest else [])
    return [("text", chunk)]


def parse_credits(line: str, bare_role: str | None = None) -> list[tuple[str, str]] | None:
    """(role, name) for every credit of a line made of credits alone, else None.

    `bare_role`: the role of names no role word introduces, where the place vouches for a
    credit (a lead's brackets, a closing bracket); they must still be recognised as names.
    """
    line = squash(line).strip(_BULLETS)
    if m := _BRACKETED.match(line):
        line = m.group("inner").strip()
    if not line or len(line) > 80 or SENTENCE_END.search(line):
        return None
    pieces = [piece for token in _TOKEN.findall(line) for piece in _pieces(token)]
    groups: list[tuple[tuple[str, ...] | None, list[str]]] = [(None, [])]  # (roles or None, names)
    for index, (kind, value) in enumerate(pieces):
        following = pieces[index + 1] if index + 1 < len(pieces) else None
        roles, names_ = groups[-1]
        if kind == "role":
            names_follow = following is not None and following[0] == "text"
            if value in _BEFORE and names_follow:  # 图/周宁
                groups.append((_BEFORE[value], []))
            elif names_ and value in _AFTER and (roles is None or "photographers" in _AFTER[value]):
                groups[-1] = (_AFTER[value], names_)  # 张三 摄, 本报记者 张三摄: the names before take the role
                groups.append((None, []))
            elif value in _BEFORE:
                groups.append((_BEFORE[value], []))
            else:  # 记者张三 整合: a closing word of the credit before; 受访者供图
                groups.append((None, []))
        elif _REPORT_FROM.match(value):  # 北京报道, 发自上海: a reporter's names end here
            if roles is None and names_:
                groups[-1] = (("reporters",), names_)
            groups.append((None, []))
        elif _OUTLET.match(value) and (following is None or following[0] == "role"
                                       or (index == 0 and bare_role)):
            continue  # 新华网黑龙江频道 记者 …; 济宁台 吴钟亮 in a lead's brackets
        else:
            names_.extend(_split_run_on(value))
    credits = []
    for roles, names_ in groups:
        vouched = roles is not None
        for name in names_:
            if roles == ("contributors",) and len(name) <= 14:
                credits.append(("contributors", name))  # departments supply articles too
                continue
            if not is_name(name, vouched):
                return None
            credits += [(role, name) for role in (roles or (bare_role,)) if role]
    return credits or None


def take_credit_lines(paragraphs: list[str], head: int = 6, tail: int = 8) -> tuple[list[str], Credits]:
    """The body without the credit lines at its edges, and the credits read from them."""
    credits = Credits()
    kept = []
    for index, line in enumerate(paragraphs):
        at_tail = index >= len(paragraphs) - tail
        if index < head or at_tail:
            found = parse_credits(line, "reporters" if at_tail and _BRACKETED.match(line) else None)
            if found:
                credits.update(found)
                continue
        kept.append(line)
    return kept, credits


def credits_in_text(paragraphs: list[str]) -> list[tuple[str, str]]:
    """Credits the text carries where they stand: a lead's brackets (本报讯（记者 张三）) in its
    first lines, a closing bracket after the last sentence (…。（张三 上海报道）)."""
    out = []
    for line in paragraphs[:3]:
        if (m := LEAD.match(line)) and (found := parse_credits(m.group("inner"), "reporters")):
            out += found
            break
    for line in paragraphs[-2:]:
        if (m := _CLOSING.search(line)) and (found := parse_credits(m.group("inner"), "reporters")):
            out += found
    return out


# ---- label values and the page's other candidates

def names(value: str) -> list[str]:
    """Person names from a labelled value: 张三、李四 / 张三 李四 / 记者张三 / 周思博 (Joel Spolsky).
    What runs on after the names (阅读(1660), 返回首页) ends them."""
    out = []
    value = strip_label(value)
    if _WITH_LATIN_NAME.match(value):
        return [value]
    value = value.strip(_BRACKETS)
    for part in _NAME_SPLIT.split(value):
        for name in part.split():
            name = _ROLE_PREFIX.sub("", name).strip(_BRACKETS)
            if not is_name(name, vouched=True):
                return out
            if name not in out:
                out.append(name)
    return out


def settle_credits(found, credits: Credits, fallbacks) -> dict[str, list[str]]:
    """The article's credits: what the page prints (credit lines, leads, label lines, the
    byline under the headline), all of it; where it prints no reporter, the first of the
    page's other candidates (JSON-LD, journal <meta>, a forum's poster, <meta name="author">)
    that names people. <meta name="author"> is often the web editor: never taken when it
    names an editor or an organisation."""
    for role in ("reporters", "editors"):
        if role in found:
            value, origin = found[role]
            for name in names(value):
                # a bare name under the headline has no label, only its place: a Chinese one
                if (origin != "byline" or CJK_ONLY.match(name)) and not is_organisation(name):
                    credits.add(role, name)
    for key, value, origin in fallbacks if not credits.by_role["reporters"] else ():
        if key != "reporters":
            continue
        if origin == "forum":  # a nickname, whole: 夜雨&听风
            candidates = [value]
        else:
            candidates = [n for n in names(value) if not is_organisation(n)
                          and not (origin == "meta-author" and n in credits.by_role["editors"])]
        if candidates:
            credits.update(("reporters", name) for name in candidates)
            break
    return credits.by_role


# ---- the forms body.py reads at the body's edges

_NAME_SPLIT = re.compile(r"\s*[、,，;；/&＆]\s*")
CJK_ONLY = re.compile(r"^[\u4e00-\u9fff]+$")
_NAMES = r"[\u4e00-\u9fff·]{2,5}(?:[\s、,，&＆]+[\u4e00-\u9fff·]{2,5}){0,5}"
# a line that is only a byline: 本报记者 张三 李四, □ 记者 王五 发自北京, 执笔/甲、乙
BYLINE = re.compile(rf"^[□■●◆\s]*(?:{words('byline_outlet_prefixes')})?(?:{words('byline_rank_prefixes')})?"  # rule-usage: general because the grammar of a byline line (outlet, rank, role, names, 发自/报道) printed under headlines
                    rf"(?:{words('byline_roles')})\s*[:：/]?\s*(?P<names>{_NAMES})\s*"
                    rf"(?:发自\S{{2,6}}|發自\S{{2,6}}|报道|報道)?$")
# a closing credit in brackets: （袁源） （记者 张三）
_ROLES_IN_BRACKETS = rf"[\u4e00-\u9fff]{{0,6}}?(?:{words('bracket_roles')})|{words('bracket_bare_roles')}"
# WeChat-style closing credit: 经过文刃重新编排, 由张三整理
EDITED_BY = re.compile(r"^(?:经过|經過|经|經|由)(?P<names>[\u4e00-\u9fff]{2,4}?)(?:重新)?(?:编排|編排|编辑|編輯|整理)$")  # rule-usage: general because 由X整理/编辑 is the sentence form of an editing credit closing reposted and public-account articles
NOT_NAMES = re.compile(rf"^(?:{words('not_names')})$")
BRACKET_BYLINE = re.compile(rf"^[（(]\s*(?:{_ROLES_IN_BRACKETS})?\s*(?P<names>{_NAMES})\s*[)）]$")
# the same closing credit run on at the end of the last paragraph: …信息交流。(信报记者 蔡雪婧)
TRAILING_BYLINE = re.compile(rf"[。！？”][（(]\s*(?:{_ROLES_IN_BRACKETS})?\s*(?P<names>{_NAMES})\s*[)）]\s*$")
BARE_NAME = re.compile(r"^[\u4e00-\u9fff·]{2,4}$|^[\u4e00-\u9fff·]{2,3}(?:[、\s][\u4e00-\u9fff·]{2,3}){1,4}$")
# 澎湃-style byline under the headline: 石佳/中国青年报
NAME_SOURCE = re.compile(r"^(?P<names>[\u4e00-\u9fff·]{2,4})\s*/\s*(?P<source>[\u4e00-\u9fffA-Za-z]{2,14})$")  # rule-usage: general because name/outlet under a headline is how aggregators (澎湃, 网易号, 头条) credit a reprint's author and paper


def byline_names(m: re.Match) -> str:
    """The names of a byline match, run-on pairs split: 本报记者张岩刘畅 -> 张岩、刘畅."""
    return "、".join(_split_run_on(m.group("names")))


# a bulletin board's link to a member's profile: the poster, on a forum page (Discuz, phpwind,
# NetEase, ZOL, Yahoo boards)
_PROFILE_LINK = re.compile(r"(?:^|/)(?:user|list_user|u|profile|space|member)\.php\?\S*?\b(?:userid|uid|lookuserid|"
                           r"username|id)=|/people\?u=|space-uid-\d+|home\.php\?mod=space\S*?uid=", re.I)


_POSTED = re.compile(rf"^\s*(?:{one_of(_GRAMMAR['posted_words'])})")  # rule-usage: general because 发表于 after a poster's name is the post line of Discuz!, oblog and bokee alike (CMS-PATTERNS.md)


def forum_poster(doc, body_node) -> list[tuple[str, str]]:
    """("reporters", nickname) from the last profile link, or link followed by 发表于 (a post's
    header: <a>ggjjzhzz</a> 发表于 2005-9-15), before the post's text (which may be in the post's
    own row, beside the text)."""
    if body_node is None:
        return []
    poster = None
    inside = False
    for element in doc.iter():
        inside = inside or element is body_node
        if inside and len((element.text or "").strip()) > 30:
            break
        if element.tag != "a":
            continue
        text = squash(text_of(element))
        if _PROFILE_LINK.search(element.get("href") or ""):
            if 2 <= len(text) <= 30 and not SENTENCE_END.search(text):
                poster = text
        elif _POSTED.match(element.tail or "") and is_name(text, vouched=True):
            poster = text
    return [("reporters", poster)] if poster else []
