"""`muniarchive serve`: the archive in a web browser, read-only, on Datasette.

Datasette serves two things on one port: the reader's view (scheduler/datasette_plugin.py:
a home page, search through archive.queries.search as the CLI does, article pages, raw
captures) and, under /DATABASE, its own table browser with canned queries for power users.
Datasette opens the file read-only, and the plugin reads through a connection SQLite keeps
read-only, so browsing while crawls run is safe. Times in the canned queries are shown in
the config's time zone (stored UTC), with the offset written out.

On PostgreSQL (Datasette reads SQLite files only) the reader's view reads the PostgreSQL
archive itself, read-only, so search, articles and raw captures are never stale; the table
browser under /archive reads a SQLite snapshot made with the copy code (archive/copy.py) of
every table but the raw captures and the dedup index, which it hides anyway, remade every
--refresh seconds (and at SIGHUP) in the background and written over the served file in
one step (make_snapshot).
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import tempfile
from contextlib import closing
from datetime import datetime
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from archive import Archive
from archive.db import sqlite_path
from archive.masking import mask_url

PLUGIN = "muniarchive"
# the hooks scheduler/datasette_plugin.py implements: the file Datasette loads imports them
HOOKS = ("register_routes", "startup")
# the PostgreSQL archive the reader's view reads, handed to Datasette's process (never in its
# metadata, which it serves at /-/metadata: the URL may hold a password)
LIVE_ENV = "MUNIARCHIVE_SERVE_ARCHIVE"
SNAPSHOT_NAME = "archive"
# left out of a snapshot: bulk the table browser hides (the reader serves captures from PostgreSQL)
SNAPSHOT_SKIP = ("capture", "lsh_band", "article_fingerprint", "index_queue", "apscheduler_jobs")
DEFAULT_REFRESH_SECONDS = 900


def _offset(tz: str) -> tuple[str, str]:
    """The zone's current offset as an SQLite datetime() modifier and as text: ('+8 hours', '+08:00')."""
    now = datetime.now(ZoneInfo(tz))
    return f"{now.utcoffset().total_seconds() / 3600:+g} hours", now.isoformat()[-6:]


def metadata(database: str, tz: str, settings: dict | None = None) -> dict:
    modifier, label = _offset(tz)

    def at(column: str) -> str:
        return f"strftime('%Y-%m-%d %H:%M', {column}, '{modifier}') || ' {label}'"

    queries = {
        "latest_articles": {
            "title": "Latest articles per site",
            "description": "The newest ten articles of every site, by publish time.",
            "sql": f"""select site.key as site, {at('a.publish_time')} as published, a.title, a.url, a.source,
'/article/' || a.id as archived
from (select *, row_number() over (partition by site_id order by publish_time desc) as n from article) a
join site on site.id = a.site_id where a.n <= 10 order by site.key, a.publish_time desc""",
        },
        "plan_releases": {
            "title": "Plan releases",
            "description": "Plans found by the plan-release watch: which plan, which stage (建议, 纲要草案, "
                           "征求意见稿, 印发, 中期评估, 调整/修订), where and when, newest first.",
            "sql": f"""select {at('p.published_at')} as published, p.region, p.stage_label as stage, p.period,
p.plan_name, p.kind, p.title as document, p.url, '/article/' || p.article_id as archived,
{at('p.first_seen')} as first_seen, p.version
from plan_release p order by p.published_at desc, p.id desc""",
        },
        "recent_runs": {
            "title": "Recent crawl runs",
            "description": "The last 100 runs: status, what they archived, errors.",
            "sql": f"""select r.id as run, site.key as site, r.trigger, r.status, {at('r.started_at')} as started,
round((julianday(r.finished_at) - julianday(r.started_at)) * 86400, 1) as seconds,
json_extract(r.stats, '$.articles_new') as new, json_extract(r.stats, '$.articles_updated') as updated,
json_extract(r.stats, '$.errors') as errors, r.error, r.log_path as log
from crawl_run r join site on site.id = r.site_id order by r.id desc limit 100""",
        },
        "story_clusters": {
            "title": "Story clusters",
            "description": "Articles carrying the same text on several URLs or sites (reprints).",
            "sql": f"""select a.story_id as story, site.key as site, {at('a.publish_time')} as published, a.title, a.url,
'/article/' || a.id as archived
from article a join site on site.id = a.site_id
where a.story_id in (select story_id from article where story_id is not null group by story_id
                     having count(*) > 1)
order by a.story_id desc, a.publish_time""",
        },
    }
    return {
        "title": "muniarchive",
        "description": "The archive of Chinese municipal news and government sites, read-only. "
                       "Search and read articles at /.",
        "plugins": {PLUGIN: {"database": database, "timezone": tz, **(settings or {})}},
        "databases": {database: {
            "queries": queries,
            "tables": {
                # search is /search (archive.queries.search, as the CLI): the table's own FTS box
                # would miss terms under three characters and other spellings of a plan period
                "article": {"sort_desc": "publish_time", "label_column": "title"},
                "capture": {"hidden": True},
                "lsh_band": {"hidden": True},
                "article_fingerprint": {"hidden": True},
                "apscheduler_jobs": {"hidden": True},
                "alembic_version": {"hidden": True},
                "plan_watch": {"hidden": True},
            },
        }},
    }


