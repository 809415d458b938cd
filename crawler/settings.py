"""The project's Scrapy settings module (scrapy.cfg's `default`, the egg's `scrapy` entry point).

What every crawl shares is set here, at module level, as Scrapy and Scrapyd read a settings
module; what config.yaml decides (politeness, limits) is crawl_settings(config), applied by the
spider once it has read its config (SiteSpider.from_crawler, at the spider's priority, so a
`-s NAME=VALUE` on the command line still wins).

Politeness and faults are Scrapy's own machinery: robots.txt, AutoThrottle, retries (plus a
backoff between them, or the server's Retry-After), download timeout and size limit; the
site's bounds (scheme, host and port) are checked on every request, redirects included.
"""

from __future__ import annotations

from scrapy.settings import default_settings

from crawler.config import Config

BOT_NAME = "muniarchive"
SPIDER_MODULES = ["crawler.spider"]
# `scrapy crawl` with the exit status of `python -m crawler crawl` (crawler/commands/crawl.py)
COMMANDS_MODULE = "crawler.commands"

# an article page: at most this much of it is parsed (the whole page is stored), and its
# extraction may take this long; past either the page is stored with a note saying so
EXTRACT_MAX_BYTES = 2 * 1024 * 1024
EXTRACT_TIME_LIMIT = 30.0

# Scrapy components a crawl never uses. Scrapy imports every component it lists, even one
# set to None, so they are left out of its base lists instead: RemoteControl runs Python sent
# to a local HTTP port and brought aiohttp (0.45 s of imports) into every crawl; the cookies
# middleware (cookies are off) brought tldextract and requests.
_UNUSED_COMPONENTS = {"scrapy.extensions.remote_control.RemoteControl",
                     "scrapy.downloadermiddlewares.cookies.CookiesMiddleware"}


def _without_unused(components: dict) -> dict:
    return {path: order for path, order in components.items() if path not in _UNUSED_COMPONENTS}


RETRY_ENABLED = True
# Scrapy starts this many asyncio workers for EVERY callback's output; ours yield a handful of
# objects and the archive writes one at a time, so 100 (the default) only burned CPU: measured
# by benchmarks/crawl.py.
CONCURRENT_ITEMS = 4
# Scrapy re-reads and compiles a generator callback's source on every response (its cache is
# weakly keyed by bound methods, which die at once); ours return no values.
WARN_ON_GENERATOR_RETURN_VALUE = False
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
EXTENSIONS_BASE = _without_unused(default_settings.EXTENSIONS_BASE)
DOWNLOADER_MIDDLEWARES_BASE = _without_unused(default_settings.DOWNLOADER_MIDDLEWARES_BASE)
DNS_TIMEOUT = 20
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,  # ignores ports
    "crawler.middlewares.SiteBoundsMiddleware": 50,
    "crawler.middlewares.RetryBackoffMiddleware": 560,
}
ITEM_PIPELINES = {"crawler.pipelines.ArchivePipeline": 300}
# RunRecorder writes the run's outcome as the spider closes; CrawlFinisher then indexes what
# was fetched (engine_stopped comes after every spider_closed handler)
EXTENSIONS = {"crawler.extensions.RunRecorder": 500, "crawler.extensions.CrawlFinisher": 510}
LOG_LEVEL = "INFO"  # Scrapy's DEBUG logs every item: each page's bytes
LOG_FILE_APPEND = True


def crawl_settings(config: Config) -> dict:
    """The settings config.yaml's defaults decide."""
    d = config.defaults
    max_bytes = int(d.max_download_mb * 1024 * 1024)
    return {
        "USER_AGENT": d.user_agent,
        "ROBOTSTXT_OBEY": d.obey_robots_txt,
        "CONCURRENT_REQUESTS": max(16, d.concurrency_per_domain),
        "CONCURRENT_REQUESTS_PER_DOMAIN": d.concurrency_per_domain,
        "DOWNLOAD_DELAY": d.download_delay,
        "AUTOTHROTTLE_ENABLED": d.autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(d.download_delay, 1.0),
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(d.concurrency_per_domain),
        "RETRY_TIMES": d.retry_times,
        "RETRY_BACKOFF_BASE": d.retry_backoff,
        "DOWNLOAD_TIMEOUT": d.download_timeout,
        "DOWNLOAD_MAXSIZE": max_bytes,
        "DOWNLOAD_WARNSIZE": max_bytes // 2,
        # a big page waits in the scraper while it is extracted and stored; above this much
        # response data in the scraper Scrapy stops downloading (its default, 5 MB, stalled the
        # crawl behind every big page): the largest page a download may be
        "SCRAPER_SLOT_MAX_ACTIVE_SIZE": max_bytes,
    }
