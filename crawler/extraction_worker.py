"""The extraction worker process of a crawl: decode and extract pages off the reactor.

Kept apart from crawler.spider so that a worker imports the extractor and the dedup
fingerprint alone (not Scrapy): it is spawned, and everything it imports is memory it holds.
"""

from __future__ import annotations

import signal
from dataclasses import replace
from datetime import datetime

from archive.dedup import fingerprint
from crawler.extract import ExtractOptions, decode_body, extract_decoded
from textnorm import search_text

_options: ExtractOptions | None = None


class ExtractionTimeout(Exception):
    """A page's extraction ran past the crawl's per-page time limit."""


def _too_slow(signum, frame):
    raise ExtractionTimeout("extraction ran past the per-page time limit")


def start(options: ExtractOptions) -> None:
    """Runs once in each worker: the site's options arrive once, not with every page."""
    global _options
    _options = options
    signal.signal(signal.SIGALRM, _too_slow)


def parsed_part(body: bytes, limit: int) -> bytes:
    """The first `limit` bytes of a page, cut before a tag so that no character is split:
    '<' is never part of a multi-byte character in UTF-8, GBK or Big5."""
    if len(body) <= limit:
        return body
    cut = body.rfind(b"<", 0, limit)
    return body[:cut if cut > 0 else limit]


def extract_page(body: bytes, url: str, content_type: str, fetched_at: datetime, time_limit: float = 0,
                 page_size: int | None = None):
    """((encoding, step, declared), Article, Fingerprint of its body, its SearchText, whether
    the site's selectors.body found text on it (None: no such selector)) for one page: the
    archive writer, in the crawl's main process, then only stores them.

    `body` may be the first part of a larger page (parsed_part; `page_size` says how large):
    the article is flagged as extracted from part of the page. Past `time_limit` seconds
    ExtractionTimeout is raised (SIGALRM: the worker runs pages on its main thread).
    """
    options = replace(_options, fetched_at=fetched_at)
    if time_limit:
        signal.setitimer(signal.ITIMER_REAL, time_limit)
    try:
        decoded = decode_body(body, content_type, options.encoding)
        article = extract_decoded(decoded, url, options)
        # whether the site's selectors.body chose the body (None: no such selector); the
        # extractor falls back silently when it finds no text there
        selector_held = article.quality.get("body_from") == "site_selector" if (options.selectors or {}).get(
            "body") else None
        result = ((decoded.encoding, decoded.step, decoded.declared), article, fingerprint(article.body),
                  search_text(article.title, article.body), selector_held)
    finally:
        if time_limit:
            signal.setitimer(signal.ITIMER_REAL, 0)
    flag_truncated(article, len(body), page_size)
    return result


def flag_truncated(article, parsed: int, page_size: int | None) -> None:
    """Say in the article's quality that only part of its page was parsed (parsed_part)."""
    if page_size and page_size > parsed:
        article.quality["truncated"] = {"parsed_bytes": parsed, "page_bytes": page_size}
        article.quality.setdefault("warnings", []).append(
            f"only the first {parsed} of {page_size} bytes were parsed (extraction size limit)")