def _remove(path: Path) -> None:
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm"):
        path.with_name(name).unlink(missing_ok=True)


def make_snapshot(url: str, path: Path) -> int:
    """A SQLite snapshot of the archive at `url` for the table browser, made beside `path`
    and put in its place when complete; returns how many articles it holds.

    A snapshot already served is overwritten through SQLite's backup API in one step: the
    server's open connections (Datasette keeps one per thread) see the old pages or the new,
    never a mixture, and nothing needs to reopen the file."""
    from archive.copy import copy_archive

    fresh = path.with_name(f"{path.stem}-next.db")
    _remove(fresh)
    report = copy_archive(url, f"sqlite:///{fresh}", skip=SNAPSHOT_SKIP, search=False, verify=False)
    with closing(sqlite3.connect(fresh)) as made, closing(sqlite3.connect(path)) as served:
        made.backup(served)
    _remove(fresh)
    return next(table.target_rows for table in report.tables if table.table == "article")


def datasette_command(database_url: str, tz: str, host: str, port: int,
                      refresh_seconds: int = DEFAULT_REFRESH_SECONDS) -> list[str]:
    """The `datasette serve` command line for this archive (created or migrated first, so
    every table is there), with the reader's view plugged in. On PostgreSQL the first
    snapshot is made here, and the archive's URL goes to Datasette's process in LIVE_ENV."""
    Archive(database_url).close()
    folder = Path(tempfile.mkdtemp(prefix="muniarchive-serve-"))
    path = sqlite_path(database_url)
    settings = {}
    if path is None:
        path = folder / f"{SNAPSHOT_NAME}.db"
        articles = make_snapshot(database_url, path)
        print(f"snapshot of {mask_url(database_url)} for the table browser: {articles} articles "
              f"(remade every {refresh_seconds} s, and at SIGHUP)", file=sys.stderr, flush=True)
        os.environ[LIVE_ENV] = database_url
        settings = {"refresh_seconds": refresh_seconds}
    (folder / "metadata.json").write_text(json.dumps(metadata(path.stem, tz, settings), ensure_ascii=False),
                                          encoding="utf-8")
    plugins = folder / "plugins"
    plugins.mkdir()
    (plugins / "muniarchive_plugin.py").write_text(
        f"from scheduler.datasette_plugin import {', '.join(HOOKS)}  # noqa\n", encoding="utf-8")
    return [sys.executable, "-m", "datasette", "serve", str(path), "--host", host, "--port", str(port),
            "--metadata", str(folder / "metadata.json"), "--plugins-dir", str(plugins),
            "--template-dir", str(resources.files("scheduler") / "templates"),
            "--setting", "sql_time_limit_ms", "3000", "--setting", "default_page_size", "50"]
