"""Remove flattened pinyin ruby: 發(fā)展 -> 發展.

The strict form from DESIGN.md: an opening bracket directly after a CJK character, then
pinyin syllables (space or apostrophe separated) of which every one carries a tone mark
or is a known toneless particle, then a closing bracket. It keeps (2022年更新), (征求意見稿),
(1), (PM 2.5) and (CPI).
"""

from __future__ import annotations

import re

_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ"
_SYLLABLE = rf"[a-zü]*[{_TONED}][a-zü{_TONED}]*"
_NEUTRAL = r"(?:de|le|me|ne|ma|ba|zi|men|zhe|ge|li|shang|xia|lai|qu|tou|mo|zhao|la|a|ya|wa)"
_PINYIN = re.compile(
    rf"(?<=[\u3400-\u9fff\uf900-\ufaff])[(（]\s*(?:{_SYLLABLE}|{_NEUTRAL})(?:[\s']+(?:{_SYLLABLE}|{_NEUTRAL}))*\s*[)）]"
)


def strip_pinyin(text: str) -> tuple[str, int]:
    """Return the text without pinyin annotations and how many were removed."""
    cleaned, count = _PINYIN.subn("", text)
    return cleaned, count
