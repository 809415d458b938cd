"""The extraction worker process of a crawl: decode and extract pages off the reactor.

Started by crawler.workers (`python -c "…serve()"`), it imports the extractor, the dedup
fingerprint and the search text alone (not Scrapy, not SQLAlchemy): everything it imports is
memory it holds. It reads (job id, task, arguments) frames on stdin and writes (job id, ok,
result or error) frames on stdout, one per page as soon as it is done, in order; results are
plain data, so that the crawl process need not import the extractor to read them.
"""

from __future__ import annotations

import signal
import sys
from dataclasses import replace
from datetime import datetime

from archive.dedup import fingerprint
from crawler.clean.boilerplate import compile_rules
from crawler.extract import ExtractOptions, decode_body, extract_decoded
from crawler.extract.documents import document_text
from crawler.extract.govfields import FIELDS as DOCUMENT_FIELDS
from crawler.items import describe_exception
from crawler.workers import ExtractionTimeout, own_peak_rss_mb, parsed_part, read_frame, write_frame
from textnorm import search_text

__all__ = ["ExtractionTimeout", "extract_page", "parsed_part", "serve", "start"]

_options: ExtractOptions | None = None


def _too_slow(signum, frame):
    raise ExtractionTimeout("extraction ran past the per-page time limit")


def options_of(spec: dict) -> ExtractOptions:
    """A site's ExtractOptions from crawler.workers.site_options."""
    return ExtractOptions(selectors=spec["selectors"], encoding=spec["encoding"], collect_links=spec["collect_links"],
                          rules=compile_rules(spec["boilerplate"]))


def start(options: ExtractOptions) -> None:
    """Runs once in each worker: the site's options arrive once, not with every page."""
    global _options
    _options = options
    signal.signal(signal.SIGALRM, _too_slow)


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


def article_fields(extracted, fingerprint=None, text=None) -> dict:
    """An extracted Article as the fields of archive.ArticleData."""
    pt = extracted.publish_time
    return dict(
        title=extracted.title, body=extracted.body, publish_time=pt.value if pt else None,
        publish_time_precision=pt.precision if pt else None, publish_time_origin=extracted.publish_time_origin,
        source=extracted.source, reporters=extracted.reporters, photographers=extracted.photographers,
        editors=extracted.editors, original_title=extracted.original_title, quality=extracted.quality,
        fingerprint=fingerprint, search_text=text, **{name: getattr(extracted, name) for name in DOCUMENT_FIELDS},
    )


def page_record(*args):
    """extract_page as plain data for the crawl: (decoded info, archive.ArticleData fields,
    the page's links, whether selectors.body held)."""
    decoded_info, article, page_fingerprint, text, selector_held = extract_page(*args)
    return decoded_info, article_fields(article, page_fingerprint, text), list(article.links), selector_held


def flag_truncated(article, parsed: int, page_size: int | None) -> None:
    """Say in the article's quality that only part of its page was parsed (parsed_part)."""
    if page_size and page_size > parsed:
        article.quality["truncated"] = {"parsed_bytes": parsed, "page_bytes": page_size}
        article.quality.setdefault("warnings", []).append(
            f"only the first {parsed} of {page_size} bytes were parsed (extraction size limit)")


TASKS = {"page": page_record, "document": document_text}


def serve() -> None:
    """The worker's loop: the site's options, then jobs until stdin closes; last, its own
    peak memory."""
    # the crawl process decides when its worker stops (Ctrl-C or SIGTERM reach the whole
    # process group: the pages under way are finished, not failed); if the crawl dies, its
    # end of the pipe closes and the worker ends after the page it is on
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    jobs, results = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not break the frames
    start(options_of(read_frame(jobs)))
    while True:
        try:
            job_id, task, args = read_frame(jobs)
        except EOFError:
            break
        try:
            reply = (job_id, True, TASKS[task](*args))
        except Exception as exc:  # the crawl stores the page all the same, with this reason
            reply = (job_id, False, describe_exception(exc))
        write_frame(results, reply)
    write_frame(results, ("stopped", own_peak_rss_mb()))
