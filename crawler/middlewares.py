"""Downloader middlewares."""

from __future__ import annotations

import asyncio

from scrapy.crawler import Crawler
from scrapy.http import Request


class RetryBackoffMiddleware:
    """Wait before a retried request: RETRY_BACKOFF_BASE × 2^(retry − 1) seconds.

    Scrapy's RetryMiddleware re-queues a failed request at once; a server that is
    restarting or overloaded gets a moment to recover instead.
    """

    def __init__(self, base: float, cap: float = 60.0):
        self.base, self.cap = base, cap

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryBackoffMiddleware:
        return cls(crawler.settings.getfloat("RETRY_BACKOFF_BASE", 1.0))

    async def process_request(self, request: Request) -> None:
        retries = request.meta.get("retry_times", 0)
        if retries and self.base > 0:
            await asyncio.sleep(min(self.cap, self.base * 2 ** (retries - 1)))
