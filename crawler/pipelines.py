"""Item pipeline: every item goes to the archive, one transaction each."""

from __future__ import annotations

from scrapy.crawler import Crawler

from crawler.items import ArticleItem, AttachmentItem


class ArchivePipeline:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        return cls(crawler)

    def process_item(self, item):
        spider = self.crawler.spider
        stats = self.crawler.stats
        archive, site_id, run_id = spider.archive, spider.site_id, spider.run_id
        if isinstance(item, ArticleItem):
            outcome = archive.store_article(site_id, run_id, item.capture, item.article)
            stats.inc_value(f"muniarchive/articles_{outcome}")
            if item.extraction_failed:
                stats.inc_value("muniarchive/extraction_failures")
        elif isinstance(item, AttachmentItem):
            outcome = archive.store_attachment(
                site_id, run_id, item.url, article_url=item.article_url, link_text=item.link_text,
                capture=item.capture, status=item.status, error=item.error,
            )
            stats.inc_value(f"muniarchive/attachments_{outcome}")
        return item
