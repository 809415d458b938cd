"""The one generic spider: a site's config.yaml entry says where its lists are, how they
page, and which links are articles and attachments.

Incremental: list pages are walked newest-first, and paging stops at a page that holds no
article the archive lacks, unless the site's previous run did not see everything it wanted or
ran with another config (then every list page is walked again, so nothing a failed or killed
run missed is lost). An article or attachment whose fetch failed is remembered instead
(archive.FailedUrl): dead, or fetched again by a later run, so it neither makes a run
incomplete nor counts as new on the list that shows it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import scrapy
from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from archive import ArticleData, CaptureData
from crawler.config import Pagination, site_config_hash, url_pattern
from crawler.extract.decode import decode_body
from crawler.extract.documents import file_name_and_type
from crawler.health import RunHealth
from crawler.items import (
    MAX_RECORDED_FAILURES,
    ArticleItem,
    AttachmentItem,
    FailedUrlItem,
    describe_exception,
    failed_article,
)
from crawler.listing import ListRequest, advertised_pages, first_request, parse_list_page
from crawler.middlewares import OffsiteRedirect, SiteBounds
from crawler.run import EXIT_SKIPPED, CrawlRefused, CrawlStart, start_crawl
from crawler.settings import EXTRACT_MAX_BYTES, EXTRACT_TIME_LIMIT, crawl_settings
from crawler.workers import ExtractionWorkers, parsed_part, site_options


def permanent_failure(failure: Failure) -> bool:
    """Whether a failed fetch would fail again whatever the wait: gone (404, 410), forbidden
    by robots.txt, or leading off the site."""
    if failure.check(HttpError):
        return failure.value.response.status in (404, 410)
    if failure.check(OffsiteRedirect):
        return True
    return bool(failure.check(IgnoreRequest)) and any(m in str(failure.value) for m in ("robots.txt", "off-site"))


def asked_url(request_or_response) -> str:
    """The URL first asked for, before any redirect: what a list page or an article linked."""
    return (request_or_response.meta.get("redirect_urls") or [request_or_response.url])[0]


def failure_label(error: str) -> str:
    """The kind of a failure, for counting: `HTTP 404`, `TimeoutError`, `Forbidden by robots.txt`."""
    return error.split(":", 1)[0]


def capture_of(response: scrapy.http.Response) -> CaptureData:
    headers = {k.decode("latin-1"): b", ".join(v).decode("latin-1") for k, v in response.headers.items()}
    return CaptureData(url=response.url, http_status=response.status, headers=headers, body=response.body,
                       fetched_at=datetime.now(UTC))


class SiteSpider(scrapy.Spider):
    name = "site"

    def __init__(self, *, started: CrawlStart | None = None, refused: CrawlRefused | None = None, **kwargs):
        super().__init__(**kwargs)
        self.refused, self.run_status = refused, None
        if started is None:  # refused: nothing is crawled, nothing recorded (start_crawl did)
            return
        config, site, archive = started.config, started.site, started.archive
        self.config, self.site, self.archive = config, site, archive
        self.site_id, self.run_id = started.site_id, started.run_id
        self.article_re = url_pattern(site.article_pattern)
        self.attachment_re = url_pattern(site.attachment_pattern)
        self.bounds = SiteBounds([u for u, _ in site.columns()], site.allowed_domains)
        self.attachment_max_bytes = int(config.defaults.max_attachment_mb * 1024 * 1024)
        previous = archive.previous_run(self.site_id, self.run_id)
        previous_stats = (previous.stats or {}) if previous else {}
        self.config_hash = site_config_hash(site)
        self.deep = (previous is None or not previous_stats.get("complete")
                     or previous_stats.get("config_hash") != self.config_hash)
        self.health = RunHealth(site.selectors.body, config.alerts.article_failure_rate)
        # faults not remembered as failed URLs (a list page, a redirect loop): the run is incomplete
        self.unremembered_faults = 0
        self.failures: list[dict] = []
        self.failed_urls: set[str] = set()
        self.extraction_errors: list[dict] = []
        self.extract_max_bytes, self.extract_time_limit = EXTRACT_MAX_BYTES, EXTRACT_TIME_LIMIT
        # started when the first page needs one: a crawl that finds nothing new starts none.
        # A core is left to the reactor and the writer, at most 4 workers (each holds a parse);
        # one stuck on a page far past the time limit (where SIGALRM cannot reach) is killed
        self.extractor = ExtractionWorkers(site_options(site, collect_links=True),
                                           max_workers=max(1, min(4, (os.cpu_count() or 2) - 1)),
                                           stuck_after=2 * self.extract_time_limit + 10, logger=self.logger)

    @classmethod
    def from_crawler(cls, crawler, site: str | None = None, run_id: str | None = None, config: str | None = None,
                     *, started: CrawlStart | None = None, **kwargs):
        """`scrapy crawl site -a site=KEY [-a run_id=N] [-a config=PATH]`: plain strings, the
        crawl started here (crawler.run); `python -m crawler crawl` passes it `started`."""
        refused = None
        if started is None:
            try:
                started = start_crawl(site, config_path=config, run_id=run_id,
                                      log_path=crawler.settings.get("LOG_FILE"))
            except CrawlRefused as exc:
                refused = exc
        spider = super().from_crawler(crawler, started=started, refused=refused, **kwargs)
        if refused is not None:
            if refused.exit_status == EXIT_SKIPPED:
                spider.logger.warning("%s", refused.line)
            else:
                spider.logger.error("%s", refused)
            return spider
        # config.yaml's settings: the spider is made before Scrapy freezes the crawl's settings
        crawler.settings.setdict(crawl_settings(started.config), priority="spider")
        spider.extract_max_bytes = crawler.settings.getint("EXTRACT_MAX_BYTES", EXTRACT_MAX_BYTES)
        spider.extract_time_limit = crawler.settings.getfloat("EXTRACT_TIME_LIMIT", EXTRACT_TIME_LIMIT)
        spider.extractor.stuck_after = 2 * spider.extract_time_limit + 10
        crawler.signals.connect(spider.request_dropped, signal=signals.request_dropped)
        return spider

    def closed(self, reason: str) -> None:
        if self.refused is None:
            self.extractor.close()

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
        if self.refused is not None:
            return
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
        # what earlier runs failed to fetch, once its retry is due
        for failed in self.archive.due_failures(self.site_id):
            if failed.kind == "attachment":
                yield self.attachment_request(failed.url, failed.article_url, failed.link_text, retry=True)
            else:
                yield scrapy.Request(failed.url, callback=self.parse_article, errback=self.article_failed,
                                     priority=-500, meta={"failed_before": True})

    def attachment_request(self, url: str, article_url: str | None, link_text: str | None,
                           retry: bool = False) -> scrapy.Request:
        return scrapy.Request(url, callback=self.parse_attachment, errback=self.attachment_failed,
                              meta={"article_url": article_url, "link_text": link_text, "failed_before": retry,
                                    "download_maxsize": self.attachment_max_bytes})

    # ------------------------------------------------------------------ callbacks

    def parse_list(self, response, start_url: str, pagination: Pagination, index: int, form: dict | None):
        self.crawler.stats.inc_value("muniarchive/list_pages")
        text = decode_body(response.body, response.headers.get("Content-Type", b"").decode("latin-1"),
                           self.site.encoding).text
        listing = parse_list_page(text, response.url, pagination, start_url, index, form)
        if listing.error:
            self.record_fault(response.request, "list", listing.error)
        articles = list(dict.fromkeys(u for u, _ in listing.links if self.article_re.search(u) and self.allowed(u)))
        following = listing.next
        self.health.list_page(start_url, pagination.kind, response.url, index, len(listing.links), articles,
                              advertised_pages(text, response.url), bool(following))
        known = self.archive.known_urls(self.site_id, articles)
        failing = self.archive.failing_urls(self.site_id, articles)  # dead, or retried when due (start)
        for url, (_, reason) in failing.items():
            self.health.article_failed(url, failure_label(reason))
        new = [u for u in articles if u not in known and u not in failing]
        for rank, url in enumerate(new):
            yield scrapy.Request(url, callback=self.parse_article, errback=self.article_failed, priority=-rank)
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
            decoded_info, fields, links, selector_matched = await self.extractor.run(
                "page", parsed_part(response.body, self.extract_max_bytes), response.url, content_type,
                capture.fetched_at, self.extract_time_limit, len(response.body))
        except Exception as exc:  # the page is stored all the same, its raw bytes kept for reprocess
            error = describe_exception(exc)
            self.logger.warning("extraction failed: %s: %s", response.url, error)
            if len(self.extraction_errors) < MAX_RECORDED_FAILURES:
                self.extraction_errors.append({"url": response.url, "error": error})
            yield ArticleItem(capture=capture, extraction_failed=True, article=failed_article(error),
                              clears_failure=self._fetched(response))
            return
        self.health.page_extracted(selector_matched)
        capture.encoding, capture.encoding_step, capture.declared_encoding = decoded_info
        yield ArticleItem(capture=capture, extraction_failed=fields["body"] is None, article=ArticleData(**fields),
                          clears_failure=self._fetched(response))
        links = dict(links)
        attachments = [u for u in links if self.attachment_re.search(u) and self.allowed(u)]
        known = self.archive.known_urls(self.site_id, attachments, kind="attachment") if attachments else set()
        failing = self.archive.failing_urls(self.site_id, attachments, kind="attachment") if attachments else {}
        for url in attachments:
            if url not in known and url not in failing:
                yield self.attachment_request(url, response.url, links[url])

    def _fetched(self, response) -> str | None:
        """Note an article fetched; the URL of the failed URL it makes good, if it was one."""
        url = asked_url(response)
        self.health.article_fetched(url)
        return url if response.meta.get("failed_before") else None

    async def parse_attachment(self, response):
        header = response.headers.get
        name, file_type = file_name_and_type(response.url, (header("Content-Disposition") or b"").decode("latin-1"),
                                             (header("Content-Type") or b"").decode("latin-1"))
        try:
            document = await self.extractor.run("document", response.body, file_type)
            text, note = document.text, document.note
        except Exception as exc:  # the file is kept all the same
            text, note = None, f"text extraction failed: {describe_exception(exc)}"
        yield AttachmentItem(url=response.url, article_url=response.meta["article_url"],
                             link_text=response.meta["link_text"], capture=capture_of(response), status="fetched",
                             file_name=name, file_type=file_type, text=text, text_note=note,
                             clears_failure=asked_url(response) if response.meta.get("failed_before") else None)

    # ------------------------------------------------------------------ failures

    @staticmethod
    def _describe(failure: Failure) -> str:
        if failure.check(HttpError):
            return f"HTTP {failure.value.response.status}"
        if failure.check(IgnoreRequest):
            return str(failure.value) or "ignored (robots.txt or size limit)"
        return describe_exception(failure.value, failure.getErrorMessage())

    def _remembered(self, failure: Failure, kind: str, error: str | None = None):
        """A failed article or attachment: in the run's errors, and remembered as a failed URL."""
        request = failure.request
        error = error or self._describe(failure)
        self.record_fault(request, kind, error, remembered=True)
        return FailedUrlItem(kind=kind, url=asked_url(request), reason=error, permanent=permanent_failure(failure),
                             article_url=request.meta.get("article_url"), link_text=request.meta.get("link_text"))

    def record_fault(self, request: scrapy.Request, kind: str, error: str, remembered: bool = False) -> None:
        """A request that ended without a page: in the run's errors under the URL first asked
        for (a redirect's target is named in the error). Unless it is remembered as a failed
        URL, the run is incomplete: the next run walks every list page again."""
        url = asked_url(request)
        self.failed_urls.add(request.url)
        self.unremembered_faults += not remembered
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
        self.record_fault(failure.request, "list", self._describe(failure))
        if index == 0:
            self.crawler.stats.inc_value("muniarchive/list_failures")

    def article_failed(self, failure: Failure):
        item = self._remembered(failure, "article")
        if not failure.request.meta.get("failed_before"):  # a retry's failure says nothing new of the lists
            self.health.article_failed(item.url, failure_label(item.reason))
        yield item

    def attachment_failed(self, failure: Failure):
        request = failure.request
        error = self._describe(failure)
        too_large = "maxsize" in error.lower() or "larger than" in error.lower()
        if too_large:  # the configured limit at work, not a fault: the next run need not look again
            self.logger.info("attachment over the size limit: %s: %s", request.url, error)
        name, file_type = file_name_and_type(request.url)
        yield AttachmentItem(url=request.url, article_url=request.meta.get("article_url"),
                             link_text=request.meta.get("link_text"), capture=None,
                             status="too_large" if too_large else "failed", error=error,
                             file_name=name, file_type=file_type)
        if not too_large:
            yield self._remembered(failure, "attachment", error)
