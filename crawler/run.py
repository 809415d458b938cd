"""A crawl's start and its exit status: one code path for `python -m crawler crawl` and for
`scrapy crawl site -a site=KEY` (a Scrapyd job).

start_crawl() reads the config, opens the archive, and adopts the crawl_run row it is given
(one the scheduler made `running`) or starts its own; it raises CrawlRefused, a one-line
reason and an exit status, when the crawl cannot start. A crawl process that may not migrate
(a Scrapyd node: migrations are run once, by `muniarchive migrate`) refuses an archive that is
not at the newest revision.

Exit status: 0 succeeded (with or without warnings: the run's error says what looks wrong),
1 failed, 2 bad usage or config, 3 interrupted, 4 skipped: another run of the site is going
(this one is recorded `skipped`).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

from archive import Archive, ArchiveError, RunGoing
from archive.db import check_revision
from crawler.config import Config, ConfigError, SiteConfig, load_config

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_SKIPPED = 0, 1, 2, 3, 4
# where a crawl started without `config` finds its config file (a Scrapyd node's environment)
CONFIG_ENV = "MUNIARCHIVE_CONFIG"


class CrawlRefused(Exception):
    """A crawl that cannot start: str() is the one-line reason, exit_status the process's."""

    def __init__(self, message: str, exit_status: int):
        super().__init__(message)
        self.exit_status = exit_status

    @property
    def line(self) -> str:
        """The reason as a crawl process prints it: `skipped: ...` or `error: ...`."""
        return f"{'skipped' if self.exit_status == EXIT_SKIPPED else 'error'}: {self}"


@dataclass
class CrawlStart:
    config: Config
    site: SiteConfig
    archive: Archive
    site_id: int
    run_id: int


def start_crawl(site_key: str | None, *, config_path: str | os.PathLike | None = None,
                run_id: int | str | None = None, log_path: str | None = None, migrate: bool = False) -> CrawlStart:
    """The crawl of `site_key` started (or refused: CrawlRefused). `migrate`: bring a new or
    older archive to the newest revision first, instead of refusing it."""
    if not site_key:
        raise CrawlRefused("no site: name one with -a site=KEY", EXIT_USAGE)
    config_path = config_path or os.environ.get(CONFIG_ENV)
    if not config_path:
        raise CrawlRefused(f"no config file: pass -a config=PATH or set ${CONFIG_ENV}", EXIT_USAGE)
    try:
        run_id = int(run_id) if run_id not in (None, "") else None
    except ValueError:
        raise CrawlRefused(f"run_id {run_id!r} is not a number", EXIT_USAGE) from None
    try:
        config = load_config(config_path)
        site = config.site(site_key)
        archive = Archive(config.database_url, upgrade=migrate)
        if not migrate:
            check_revision(archive.engine)
        site_id = archive.ensure_site(**site.archive_fields())
        if run_id is None:
            run_id = archive.start_run(site_id, pid=os.getpid(), log_path=log_path,
                                       reconcile=lambda: _reconcile(archive))
        else:
            archive.update_run(run_id, pid=os.getpid(), host=socket.gethostname())
    except RunGoing as going:
        raise CrawlRefused(str(going), EXIT_SKIPPED) from None
    except (ConfigError, ArchiveError) as exc:
        raise CrawlRefused(str(exc), EXIT_USAGE) from None
    # search rows, fingerprint bands and stories are made once the fetching is done
    # (extensions.CrawlFinisher): made per page, they held up the downloads (benchmarks/crawl.py)
    archive.defer_index = True
    return CrawlStart(config, site, archive, site_id, run_id)


def exit_status(crawler: Crawler) -> int:
    """The exit status of a crawl process, once its crawl is over."""
    spider = crawler.spider
    if spider is None:
        return EXIT_FAILED
    if spider.refused is not None:
        return spider.refused.exit_status
    return {"succeeded": EXIT_OK, "succeeded_with_warnings": EXIT_OK,
            "interrupted": EXIT_INTERRUPTED}.get(spider.run_status, EXIT_FAILED)


def _reconcile(archive: Archive) -> None:
    """Runs left `running` by dead processes recorded interrupted (only when a run of the site
    is found going: the scheduler's modules are not loaded otherwise)."""
    from scheduler.runner import reconcile_runs

    reconcile_runs(archive)
