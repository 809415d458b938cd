"""The extraction worker process of a crawl: decode and extract pages off the reactor.

Kept apart from crawler.spider so that a worker imports the extractor and the dedup
fingerprint alone (not Scrapy): it is spawned, and everything it imports is memory it holds.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from archive.dedup import fingerprint
from crawler.extract import ExtractOptions, decode_body, extract_decoded
from textnorm import search_text

_options: ExtractOptions | None = None


def start(options: ExtractOptions) -> None:
    """Runs once in each worker: the site's options arrive once, not with every page."""
    global _options
    _options = options


def extract_page(body: bytes, url: str, content_type: str, fetched_at: datetime):
    """((encoding, step, declared), Article, Fingerprint of its body, its SearchText) for one
    page: the archive writer, in the crawl's main process, then only stores them."""
    options = replace(_options, fetched_at=fetched_at)
    decoded = decode_body(body, content_type, options.encoding)
    article = extract_decoded(decoded, url, options)
    return ((decoded.encoding, decoded.step, decoded.declared), article, fingerprint(article.body),
            search_text(article.title, article.body))
