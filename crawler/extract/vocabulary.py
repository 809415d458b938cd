"""The extractor's vocabularies (vocabulary.yaml: labels, role words, outlet and organisation
words, surnames …), read once when extraction is first imported."""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib import resources

import yaml

# libyaml's loader where PyYAML has it: the pure-Python one takes six times as long
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_data(name: str) -> dict:
    """One of the extractor's YAML files."""
    return yaml.load(resources.files("crawler.extract").joinpath(name).read_text(encoding="utf-8"), Loader=SAFE_LOADER)


VOCABULARY: dict = read_data("vocabulary.yaml")


def one_of(words: Iterable[str]) -> str:
    """A regex alternation of these words, in their order: 记者|記者|通讯员. No words match
    nothing (an empty alternation would match everywhere)."""
    return "|".join(re.escape(word) for word in words) or "(?!)"


def words(name: str) -> str:
    """The vocabulary list `name` as a regex alternation."""
    return one_of(VOCABULARY[name])
