"""Cleaning: pure functions over text. Flattened pinyin first, then boilerplate rules (data), mojibake flagged."""

from crawler.clean.boilerplate import Rule, apply_rules, default_rules, parse_rules
from crawler.clean.mojibake import find_mojibake
from crawler.clean.pinyin import strip_pinyin

__all__ = ["Rule", "apply_rules", "default_rules", "find_mojibake", "parse_rules", "strip_pinyin"]
