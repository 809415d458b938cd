"""Downloader middlewares: the site's bounds, and the wait before a retry."""

from __future__ import annotations

import asyncio
import ipaddress
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response

from archive.models import utcnow

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> tuple[str, int] | None:
    """(host, port) of an http(s) URL, the port made explicit; None for any other URL."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    try:
        return parts.hostname, parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:  # a port that is not a number, or out of range
        return None


def _private(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_private or address.is_loopback or address.is_link_local or address.is_reserved


class SiteBounds:
    """What a site's crawl may fetch: http(s) at the host and port of one of its start URLs,
    or a host under its allowed_domains on the standard port (or a start URL's port).

    Private and loopback addresses pass only as a start URL's own host: a site's page must not
    lead the crawler to other services on its machine or network.
    """

    def __init__(self, start_urls: list[str], domains: list[str]):
        self.origins = {o for o in map(origin, start_urls) if o}
        self.ports = {port for _, port in self.origins} | set(DEFAULT_PORTS.values())
        self.domains = [d.lower().strip(".") for d in domains]

    def refusal(self, url: str) -> str | None:
        """None when `url` is within the site, else why not."""
        where = origin(url)
        if where is None:
            return f"not an http(s) URL with a host: {url[:80]}"
        if where in self.origins:
            return None
        host, port = where
        in_domains = any(host == d or host.endswith("." + d) for d in self.domains)
        if in_domains and port in self.ports and not _private(host):
            return None
        return f"outside the site ({host}:{port} is not its host and port)"


class OffsiteRedirect(IgnoreRequest):
    """A redirect that leads outside the site: recorded, never followed."""


class SiteBoundsMiddleware:
    """Refuses every request outside the spider's `bounds`, redirects included.

    Replaces Scrapy's OffsiteMiddleware (same place, before robots.txt, so nothing of another
    service is fetched, not even its robots.txt), which compares host names only: a redirect
    to another port on the same host went through it.
    """

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SiteBoundsMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        why = self.crawler.spider.bounds.refusal(request.url)
        if why is None:
            return
        self.crawler.stats.inc_value("muniarchive/offsite_refused")
        chain = request.meta.get("redirect_urls")
        if chain:
            raise OffsiteRedirect(f"off-site redirect: {chain[-1]} -> {request.url}: {why}")
        raise IgnoreRequest(f"off-site request {request.url}: {why}")


def retry_after_seconds(value: str) -> float | None:
    """A Retry-After header's delay: seconds, or an HTTP date."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - utcnow()).total_seconds())
    except (TypeError, ValueError):
        return None


class RetryBackoffMiddleware:
    """Wait before a retried request: RETRY_BACKOFF_BASE × 2^(retry − 1) seconds, or what the
    server's Retry-After asked (429, 503).

    Scrapy's RetryMiddleware re-queues a failed request at once; a server that is
    restarting or overloaded gets a moment to recover instead. A Retry-After longer than
    RETRY_AFTER_MAX (default 60 s) is not waited for within the crawl: the request fails at
    once, and as a transient failure a later run tries it again (archive.FailedUrl). Placed
    after RetryMiddleware in the response order, so it reads Retry-After before the retry is
    made.
    """

    def __init__(self, base: float, cap: float = 60.0):
        self.base, self.cap = base, cap

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryBackoffMiddleware:
        return cls(crawler.settings.getfloat("RETRY_BACKOFF_BASE", 1.0),
                   crawler.settings.getfloat("RETRY_AFTER_MAX", 60.0))

    async def process_request(self, request: Request) -> None:
        retries = request.meta.get("retry_times", 0)
        if retries:
            wait = max(self.base * 2 ** (retries - 1), request.meta.get("retry_after", 0.0))
            if wait > 0:
                await asyncio.sleep(min(self.cap, wait))

    def process_response(self, request: Request, response: Response) -> Response:
        header = response.headers.get("Retry-After")
        if header and response.status in (429, 503):
            wait = retry_after_seconds(header.decode("latin-1")) or 0.0
            if wait > self.cap:  # hours, say: not within this crawl
                request.meta["dont_retry"] = True
            # the retry is a copy of this request: it carries the server's wish in its meta
            request.meta["retry_after"] = wait
        return response
