"""Flag mojibake left by a GBK stream split mid-character; never rewrite it.

The shape (DESIGN.md): a `?` (the lost lead byte) or U+FFFD next to a CJK character, then
text decoded one byte out of step until a stray ASCII letter resyncs it within 40 characters
on the same line. Automatic repair is right only about half the time, so spans are listed
for a person (or a later re-fetch) and the text is kept as it is.
"""

from __future__ import annotations

import re

_CJK = r"[\u3400-\u9fff]"
# a stray letter stands alone: not part of an English word or an abbreviation such as PM
_SPAN = re.compile(rf"(?:(?<={_CJK})[?\ufffd]|[?\ufffd](?={_CJK}))[^\n]{{0,40}}?(?<![A-Za-z])[A-Za-z^](?![A-Za-z])")  # rule-usage: general because ? or U+FFFD beside CJK with stray letters is what mis-decoded GBK looks like, any page
_REPLACEMENT = re.compile(r"\ufffd+")  # rule-usage: general because U+FFFD is Unicode's mark of undecodable bytes, any page


def find_mojibake(text: str) -> list[dict]:
    """Spans that look like misaligned decodes: [{'start', 'end', 'text'}]."""
    spans = [m for m in _SPAN.finditer(text)]
    covered = {i for m in spans for i in range(m.start(), m.end())}
    spans += [m for m in _REPLACEMENT.finditer(text) if m.start() not in covered]
    return [{"start": m.start(), "end": m.end(), "text": m.group(0)} for m in sorted(spans, key=lambda m: m.start())]
