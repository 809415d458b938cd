"""Boilerplate rules as data: load them (from YAML text) and apply them to body paragraphs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from re import _constants as sre  # the parser's node types (Python 3.11+)
from re import _parser as sre_parse

import yaml

from crawler.extract.vocabulary import SAFE_LOADER

ACTIONS = ("drop_line", "drop_rest", "strip")


# a paragraph long enough to be the article's text: a trailer marker before any such line is a
# widget above the text (a comment count, a 相关新闻 tab), not the start of the page's trailer
_TEXT_BEGUN = 20


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern
    action: str
    example: str
    also: tuple[str, ...] = ()  # more forms the rule must match (tests check each)
    keeps: tuple[str, ...] = ()  # article text that looks alike and must pass untouched
    # one of these characters is in every text the pattern matches (None: no such set found);
    # a scan for them is several times cheaper than the pattern's own search
    needs: re.Pattern | None = field(default=None, compare=False)


def parse_rules(text: str) -> tuple[Rule, ...]:
    """Rules from YAML text (`rules: [{name, pattern, action, example}]`)."""
    data = yaml.load(text, Loader=SAFE_LOADER) or {}
    return compile_rules(data.get("rules", []))


def compile_rules(entries: list[dict]) -> tuple[Rule, ...]:
    rules = []
    for entry in entries:
        action = entry.get("action", "drop_line")
        if action not in ACTIONS:
            raise ValueError(f"rule {entry.get('name')!r}: action {action!r} is not one of {', '.join(ACTIONS)}")
        pattern = re.compile(entry["pattern"])
        rules.append(Rule(entry["name"], pattern, action, entry["example"], tuple(entry.get("also", ())),
                          tuple(entry.get("keeps", ())), _needed_characters(pattern)))
    return tuple(rules)


_MAX_RANGE = 64  # a character class with a wider range ([一-龥]) gives no useful set


def _needed_characters(pattern: re.Pattern) -> re.Pattern | None:
    """A character class one of whose characters every match of `pattern` holds, read from
    its parse: a literal or a small class it cannot match without, in each of its branches."""
    if pattern.flags & (re.IGNORECASE | re.VERBOSE):
        return None
    try:
        chars = _needed(sre_parse.parse(pattern.pattern, pattern.flags))
    except Exception:  # a parse this reader does not know: no prefilter, the rule runs as always
        return None
    return re.compile("[" + "".join(re.escape(c) for c in sorted(chars)) + "]") if chars else None


def _needed(items) -> set[str] | None:
    """The smallest set, over the items a sequence cannot match without, of characters one of
    which the item's match holds."""
    best = None
    for op, av in items:
        found = None
        if op is sre.LITERAL:
            found = {chr(av)}
        elif op is sre.IN:
            found = _class_characters(av)
        elif op is sre.SUBPATTERN and not av[1] & re.IGNORECASE:  # (?i:…) inside: no set
            found = _needed(av[-1])
        elif op is sre.BRANCH:  # every branch needs one of its own
            sets = [_needed(branch) for branch in av[1]]
            found = set().union(*sets) if all(sets) else None
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT) and av[0] >= 1:
            found = _needed(av[2])
        elif op is sre.ATOMIC_GROUP:
            found = _needed(av)
        if found and (best is None or len(found) < len(best)):
            best = found
    return best


def _class_characters(members) -> set[str] | None:
    out = set()
    for op, av in members:
        if op is sre.LITERAL:
            out.add(chr(av))
        elif op is sre.RANGE and av[1] - av[0] < _MAX_RANGE:
            out.update(map(chr, range(av[0], av[1] + 1)))
        else:  # a negated class, \s, \d, a wide range
            return None
    return out


@cache
def default_rules() -> tuple[Rule, ...]:
    """The rule file shipped with the package (read once; rules are immutable)."""
    return parse_rules(resources.files("crawler.clean").joinpath("rules.yaml").read_text(encoding="utf-8"))


def apply_rules(paragraphs: list[str], rules: tuple[Rule, ...]) -> tuple[list[str], list[str]]:
    """Return the paragraphs that remain and the names of the rules that fired.

    A drop_rest rule ends the text only once the text has begun; above it, it drops its line.
    """
    kept: list[str] = []
    fired: list[str] = []
    for paragraph in paragraphs:
        text = paragraph
        stop = False
        for rule in rules:
            if (rule.needs is not None and not rule.needs.search(text)) or not rule.pattern.search(text):
                continue
            fired.append(rule.name)
            if rule.action == "strip":
                text = rule.pattern.sub("", text).strip()
                continue
            if rule.action == "drop_rest" and any(len(line) >= _TEXT_BEGUN for line in kept):
                stop = True
            text = ""
            break
        if stop:
            break
        if text:
            kept.append(text)
    return kept, fired
