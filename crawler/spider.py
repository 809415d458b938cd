"""The one generic spider: a site's config.yaml entry says where its lists are, how they
page, and which links are articles and attachments.

Incremental: list pages are walked newest-first, and paging stops at a page that holds no
article the archive lacks, unless the site's previous run did not see everything it wanted
(then every list page is walked again, so nothing a failed or killed run missed is lost).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import re
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from archive import Archive, CaptureData
from crawler import extraction_worker
from crawler.config import Config, Pagination, SiteConfig
from crawler.extract import decode_body
from crawler.extract.documents import document_text, file_name_and_type
from crawler.items import ArticleItem, AttachmentItem
from crawler.listing import parse_list_page
from crawler.offline import article_data, extract_options


def capture_of(response: scrapy.http.Response) -> CaptureData:
    headers = {k.decode("latin-1"): b", ".join(v).decode("latin-1") for k, v in response.headers.items()}
    return CaptureData(url=response.url, http_status=response.status, headers=headers, body=response.body,
                       fetched_at=datetime.now(UTC))


class SiteSpider(scrapy.Spider):
    name = "site"

    def __init__(self, config: Config, site: SiteConfig, archive: Archive, site_id: int, run_id: int, **kwargs):
        super().__init__(**kwargs)
        self.config, self.site, self.archive = config, site, archive
        self.site_id, self.run_id = site_id, run_id
        self.article_re = re.compile(site.article_pattern)
        self.attachment_re = re.compile(site.attachment_pattern)
        self.origins = {urlsplit(u).netloc.lower() for u, _ in site.columns()}
        self.allowed_domains = sorted({urlsplit(u).hostname for u, _ in site.columns()} | set(site.allowed_domains))
        self.options = extract_options(site, collect_links=True)
        self.attachment_max_bytes = int(config.defaults.max_attachment_mb * 1024 * 1024)
        previous = archive.previous_run(site_id, run_id)
        self.deep = previous is None or not (previous.stats or {}).get("complete")
        self.failures: list[dict] = []
        self.run_status: str | None = None
        # spawned, not forked: the crawl process already runs threads (reactor, archive writer)
        self.extractor = ProcessPoolExecutor(max_workers=max(1, (os.cpu_count() or 2) - 1),
                                             mp_context=multiprocessing.get_context("spawn"),
                                             initializer=extraction_worker.start, initargs=(self.options,))

    def closed(self, reason: str) -> None:
        self.extractor.shutdown(wait=True, cancel_futures=True)

    # ------------------------------------------------------------------ requests

    def allowed(self, url: str) -> bool:
        """http(s) only, and within the site: the start URLs' origins or its allowed_domains."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return False
        netloc, host = parts.netloc.lower(), (parts.hostname or "")
        return netloc in self.origins or any(
            host == d or host.endswith("." + d) for d in self.site.allowed_domains)

    def list_request(self, url: str, start_url: str, pagination: Pagination, index: int) -> scrapy.Request:
        return scrapy.Request(url, callback=self.parse_list, errback=self.list_failed, priority=10,
                              cb_kwargs={"start_url": start_url, "pagination": pagination, "index": index})

    async def start(self):
        for url, pagination in self.site.columns():
            yield self.list_request(url, url, pagination, 0)
        # articles archived in the last revisit_days are fetched again (conditionally, when the
        # site sent validators), so a corrected page becomes a new version
        days = self.site.revisit_days if self.site.revisit_days is not None else self.config.defaults.revisit_days
        if days:
            for url, validators in self.archive.recent_articles(self.site_id, days):
                headers = {"If-None-Match": validators["etag"]} if validators.get("etag") else {}
                if validators.get("last_modified"):
                    headers["If-Modified-Since"] = validators["last_modified"]
                yield scrapy.Request(url, callback=self.parse_article, errback=self.article_failed, headers=headers,
                                     priority=-1000, meta={"handle_httpstatus_list": [304]})

    # ------------------------------------------------------------------ callbacks

    def parse_list(self, response, start_url: str, pagination: Pagination, index: int):
        self.crawler.stats.inc_value("muniarchive/list_pages")
        text = decode_body(response.body, response.headers.get("Content-Type", b"").decode("latin-1"),
                           self.site.encoding).text
        listing = parse_list_page(text, response.url, pagination, start_url, index)
        articles = list(dict.fromkeys(u for u, _ in listing.links if self.article_re.search(u) and self.allowed(u)))
        known = self.archive.known_urls(self.site_id, articles)
        new = [u for u in articles if u not in known]
        for rank, url in enumerate(new):
            yield scrapy.Request(url, callback=self.parse_article, errback=self.article_failed, priority=-rank)
        next_url = listing.next_url
        if next_url and self.allowed(next_url) and (new or self.deep) and index + 1 < pagination.max_pages:
            yield self.list_request(next_url, start_url, pagination, index + 1)

    async def parse_article(self, response):
        if response.status == 304:  # a revisit: the site says nothing changed
            self.crawler.stats.inc_value("muniarchive/articles_unchanged")
            return
        content_type = response.headers.get("Content-Type", b"").decode("latin-1")
        # in a worker process: extraction is CPU work that would otherwise hold up the reactor
        # and the archive writer (one GIL); measured by benchmarks/crawl.py
        decoded_info, extracted, fingerprint, text = await asyncio.wrap_future(self.extractor.submit(
            extraction_worker.extract_page, response.body, response.url, content_type, datetime.now(UTC)))
        capture = capture_of(response)
        capture.encoding, capture.encoding_step, capture.declared_encoding = decoded_info
        yield ArticleItem(capture=capture, extraction_failed=extracted.body is None,
                          article=article_data(extracted, fingerprint, text))
        links = dict(extracted.links)
        attachments = [u for u in links if self.attachment_re.search(u) and self.allowed(u)]
        known = self.archive.known_urls(self.site_id, attachments, kind="attachment") if attachments else set()
        for url in attachments:
            if url not in known:
                yield scrapy.Request(url, callback=self.parse_attachment, errback=self.attachment_failed,
                                     meta={"article_url": response.url, "link_text": links[url],
                                           "download_maxsize": self.attachment_max_bytes})

    async def parse_attachment(self, response):
        header = response.headers.get
        name, file_type = file_name_and_type(response.url, (header("Content-Disposition") or b"").decode("latin-1"),
                                             (header("Content-Type") or b"").decode("latin-1"))
        text = await asyncio.wrap_future(self.extractor.submit(document_text, response.body, file_type))
        yield AttachmentItem(url=response.url, article_url=response.meta["article_url"],
                             link_text=response.meta["link_text"], capture=capture_of(response), status="fetched",
                             file_name=name, file_type=file_type, text=text.text, text_note=text.note)

    # ------------------------------------------------------------------ failures

    @staticmethod
    def _describe(failure: Failure) -> str:
        if failure.check(HttpError):
            return f"HTTP {failure.value.response.status}"
        if failure.check(IgnoreRequest):
            return str(failure.value) or "ignored (robots.txt or size limit)"
        return f"{failure.type.__name__}: {failure.getErrorMessage()}"

    def _failed(self, failure: Failure, kind: str, error: str | None = None) -> str:
        """Record a failed request (the run is then incomplete) and count it as an error."""
        request = failure.request
        error = error or self._describe(failure)
        self.failures.append({"url": request.url, "kind": kind, "error": f"{request.url}: {error}"})
        self.logger.warning("%s failed: %s: %s", kind, request.url, error)
        self.crawler.stats.inc_value("muniarchive/errors")
        return error

    def list_failed(self, failure: Failure):
        index = failure.request.cb_kwargs.get("index", 0)
        if index > 0 and failure.check(HttpError) and failure.value.response.status == 404:
            return  # paged past the last list page: the end of the list, not an error
        self._failed(failure, "list")
        if index == 0:
            self.crawler.stats.inc_value("muniarchive/list_failures")

    def article_failed(self, failure: Failure):
        self._failed(failure, "article")

    def attachment_failed(self, failure: Failure):
        request = failure.request
        error = self._describe(failure)
        too_large = "maxsize" in error.lower() or "larger than" in error.lower()
        if too_large:  # the configured limit at work, not a fault: the next run need not look again
            self.logger.info("attachment over the size limit: %s: %s", request.url, error)
        else:
            self._failed(failure, "attachment", error)
        name, file_type = file_name_and_type(request.url)
        yield AttachmentItem(url=request.url, article_url=request.meta.get("article_url"),
                             link_text=request.meta.get("link_text"), capture=None,
                             status="too_large" if too_large else "failed", error=error,
                             file_name=name, file_type=file_type)
