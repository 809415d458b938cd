"""Scrapy settings for one site's crawl, from config.yaml's defaults.

Politeness and faults are Scrapy's own machinery: robots.txt, AutoThrottle, retries (plus a
backoff between them), download timeout and size limit.
"""

from __future__ import annotations

from crawler.config import Config


def crawl_settings(config: Config, log_file: str | None = None, log_level: str = "INFO") -> dict:
    d = config.defaults
    max_bytes = int(d.max_download_mb * 1024 * 1024)
    return {
        "BOT_NAME": "muniarchive",
        "USER_AGENT": d.user_agent,
        "ROBOTSTXT_OBEY": d.obey_robots_txt,
        "CONCURRENT_REQUESTS": max(16, d.concurrency_per_domain),
        "CONCURRENT_REQUESTS_PER_DOMAIN": d.concurrency_per_domain,
        "DOWNLOAD_DELAY": d.download_delay,
        "AUTOTHROTTLE_ENABLED": d.autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(d.download_delay, 1.0),
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(d.concurrency_per_domain),
        "RETRY_ENABLED": True,
        "RETRY_TIMES": d.retry_times,
        "RETRY_BACKOFF_BASE": d.retry_backoff,
        "DOWNLOAD_TIMEOUT": d.download_timeout,
        "DOWNLOAD_MAXSIZE": max_bytes,
        "DOWNLOAD_WARNSIZE": max_bytes // 2,
        # Scrapy starts this many asyncio workers for EVERY callback's output; ours yield a
        # handful of objects and the archive writes one at a time, so 100 (the default) only
        # burned CPU: measured by benchmarks/crawl.py.
        "CONCURRENT_ITEMS": 4,
        # Scrapy re-reads and compiles a generator callback's source on every response (its
        # cache is weakly keyed by bound methods, which die at once); ours return no values.
        "WARN_ON_GENERATOR_RETURN_VALUE": False,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "DNS_TIMEOUT": 20,
        "DOWNLOADER_MIDDLEWARES": {"crawler.middlewares.RetryBackoffMiddleware": 540},
        "ITEM_PIPELINES": {"crawler.pipelines.ArchivePipeline": 300},
        "EXTENSIONS": {"crawler.extensions.RunRecorder": 500},
        "LOG_LEVEL": log_level,
        "LOG_FILE": log_file,
        "LOG_FILE_APPEND": True,
    }
