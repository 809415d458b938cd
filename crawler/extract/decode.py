"""Bytes -> text by the encoding policy in DESIGN.md.

Scrapy trusts a page's declared charset even when it is wrong, so every body is decoded
again here: BOM; each declared label (site override, HTTP header, <meta>), widened, accepted
only if it decodes the WHOLE body strictly; then, when only a few bytes are bad (a corrupted
byte, a cut-off character), the BOM or the first declared label with those bytes replaced;
strict UTF-8; chardet, widened, strict; last resort the CJK codec that loses the least, with
replacement characters and a warning. The step that chose is recorded, and so is every span
of bytes that did not decode.
"""

from __future__ import annotations

import codecs
import re
from contextvars import ContextVar
from dataclasses import dataclass, field

from chardet import UniversalDetector

# gb2312 pages routinely carry GBK-only characters (镕 堃 喆 珺), and GBK is a subset of gb18030.
_WIDER = {
    "gb2312": ["gb18030"],
    "gbk": ["gb18030"],
    "cp936": ["gb18030"],
    "x-gbk": ["gb18030"],
    "gb_2312-80": ["gb18030"],
    "hz-gb-2312": ["gb18030"],
    "gb18030": ["gb18030"],
    "big5": ["cp950", "big5hkscs"],
    "big5-hkscs": ["big5hkscs"],
    "cp950": ["cp950", "big5hkscs"],
    "ascii": ["utf-8"],
    "us-ascii": ["utf-8"],
    "iso-8859-1": ["cp1252"],
    "latin-1": ["cp1252"],
}
MIN_CHARDET_CONFIDENCE = 0.5
CHARDET_CHUNK = 1024
# a run from a non-ASCII byte on through bytes that can continue a character: every CJK
# multibyte encoding (GBK, Big5, EUC, Shift-JIS, UTF-8) leads with a byte >= 0x80 and
# continues with bytes >= 0x40, so a run never cuts a character in two
_NON_ASCII_RUN = re.compile(rb"[\x80-\xff][\x40-\xff]*")
FALLBACKS = ("gb18030", "utf-8", "big5hkscs")  # in order of preference on a tie
_BOMS = [(codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")]
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.I)
# a mislabelled page fails on 5% of its characters or more (GBK read as Big5: 7%; UTF-8 as
# gb18030: 5%); a damaged one on a few bytes: up to one in 400 non-ASCII bytes (two or three
# bytes a character) counts as damage
BAD_BYTES_PER_SPAN = 400
LISTED_SPANS = 20  # how many bad spans `quality` lists; the warning counts them all
_ASCII = bytes(range(128))

_bad_spans: ContextVar[list[tuple[int, int]]] = ContextVar("bad_spans")


def _mark_bad_span(error: UnicodeDecodeError) -> tuple[str, int]:
    _bad_spans.get().append((error.start, error.end))
    return "\ufffd", error.end


codecs.register_error("muniarchive.mark", _mark_bad_span)


@dataclass
class Decoded:
    text: str
    encoding: str
    step: str  # bom | override | http-header | meta | utf-8 | chardet | fallback
    declared: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # byte spans that did not decode and became U+FFFD: {start, end, bytes (hex), context}
    bad_spans: list[dict] = field(default_factory=list)


def widen(label: str) -> list[str]:
    """The codecs to try for a declared label, widest first ([] when Python does not know it)."""
    label = label.strip().lower()
    if label in _WIDER:
        return _WIDER[label]
    try:
        return [codecs.lookup(label).name]
    except LookupError:
        return []


def _is_multibyte(label: str) -> bool:
    return label.lower().replace("_", "-").startswith(("gb", "big5", "utf", "euc", "shift", "iso-2022", "hz", "cp9"))


def declared_encodings(body: bytes, content_type: str | None) -> dict[str, str]:
    found = {}
    if content_type and (m := _HEADER_CHARSET.search(content_type)):
        found["http-header"] = m.group(1)
    if m := _META_CHARSET.search(body[:8192]):
        found["meta"] = m.group(1).decode("ascii", "replace")
    return found


def _strict(body: bytes, codec: str) -> str | None:
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _replacing(body: bytes, codec: str) -> tuple[str, list[tuple[int, int]]] | None:
    """The body decoded with every byte span that does not decode replaced by U+FFFD, and those spans."""
    spans: list[tuple[int, int]] = []
    token = _bad_spans.set(spans)
    try:
        return body.decode(codec, errors="muniarchive.mark"), spans
    except LookupError:
        return None
    finally:
        _bad_spans.reset(token)


def _few(body: bytes, spans: list) -> bool:
    return len(spans) <= max(1, len(body.translate(None, _ASCII)) // BAD_BYTES_PER_SPAN)


def _described(body: bytes, text: str, spans: list[tuple[int, int]]) -> list[dict]:
    """The first LISTED_SPANS bad spans, each with the text around its replacement character."""
    marks = [i for i, char in enumerate(text) if char == "\ufffd"] if "\ufffd" in text else []
    out = []
    for n, (start, end) in enumerate(spans[:LISTED_SPANS]):
        span = {"start": start, "end": end, "bytes": body[start:end].hex()}
        if len(marks) == len(spans):  # else the page holds U+FFFD of its own: no reliable position
            span["context"] = re.sub(r"\s+", " ", text[max(0, marks[n] - 12):marks[n] + 13])
        out.append(span)
    return out


def _damaged(body: bytes, codec: str, step: str, declared: dict, warnings: list[str],
             label: str | None = None) -> Decoded | None:
    """The body under `codec` when only a few byte spans fail to decode, else None."""
    if (result := _replacing(body, codec)) is None or not _few(body, result[1]):
        return None
    text, spans = result
    warnings.append(f"{step} {f'declares {label}: ' if label else f'{codec}: '}{len(spans)} byte span(s) do not "
                    f"decode and were replaced")
    return Decoded(text, codec, step, declared, warnings, _described(body, text, spans))


def _guess(body: bytes) -> dict:
    """chardet's guess, from the runs of bytes that hold non-ASCII characters, fed a chunk at a
    time until it is sure. Its probers walk every byte in Python (a tenth of a second on a 30 KB
    page), most of a page is ASCII markup that tells them nothing, and on text in one encoding
    they are sure after a thousand or so multibyte characters. UTF-16 and -32 without a BOM are
    told by their NUL bytes: such a body goes whole."""
    sample = body if b"\x00" in body else b" ".join(_NON_ASCII_RUN.findall(body))
    detector = UniversalDetector()
    for start in range(0, len(sample), CHARDET_CHUNK):
        detector.feed(sample[start:start + CHARDET_CHUNK])
        if detector.done:
            break
    return detector.close()


def decode_body(body: bytes, content_type: str | None = None, override: str | None = None) -> Decoded:
    declared = declared_encodings(body, content_type)
    warnings: list[str] = []

    for bom, codec in _BOMS:
        if body.startswith(bom):
            if (text := _strict(body, codec)) is not None:
                return Decoded(text, codec.replace("-sig", ""), "bom", declared)
            if decoded := _damaged(body, codec, "bom", declared, warnings):  # a lone surrogate: keep the rest
                decoded.encoding = codec.replace("-sig", "")
                return decoded

    # Valid UTF-8 with non-ASCII bytes is practically never GBK by accident, while a
    # strict gb18030 decode of UTF-8 bytes often "succeeds": pages that declare gb2312
    # but are UTF-8 exist, so UTF-8 evidence outranks a GB label.
    utf8 = _strict(body, "utf-8") if not body.isascii() else None

    labels = ([("override", override)] if override else []) + list(declared.items())
    for step, label in labels:
        codecs_to_try = widen(label)
        if not codecs_to_try:
            warnings.append(f"{step} declares unknown encoding {label!r}")
        for codec in codecs_to_try:
            if utf8 is not None and codec != "utf-8" and step != "override":
                warnings.append(f"{step} declares {label} but the bytes are valid UTF-8")
                break
            if (text := _strict(body, codec)) is not None:
                return Decoded(text, codec, step, declared, warnings)
        else:
            if codecs_to_try:
                warnings.append(f"{step} declares {label} but the body does not decode as {codecs_to_try[-1]}")
    if utf8 is None:
        # no label decodes the whole body: a few bad bytes (a corrupted byte, a cut-off last
        # character) are damage, not a wrong label; another codec would garble everything else
        for step, label in labels:
            if (codecs_to_try := widen(label)) and (
                    decoded := _damaged(body, codecs_to_try[-1], step, declared, warnings, label)):
                return decoded

    if (text := _strict(body, "utf-8")) is not None:
        return Decoded(text, "utf-8", "utf-8", declared, warnings)

    guess = _guess(body)
    # a multibyte guess must still decode the whole body strictly, which is evidence; a
    # single-byte codec decodes any bytes, so only a confident guess of one counts
    label = guess.get("encoding") or ""
    if label and (_is_multibyte(label) or (guess.get("confidence") or 0) >= MIN_CHARDET_CONFIDENCE):
        for codec in widen(label):
            if (text := _strict(body, codec)) is not None:
                return Decoded(text, codec, "chardet", declared, warnings)

    # a damaged page, undeclared or mislabelled: the CJK codec that loses the least
    (text, spans), codec = min(((_replacing(body, c), c) for c in FALLBACKS), key=lambda pair: len(pair[0][1]))
    warnings.append(f"no encoding decodes the body cleanly: decoded as {codec} with "
                    f"{len(spans)} byte span(s) replaced")
    return Decoded(text, codec, "fallback", declared, warnings, _described(body, text, spans))
