"""Boilerplate rules as data: load them (from YAML text) and apply them to body paragraphs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

ACTIONS = ("drop_line", "drop_rest", "strip")
# libyaml's loader where PyYAML has it: the pure-Python one takes six times as long
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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


def parse_rules(text: str) -> tuple[Rule, ...]:
    """Rules from YAML text (`rules: [{name, pattern, action, example}]`)."""
    data = yaml.load(text, Loader=_SAFE_LOADER) or {}
    return compile_rules(data.get("rules", []))


def compile_rules(entries: list[dict]) -> tuple[Rule, ...]:
    rules = []
    for entry in entries:
        action = entry.get("action", "drop_line")
        if action not in ACTIONS:
            raise ValueError(f"rule {entry.get('name')!r}: action {action!r} is not one of {', '.join(ACTIONS)}")
        rules.append(Rule(entry["name"], re.compile(entry["pattern"]), action, entry["example"],
                          tuple(entry.get("also", ())), tuple(entry.get("keeps", ()))))
    return tuple(rules)


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
            if not rule.pattern.search(text):
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
