"""Remove flattened pinyin ruby: 發(fā)展 -> 發展.

The strict form from DESIGN.md: an opening bracket directly after a CJK character, then
pinyin syllables (space or apostrophe separated), each carrying a tone mark or being a
toneless particle, at least one toned, then a closing bracket. It keeps (2022年更新),
(征求意見稿), (1), (PM 2.5), (CPI) and a list marker such as 附件(a).
"""

from __future__ import annotations

import re

_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ"
_SYLLABLE = rf"[a-zü]*[{_TONED}][a-zü{_TONED}]*"
_NEUTRAL = r"(?:de|le|me|ne|ma|ba|zi|men|zhe|ge|li|shang|xia|lai|qu|tou|mo|zhao|la|a|ya|wa|hou|xi|fu|ren)"
_PINYIN = re.compile(
    rf"(?<=[\u3400-\u9fff\uf900-\ufaff])[(（]\s*(?=[^)）]*[{_TONED}])"
    rf"(?:{_SYLLABLE}|{_NEUTRAL})(?:[\s']+(?:{_SYLLABLE}|{_NEUTRAL}))*\s*[)）]"
)


def strip_pinyin(text: str) -> tuple[str, int]:
    """Return the text without pinyin annotations and how many were removed."""
    cleaned, count = _PINYIN.subn("", text)
    return cleaned, count
