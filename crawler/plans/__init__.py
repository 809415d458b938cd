"""Is this document a plan release, and of which plan, at which stage? Pure functions over a
title (an article's, an attachment's link text or a PDF's first lines); the rules are data
in rules.yaml, read once.

    >>> match = detect_plan("滨河市人民政府关于印发滨河市国民经济和社会发展第十四个五年规划"
    ...                     "和二〇三五年远景目标纲要的通知", region="山东省滨河市")
    >>> match.stage, match.period, match.kind, match.topic
    ('final', '十四五', 'general', '国民经济和社会发展')

A release is identified by region + plan (period and topic) + stage: the 纲要 announced in an
article and its PDF attachment are one release; a re-post on another site is no new release.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

from textnorm import simplified

NUMERALS = "一二三四五六七八九"
TITLE_PAGE_LINES = 4
TITLE_LINE_CHARS = 60  # a title page's line; a body's paragraphs run longer
GENERAL = "国民经济和社会发展"  # the topic of the general plan (纲要); every other topic is a 专项规划
NAME = r"[^《》，,。:：;；!！?？、]*?(?:规划纲要|规划|纲要|远景目标)(?:[(（]\d{4}[—–\-~至]\d{4}年?[)）])?"
ADMIN_UNIT = re.compile(r".+?(?:特别行政区|自治区|自治州|自治县|省|市|州|盟|地区|区|县|旗)")


@dataclass(frozen=True)
class Stage:
    stage: str
    label: str
    frames: tuple[re.Pattern, ...]
    matches: tuple[str, ...]


@dataclass(frozen=True)
class Veto:
    pattern: re.Pattern
    why: str
    examples: tuple[str, ...]


@dataclass(frozen=True)
class PlanRules:
    stages: tuple[Stage, ...]
    name_requires: re.Pattern
    name_excludes: re.Pattern
    vetoes: tuple[Veto, ...]


@dataclass(frozen=True)
class PlanMatch:
    stage: str  # midterm_review | revision | consultation | draft | proposal | final
    stage_label: str  # 中期评估, 征求意见稿 ...
    plan_name: str  # as the title gives it (simplified script, no spaces)
    period: str  # 十四五, or the plan's own span of years (2026-2035), or ""
    topic: str  # what the plan covers: 国民经济和社会发展, 交通运输发展 ...
    kind: str  # general (the 国民经济和社会发展 纲要) | special (专项规划)

    @property
    def plan_key(self) -> str:
        """What stays the same across a plan's stages and the sites that post it."""
        return f"{self.period}|{self.topic}"


def parse_rules(text: str) -> PlanRules:
    data = yaml.safe_load(text)
    name = f"(?P<name>{NAME})"
    stages = tuple(
        Stage(s["stage"], s["label"],
              tuple(re.compile(f.replace("{name}", name)) for f in s.get("frames", ()))
              + tuple(re.compile(f"{name}》?(?:{phrase})") for phrase in s.get("after_name", ())),
              tuple(s.get("matches", ())))
        for s in data["stages"])
    vetoes = tuple(Veto(re.compile(v["pattern"]), v["why"], tuple(v.get("not", ()))) for v in data["vetoes"])
    return PlanRules(stages, re.compile(data["name_requires"]), re.compile(data["name_excludes"]), vetoes)


@cache
def default_rules() -> PlanRules:
    return parse_rules(resources.files("crawler.plans").joinpath("rules.yaml").read_text(encoding="utf-8"))


_SPACE = re.compile(r"\s+")
_EXTENSION = re.compile(r"\.(?:pdf|docx?|wps|xlsx?|ofd|txt|html?)$", re.I)
_ATTACHMENT_PREFIX = re.compile(r"^附件\d*[:：.．]?")
_REPOST_LABEL = re.compile(r"[(（【\[]\d{4}年?(?:最新)?(?:更新|修正)版?[)）】\]]$")


def normalise_title(title: str) -> str:
    text = _SPACE.sub("", simplified(title)).replace("○", "〇")
    text = _EXTENSION.sub("", text)
    text = _ATTACHMENT_PREFIX.sub("", text)
    return _REPOST_LABEL.sub("", text)


def detect_plan(title: str, *, text: str | None = None, region: str = "",
                rules: PlanRules | None = None) -> PlanMatch | None:
    """The plan release this title announces, or None (news about a plan, a work plan ...).

    `text` is the document's text (an attachment's, an article's body, an imported dump's),
    read when the title names no plan ("附件1", "规划全文", a re-poster's garbled title) and
    is no news about one: its title block, joined, as a title page breaks a long name over
    lines. Only that block counts: a body's sentences mentioning a plan make no release.
    """
    rules = rules or default_rules()
    title = title or ""
    if (match := _detect_title(title, region, rules)) is not None or not text or _is_news(title, rules):
        return match
    block = title_block(text)
    for end in range(len(block), 0, -1):  # the whole block first: its last line may be the stage
        if (match := _detect_title("".join(block[:end]), region, rules)) is not None:
            return match
    return None


