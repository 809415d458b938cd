"""RunRecorder: writes the crawl's stats to its crawl_run row as it goes (every
RUN_STATS_INTERVAL seconds, so a crawl killed outright leaves what it had done), and its
outcome and health when the spider closes. CrawlFinisher: once the fetching is over, what was
archived is indexed for search and stories.

Neither does anything for a crawl that was refused at its start (crawler.run.start_crawl):
it has no run of its own to write to."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from scrapy import signals
from scrapy.crawler import Crawler
from twisted.internet import task, threads

from archive import ArchiveError
from archive.models import utcnow
from crawler.workers import own_peak_rss_mb


def run_stats(stats: dict) -> dict:
    """The figures a person reads about a run, from Scrapy's stats."""
    ours = {k.removeprefix("muniarchive/"): v for k, v in stats.items() if k.startswith("muniarchive/")}
    by_status = {k.rsplit("/", 1)[1]: v for k, v in stats.items() if k.startswith("downloader/response_status_count/")}
    return {
        "requests": stats.get("downloader/request_count", 0),
        "responses_by_status": by_status,
        "bytes": stats.get("downloader/response_bytes", 0),
        "list_pages": ours.get("list_pages", 0),
        "articles_new": ours.get("articles_new", 0),
        "articles_updated": ours.get("articles_updated", 0),
        "articles_unchanged": ours.get("articles_unchanged", 0),
        "attachments_new": ours.get("attachments_new", 0),
        "attachments_updated": ours.get("attachments_updated", 0),  # fetched at last, after failing
        "urls_dead": ours.get("urls_dead", 0),  # failed for good in this run (see archive.FailedUrl)
        "urls_retrying": ours.get("urls_retrying", 0),  # failed, tried again by a later run
        "extraction_failures": ours.get("extraction_failures", 0),
        "errors": ours.get("errors", 0),
        "list_failures": ours.get("list_failures", 0),
        "robots_forbidden": stats.get("robotstxt/forbidden", 0),
        "elapsed_seconds": stats.get("elapsed_time_seconds"),
    }


def rss_bytes(pids) -> int:
    """Resident memory of these processes now (Linux /proc; one that has ended counts 0)."""
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total * os.sysconf("SC_PAGE_SIZE")


class TreeMemory(threading.Thread):
    """Samples the crawl's processes (the crawl and its extraction workers, `pids()`) every
    `interval` s: each process's own peak is known, not the peak of their sum. The workers
    are the crawl's only children, so their pids are asked for, not searched for in /proc
    (which holds every process of the machine)."""

    def __init__(self, pids, interval: float = 0.2):
        super().__init__(name="tree-memory", daemon=True)
        self.pids, self.interval, self.peak = pids, interval, 0
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            self.peak = max(self.peak, rss_bytes([os.getpid(), *self.pids()]))


class RunRecorder:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.status: str | None = None
        self.memory = TreeMemory(lambda: crawler.spider.extractor.pids())
        self.interval = crawler.settings.getfloat("RUN_STATS_INTERVAL", 5.0)
        self.progress: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunRecorder:
        recorder = cls(crawler)
        crawler.signals.connect(recorder.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(recorder.spider_closed, signal=signals.spider_closed)
        return recorder

    def spider_opened(self, spider) -> None:
        if spider.refused is not None:
            return
        self.memory.start()
        if self.interval:
            self.progress = task.LoopingCall(self._write_progress, spider)
            self.progress.start(self.interval, now=False)

    def _write_progress(self, spider):
        """The stats so far, written off the reactor; the run stays `running`."""
        stats = run_stats(self.crawler.stats.get_stats())
        stats.update(spider.health.stats())
        return threads.deferToThread(spider.archive.update_run, spider.run_id, stats=stats,
                                     while_running=True).addErrback(
            lambda failure: spider.logger.warning("writing the run's stats so far failed: %s", failure.value))

    def spider_closed(self, spider, reason: str) -> None:
        if spider.refused is not None:
            return
        if self.progress is not None and self.progress.running:
            self.progress.stop()
        stats = run_stats(self.crawler.stats.get_stats())
        stats.update(spider.health.stats())
        stats["finish_reason"] = reason
        # the spider's own close handler (connected before any extension's) has already
        # stopped its extraction workers, each reporting its own peak as it went
        stats["peak_rss_mb"] = own_peak_rss_mb()
        workers = spider.extractor
        stats["extraction_workers_started"] = workers.started
        stats["worker_peak_rss_mb"] = max(workers.peaks) if workers.peaks else None
        # how many times results from the workers woke the reactor: fewer than pages when busy
        stats["extraction_deliveries"] = workers.deliveries
        self.memory.stopping.set()
        # sampling may miss a short peak: the tree held at least the crawl's own
        stats["tree_peak_rss_mb"] = max(round(self.memory.peak / 2**20, 1), stats["peak_rss_mb"])
        stats["failed_urls"] = spider.failures
        stats["extraction_errors"] = spider.extraction_errors
        # a column whose first list page could not be read means the site was not crawled
        warnings = []
        if stats["list_failures"] or reason not in ("finished", "shutdown"):
            status = "failed"
        elif reason == "shutdown":
            status = "interrupted"
        else:
            warnings = spider.health.warnings()
            status = "succeeded_with_warnings" if warnings else "succeeded"
        for warning in warnings:
            spider.logger.warning("run health: %s", warning["reason"])
        stats["warnings"] = warnings
        # the next run pages through every list again unless this one saw every page it wanted
        # (failed articles and attachments are remembered, and retried, apart) with this config
        stats["complete"] = status == "succeeded" and not spider.unremembered_faults
        stats["config_hash"] = spider.config_hash
        error = spider.failures[0]["error"] if status == "failed" and spider.failures else None
        if warnings:
            error = "; ".join(warning["reason"] for warning in warnings)
        spider.archive.update_run(spider.run_id, status=status, finished_at=utcnow(), stats=stats, error=error)
        self.status = status
        spider.run_status = status


class CrawlFinisher:
    """After the fetching (engine_stopped: every spider_closed handler has run): a run whose
    outcome was never recorded (e.g. the archive refused it) is recorded failed, and the
    backlog of articles is indexed for search and stories (if that fails, what was archived
    stays archived and queued: the next crawl's indexing takes it up)."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlFinisher:
        finisher = cls(crawler)
        crawler.signals.connect(finisher.engine_stopped, signal=signals.engine_stopped)
        return finisher

    def engine_stopped(self) -> None:
        spider = self.crawler.spider
        if spider is None or spider.refused is not None:
            return
        if spider.run_status is None:
            spider.logger.error("the crawl ended without recording its outcome")
            try:
                spider.archive.update_run(spider.run_id, status="failed",
                                          error="the crawl ended without recording its outcome")
            except ArchiveError as exc:
                spider.logger.error("%s", exc)
        try:
            spider.logger.info("indexed %d articles for search and stories", spider.archive.index_backlog())
        except ArchiveError as exc:
            spider.logger.error("indexing after the crawl: %s", exc)
