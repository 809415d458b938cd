"""`scrapy crawl site -a site=KEY [-a run_id=N] [-a config=PATH]`: Scrapy's crawl command, whose
exit status says how the crawl went, as `python -m crawler crawl`'s does (crawler.run)."""

from __future__ import annotations

from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.exceptions import UsageError

from crawler.run import exit_status


class Command(ScrapyCrawl):
    def run(self, args, opts) -> None:
        if len(args) != 1:
            raise UsageError("name one spider: scrapy crawl site -a site=KEY")
        crawler = self._create_crawler(args[0])
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        self.exitcode = exit_status(crawler)