_SENTENCE = re.compile(r"[。！？；，!?;,]")


def title_block(text: str) -> list[str]:
    """The lines a text opens with that read as a title: short, no sentence punctuation
    (a mojibake `?` ends it too: a garbled line names nothing reliably)."""
    block = []
    for line in text.strip().splitlines():
        line = _SPACE.sub("", line)
        if not line:
            continue
        if len(block) == TITLE_PAGE_LINES or len(line) > TITLE_LINE_CHARS or _SENTENCE.search(line):
            break
        block.append(line)
    return block


def _detect_title(title: str, region: str, rules: PlanRules) -> PlanMatch | None:
    text = normalise_title(title)
    if "规划" not in text and "纲要" not in text and "远景目标" not in text:
        return None
    for stage in rules.stages:
        for frame in stage.frames:
            found = frame.search(text)
            if found is None:
                continue
            name = _trim_name(found.group("name"))
            if not rules.name_requires.search(name) or rules.name_excludes.search(name):
                continue
            if _is_news(title, rules):
                return None
            period, topic = plan_identity(name, region)
            if not topic:
                if not period:  # "规划纲要全文": which plan? the text has to say
                    continue
                topic = GENERAL  # "长宁区“十四五”规划纲要" is the region's general plan
            kind = "general" if topic == GENERAL else "special"
            return PlanMatch(stage.stage, stage.label, name, period, topic, kind)
    return None


_QUOTED = re.compile(r"《[^》]*》")
_LEADING = re.compile(r"^.*?关于(?:印发|制定|公开征求|征求|调整|修订|修改|公布|发布|颁布|对)?《?")


def _is_news(title: str, rules: PlanRules) -> bool:
    """A veto's words outside 《》: words inside belong to a name (会议会展业发展规划)."""
    text = _QUOTED.sub("", normalise_title(title))
    return any(veto.pattern.search(text) for veto in rules.vetoes)


def _trim_name(name: str) -> str:
    """The plan's own name out of the text a frame caught: no 关于印发… lead-in, no brackets."""
    return _LEADING.sub("", name).strip("《》“”\"") if "关于" in name else name.strip("《》“”\"")


def _numeral(n: int) -> str:
    return "十" + (NUMERALS[n - 11] if n > 10 else "")


_FYP_ORDINAL = re.compile(rf"第?(十[{NUMERALS}]?)个五年|(十[{NUMERALS}]?)五(?=规划|时期|期间|”|\"|发展|$)")
_YEARS = re.compile(r"[(（]?(\d{4})[—–\-~至](\d{4})年?[)）]?")
_VISION = re.compile(r"和?(?:二[〇零]三五|2035)年远景目标")
_NOT_TOPIC = re.compile(r"[“”\"《》'‘’]|规划纲要$|纲要$|专项规划$|总体规划$|规划$|远景目标$")


def plan_identity(name: str, region: str = "") -> tuple[str, str]:
    """(period, topic) of a plan name: 十四五 / 2026-2035, and what it covers without region,
    period and the word 规划 (empty when nothing is left). The general plan's topic is GENERAL."""
    period = ""
    years = _YEARS.search(name)
    if years:
        start, end = int(years.group(1)), int(years.group(2))
        if end - start == 4 and (start - 2021) % 5 == 0:  # the five-year plans: 2021-2025 is 十四五
            period = _numeral(14 + (start - 2021) // 5) + "五"
        else:
            period = f"{start}-{end}"
    if ordinal := _FYP_ORDINAL.search(name):
        period = (ordinal.group(1) or ordinal.group(2)) + "五"
    if GENERAL in name:
        return period, GENERAL
    topic = _strip_region(_VISION.sub("", _YEARS.sub("", _FYP_ORDINAL.sub("", name))), region)
    while (stripped := _NOT_TOPIC.sub("", topic)) != topic:
        topic = stripped
    return period, topic


def _strip_region(name: str, region: str) -> str:
    """Drop the site's region and its parts (山东省, 滨河市, 滨河) from the start of a name."""
    units = ADMIN_UNIT.findall(region)
    prefixes = sorted(set(units) | {u[:-1] for u in units if len(u) > 2}, key=len, reverse=True)
    while prefix := next((p for p in prefixes if name.startswith(p)), None):
        name = name[len(prefix):]
    return name
