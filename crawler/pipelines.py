"""Item pipeline: every item goes to the archive.

Writes run on one dedicated thread so the reactor keeps downloading while SQLite commits.
The thread writes whatever has queued up since its last commit in one transaction (a busy
crawl commits far less often), in arrival order, so an article is stored before its
attachments.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from concurrent.futures import Future

from scrapy.crawler import Crawler

from archive import ArchiveError
from crawler.items import ArticleItem, AttachmentItem, FailedUrlItem, describe_exception, failed_article

MAX_BATCH = 100


class ArchivePipeline:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.pending: queue.Queue = queue.Queue()
        self.writer = threading.Thread(target=self._write_loop, name="archive-writer", daemon=True)
        self.writer.start()
        self.closing = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        return cls(crawler)

    def close_spider(self) -> None:
        self.pending.put(None)
        self.writer.join()

    async def process_item(self, item):
        done: Future = Future()
        self.pending.put((item, done))
        try:
            outcome = await asyncio.wrap_future(done)
        except Exception as exc:
            self._archive_failed(item, exc)
            raise
        stats = self.crawler.stats
        if isinstance(item, ArticleItem):
            stats.inc_value(f"muniarchive/articles_{outcome}")
            if item.extraction_failed:
                stats.inc_value("muniarchive/extraction_failures")
        elif isinstance(item, AttachmentItem):
            stats.inc_value(f"muniarchive/attachments_{outcome}")
        else:
            stats.inc_value(f"muniarchive/urls_{outcome}")
        return item

    def _archive_failed(self, item, exc: Exception) -> None:
        """The archive refused a write (disk full, database gone): stop, and fail the run.

        Going on would fetch pages that cannot be kept; the records not written are still
        missing from the archive, so the next run fetches them again.
        """
        spider = self.crawler.spider
        url = item.capture.url if isinstance(item, ArticleItem) else item.url
        spider.unremembered_faults += 1
        spider.failures.insert(0, {"url": url, "kind": "archive", "error": f"{url}: {exc}"})
        self.crawler.stats.inc_value("muniarchive/errors")
        if not self.closing:
            self.closing = True
            # not awaited: closing waits for in-flight items, this one among them
            asyncio.ensure_future(self.crawler.engine.close_spider_async(reason="archive_error"))

    def _write_loop(self) -> None:
        while (first := self.pending.get()) is not None:
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    entry = self.pending.get_nowait()
                except queue.Empty:
                    break
                if entry is None:
                    self.pending.put(None)  # finish this batch, then stop
                    break
                batch.append(entry)
            try:
                outcomes = self.crawler.spider.archive.write_all([self._write_of(item) for item, _ in batch])
            except ArchiveError as exc:  # the items' own coroutines raise it, so Scrapy reports each
                for _, done in batch:
                    done.set_exception(exc)
            except Exception:  # a record the archive would not take (not the archive failing): find it
                for item, done in batch:
                    self._write_alone(item, done)
            else:
                for (_, done), outcome in zip(batch, outcomes, strict=True):
                    done.set_result(outcome)

    def _write_alone(self, item, done: Future) -> None:
        """Write one item; an article the archive refuses is stored as an extraction failure
        (its capture kept, the error in quality), so the page is not lost."""
        archive = self.crawler.spider.archive
        try:
            done.set_result(archive.write_all([self._write_of(item)])[0])
            return
        except ArchiveError as exc:
            done.set_exception(exc)
            return
        except Exception as exc:
            if not isinstance(item, ArticleItem):
                done.set_exception(exc)
                return
            error = describe_exception(exc)
            self.crawler.spider.logger.warning("storing the extracted record failed: %s: %s", item.capture.url, error)
            item.article, item.extraction_failed = failed_article(f"storing the record: {error}"), True
        try:
            done.set_result(archive.write_all([self._write_of(item)])[0])
        except Exception as exc:
            done.set_exception(exc)

    def _write_of(self, item):
        spider = self.crawler.spider
        archive, site_id, run_id = spider.archive, spider.site_id, spider.run_id
        if isinstance(item, FailedUrlItem):
            defaults = spider.config.defaults
            return archive.failure_write(site_id, run_id, item.kind, item.url, item.reason, permanent=item.permanent,
                                         max_attempts=defaults.failed_url_attempts,
                                         retry_delay=defaults.failed_url_retry_delay,
                                         article_url=item.article_url, link_text=item.link_text)
        if isinstance(item, ArticleItem):
            work = archive.article_write(site_id, run_id, item.capture, item.article)
        else:
            work = archive.attachment_write(
                site_id, run_id, item.url, article_url=item.article_url, link_text=item.link_text,
                capture=item.capture, status=item.status, error=item.error, file_name=item.file_name,
                file_type=item.file_type, text=item.text, text_note=item.text_note,
            )
        if item.clears_failure is None:
            return work
        # fetched at last: the failed URL is forgotten in the same transaction as the record is stored
        forget = archive.failure_cleared_write(site_id, "article" if isinstance(item, ArticleItem) else "attachment",
                                               item.clears_failure)
        return lambda session: (forget(session), work(session))[1]
