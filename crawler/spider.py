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
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime

import scrapy
from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from archive import Archive, CaptureData
from crawler import extraction_worker
from crawler.config import Config, Pagination, SiteConfig, url_pattern
from crawler.extract import decode_body
from crawler.extract.documents import document_text, file_name_and_type
from crawler.items import (
    MAX_RECORDED_FAILURES,
    ArticleItem,
    AttachmentItem,
    describe_exception,
    failed_article,
)
from crawler.listing import ListRequest, first_request, parse_list_page
from crawler.middlewares import SiteBounds
from crawler.offline import article_data, extract_options
from crawler.settings import EXTRACT_MAX_BYTES, EXTRACT_TIME_LIMIT


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
        self.article_re = url_pattern(site.article_pattern)
        self.attachment_re = url_pattern(site.attachment_pattern)
        self.bounds = SiteBounds([u for u, _ in site.columns()], site.allowed_domains)
        self.options = extract_options(site, collect_links=True)
        self.attachment_max_bytes = int(config.defaults.max_attachment_mb * 1024 * 1024)
        previous = archive.previous_run(site_id, run_id)
        self.deep = previous is None or not (previous.stats or {}).get("complete")
        self.failures: list[dict] = []
        self.failed_urls: set[str] = set()
        self.extraction_errors: list[dict] = []
        self.run_status: str | None = None
        self.extract_max_bytes, self.extract_time_limit = EXTRACT_MAX_BYTES, EXTRACT_TIME_LIMIT
        self.extractor = self._new_extractor()

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.extract_max_bytes = crawler.settings.getint("EXTRACT_MAX_BYTES", EXTRACT_MAX_BYTES)
        spider.extract_time_limit = crawler.settings.getfloat("EXTRACT_TIME_LIMIT", EXTRACT_TIME_LIMIT)
        crawler.signals.connect(spider.request_dropped, signal=signals.request_dropped)
        return spider

    def _new_extractor(self) -> ProcessPoolExecutor:
        # spawned, not forked: the crawl process already runs threads (reactor, archive writer);
        # a core is left to the reactor and the writer, at most 4 workers (each holds a parse)
        return ProcessPoolExecutor(max_workers=max(1, min(4, (os.cpu_count() or 2) - 1)),
                                   mp_context=multiprocessing.get_context("spawn"),
                                   initializer=extraction_worker.start, initargs=(self.options,))

    def closed(self, reason: str) -> None:
        self.extractor.shutdown(wait=True, cancel_futures=True)

    async def in_worker(self, fn, *args):
        """fn(*args) in an extraction worker, awaited without blocking the reactor.

        A worker that overruns the time limit by far (stuck where SIGALRM cannot reach, in C
        code) or dies is killed with its pool; pages the pool was holding are tried once more
        in a new one, so only the page at fault fails.
        """
        deadline = 2 * self.extract_time_limit + 10
        for attempt in (1, 2):
            pool = self.extractor
            try:
                return await asyncio.wait_for(asyncio.wrap_future(pool.submit(fn, *args)), deadline)
            except TimeoutError:
                self._replace_extractor(pool)
                raise extraction_worker.ExtractionTimeout(f"the worker was stuck for {deadline:.0f} s") from None
            except BrokenProcessPool:
                self._replace_extractor(pool)
                if attempt == 2:
                    raise

    def _replace_extractor(self, pool: ProcessPoolExecutor) -> None:
        if self.extractor is not pool:  # another page's failure replaced it already
            return
        self.logger.warning("extraction worker stuck or dead: starting a new one")
        for process in list((pool._processes or {}).values()):  # no public way to stop a busy worker
            process.kill()
        pool.shutdown(wait=False, cancel_futures=True)
        self.extractor = self._new_extractor()

    # ------------------------------------------------------------------ requests

    def allowed(self, url: str) -> bool:
        """http(s) only, and within the site's scheme, host and port (see SiteBounds)."""
        return self.bounds.refusal(url) is None

    def list_request(self, request: ListRequest, start_url: str, pagination: Pagination, index: int) -> scrapy.Request:
        options = {"callback": self.parse_list, "errback": self.list_failed, "priority": 10,
                   "cb_kwargs": {"start_url": start_url, "pagination": pagination, "index": index,
                                 "form": request.form}}
        if request.form is not None:
            return scrapy.FormRequest(request.url, formdata=request.form, **options)
        if request.json is not None:
            return scrapy.http.JsonRequest(request.url, data=request.json, **options)
        return scrapy.Request(request.url, **options)

    async def start(self):
        for url, pagination in self.site.columns():
            yield self.list_request(first_request(url, pagination), url, pagination, 0)
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

    def parse_list(self, response, start_url: str, pagination: Pagination, index: int, form: dict | None):
        self.crawler.stats.inc_value("muniarchive/list_pages")
        text = decode_body(response.body, response.headers.get("Content-Type", b"").decode("latin-1"),
                           self.site.encoding).text
        listing = parse_list_page(text, response.url, pagination, start_url, index, form)
        if listing.error:
            self.record_fault(response.request, "list", listing.error)
        articles = list(dict.fromkeys(u for u, _ in listing.links if self.article_re.search(u) and self.allowed(u)))
        known = self.archive.known_urls(self.site_id, articles)
        new = [u for u in articles if u not in known]
        for rank, url in enumerate(new):
            yield scrapy.Request(url, callback=self.parse_article, errback=self.article_failed, priority=-rank)
        following = listing.next
        if following and self.allowed(following.url) and (new or self.deep) and index + 1 < pagination.max_pages:
            yield self.list_request(following, start_url, pagination, index + 1)

    async def parse_article(self, response):
        if response.status == 304:  # a revisit: the site says nothing changed
            self.crawler.stats.inc_value("muniarchive/articles_unchanged")
            return
        content_type = response.headers.get("Content-Type", b"").decode("latin-1")
        capture = capture_of(response)
        try:
            # in a worker process: extraction is CPU work that would otherwise hold up the reactor
            # and the archive writer (one GIL); measured by benchmarks/crawl.py
            decoded_info, extracted, fingerprint, text = await self.in_worker(
                extraction_worker.extract_page, extraction_worker.parsed_part(response.body, self.extract_max_bytes),
                response.url, content_type, capture.fetched_at, self.extract_time_limit, len(response.body))
        except Exception as exc:  # the page is stored all the same, its raw bytes kept for reprocess
            error = describe_exception(exc)
            self.logger.warning("extraction failed: %s: %s", response.url, error)
            if len(self.extraction_errors) < MAX_RECORDED_FAILURES:
                self.extraction_errors.append({"url": response.url, "error": error})
            yield ArticleItem(capture=capture, extraction_failed=True, article=failed_article(error))
            return
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
        try:
            document = await self.in_worker(document_text, response.body, file_type)
            text, note = document.text, document.note
        except Exception as exc:  # the file is kept all the same
            text, note = None, f"text extraction failed: {describe_exception(exc)}"
        yield AttachmentItem(url=response.url, article_url=response.meta["article_url"],
                             link_text=response.meta["link_text"], capture=capture_of(response), status="fetched",
                             file_name=name, file_type=file_type, text=text, text_note=note)

    # ------------------------------------------------------------------ failures

    @staticmethod
    def _describe(failure: Failure) -> str:
        if failure.check(HttpError):
            return f"HTTP {failure.value.response.status}"
        if failure.check(IgnoreRequest):
            return str(failure.value) or "ignored (robots.txt or size limit)"
        return describe_exception(failure.value, failure.getErrorMessage())

    def _failed(self, failure: Failure, kind: str, error: str | None = None) -> str:
        """Record a failed request (the run is then incomplete) and count it as an error."""
        error = error or self._describe(failure)
        self.record_fault(failure.request, kind, error)
        return error

    def record_fault(self, request: scrapy.Request, kind: str, error: str) -> None:
        """A request that ended without a page: in the run's errors under the URL first asked
        for (a redirect's target is named in the error)."""
        url = (request.meta.get("redirect_urls") or [request.url])[0]
        self.failed_urls.add(request.url)
        if len(self.failures) < MAX_RECORDED_FAILURES:
            self.failures.append({"url": url, "kind": kind, "error": f"{url}: {error}"})
        self.logger.warning("%s failed: %s: %s", kind, url, error)
        self.crawler.stats.inc_value("muniarchive/errors")

    def request_dropped(self, request: scrapy.Request, spider=None) -> None:
        """The scheduler's duplicate filter dropped a request: silent in Scrapy, a fault here
        when it ends a redirect chain (a loop) or repeats a request that failed."""
        kind = {"parse_list": "list", "parse_attachment": "attachment"}.get(
            getattr(request.callback, "__name__", ""), "article")
        chain = request.meta.get("redirect_urls")
        if chain:
            self.record_fault(request, kind, "redirect loop: " + " -> ".join([*chain, request.url])
                              + " (the last URL was already requested)")
        elif request.url in self.failed_urls:
            self.record_fault(request, kind, "dropped as a duplicate of a request that failed")

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
