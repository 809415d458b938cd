"""The reader's view of the archive, as a Datasette plugin `muniarchive serve` loads: pages of
our own on Datasette's server, drawn with its templates (scheduler/templates extend its
base.html), while its table browser stays under /DATABASE.

    /                  search box, the newest articles per site, the latest plan releases
    /search?q=         archive.queries.search, the CLI's search (also /search.json)
    /article/ID        an article laid out for reading
    /capture/ID        the stored raw bytes of a capture, with the content type it was served with

Every read goes through archive.queries on a read-only connection: to the file Datasette
serves, or, serving a PostgreSQL archive, to PostgreSQL itself (scheduler/serve.py), while a
thread remakes the table browser's SQLite snapshot every `refresh_seconds` and at SIGHUP. The
pages answer from a worker thread (SQLAlchemy is synchronous); times are in the config's zone.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
from datetime import datetime
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from datasette import hookimpl
from datasette.utils.asgi import NotFound, Response

from archive.db import ArchiveError
from archive.plans import releases
from archive.queries import article_record, latest_articles, raw_capture, read_only, search
from scheduler.serve import LIVE_ENV, make_snapshot

PLUGIN = "muniarchive"
RESULTS = 50
PER_SITE = 8
PLANS = 10
# labels of the government document fields (公开目录) an article may carry
DOCUMENT_LABELS = {"index_number": "索引号", "issuing_organ": "发布机构", "document_number": "发文字号",
                   "written_date": "成文日期", "subject": "主题分类", "validity": "有效性"}
# these render inside the browser without running anything of the page that was archived
INERT_TYPES = ("application/pdf", "image/", "text/plain")


class BadRequest(Exception):
    """A query parameter that cannot be used: shown on the page, with status 400."""


def _settings(datasette) -> tuple[str, str]:
    config = datasette.plugin_config(PLUGIN) or {}
    database = config.get("database") or datasette.get_database().name
    return database, config.get("timezone", "Asia/Shanghai")


def _archive(datasette):
    """One read-only archive per server: the PostgreSQL archive served, or the file Datasette serves."""
    if getattr(datasette, "_muniarchive", None) is None:
        database, _ = _settings(datasette)
        datasette._muniarchive = read_only(os.environ.get(LIVE_ENV)
                                           or f"sqlite:///{datasette.get_database(database).path}")
    return datasette._muniarchive


class SnapshotRefresher(threading.Thread):
    """Remakes the table browser's snapshot of a PostgreSQL archive every `seconds`, and at
    once when woken (SIGHUP), in the file Datasette serves (scheduler.serve.make_snapshot)."""

    def __init__(self, datasette, url: str, seconds: float):
        super().__init__(name="muniarchive-snapshots", daemon=True)
        self.datasette, self.url, self.seconds = datasette, url, seconds
        self.wake = threading.Event()

    def run(self) -> None:
        path = Path(self.datasette.get_database(_settings(self.datasette)[0]).path)
        while True:
            self.wake.wait(self.seconds)
            self.wake.clear()
            started = time.monotonic()
            try:
                articles = make_snapshot(self.url, path)
            except ArchiveError as exc:  # PostgreSQL away for a while: the last snapshot stays served
                print(f"snapshot not refreshed: {exc}", file=sys.stderr, flush=True)
                continue
            print(f"snapshot refreshed: {articles} articles in {time.monotonic() - started:.1f} s",
                  file=sys.stderr, flush=True)


@hookimpl
def startup(datasette):
    config = datasette.plugin_config(PLUGIN) or {}
    url = os.environ.get(LIVE_ENV)
    if url and config.get("refresh_seconds"):
        refresher = SnapshotRefresher(datasette, url, float(config["refresh_seconds"]))
        # Datasette runs the startup hooks in the main thread, before its server starts
        signal.signal(signal.SIGHUP, lambda _signum, _frame: refresher.wake.set())
        refresher.start()


def local_time(value: datetime | None, tz: str, precision: str | None = "second") -> str:
    """A stored time in the config's zone, the zone written out: 2026-10-16 17:40 (UTC+08:00).
    A date known only to the day (or month) is shown as such."""
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(tz))
    if precision in ("day", "month"):
        return local.strftime("%Y-%m-%d" if precision == "day" else "%Y-%m")
    shown = local.strftime("%Y-%m-%d %H:%M:%S" if precision == "second" and local.second else "%Y-%m-%d %H:%M")
    return f"{shown} (UTC{local.isoformat()[-6:]})"


def _marked(snippet: str, highlights: list[list[int]]) -> list[tuple[str, bool]]:
    """The snippet cut into (text, is a match) pieces for the template."""
    pieces, last = [], 0
    for start, end in highlights:
        if start >= last:
            pieces += [(snippet[last:start], False), (snippet[start:end], True)]
            last = end
    return [*pieces, (snippet[last:], False)]


def _date(value: str, tz: str, name: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=ZoneInfo(tz))
    except ValueError:
        raise BadRequest(f"{name}: {value!r} is not a date (YYYY-MM-DD)") from None


async def home(request, datasette):
    archive, (database, tz) = _archive(datasette), _settings(datasette)
    sites = await asyncio.to_thread(latest_articles, archive, PER_SITE)
    plans = (await asyncio.to_thread(releases, archive))[:PLANS]
    for site in sites:
        for article in site["articles"]:
            article["time"] = local_time(article["publish_time"], tz, "day")
    plan_rows = [{"published": local_time(p.published_at, tz, "day"), "region": p.region, "stage": p.stage_label,
                  "period": p.period, "plan": p.plan_name, "title": p.title, "article_id": p.article_id, "url": p.url}
                 for p in plans]
    return Response.html(await datasette.render_template("reader_home.html", {
        "database": database, "sites": sites, "plans": plan_rows, "tz": tz}, request=request))


async def search_page(request, datasette):
    archive, (database, tz) = _archive(datasette), _settings(datasette)
    args = {name: request.args.get(name, "").strip() for name in ("q", "site", "from", "to")}
    hits, error = [], None
    try:
        if args["q"]:
            hits = await asyncio.to_thread(search, archive, args["q"], site=args["site"] or None,
                                    date_from=_date(args["from"], tz, "from"), date_to=_date(args["to"], tz, "to"),
                                    limit=RESULTS)
    except BadRequest as exc:
        error = str(exc)
    if request.url_vars.get("format") == ".json":
        if error:
            return Response.json({"error": error}, status=400)
        return Response.json([{**hit, "publish_time": hit["publish_time"].astimezone(ZoneInfo(tz)).isoformat()
                               if hit["publish_time"] else None, "archived": f"/article/{hit['id']}"}
                              for hit in hits])
    for hit in hits:
        hit["time"] = local_time(hit["publish_time"], tz, "day")
        hit["pieces"] = _marked(hit["snippet"], hit["highlights"])
    sites = [row["key"] for row in await datasette.get_database(database).execute("select key from site order by key")]
    return Response.html(await datasette.render_template("reader_search.html", {
        "database": database, "args": args, "hits": hits, "error": error, "sites": sites}, request=request),
        status=400 if error else 200)


async def article_page(request, datasette):
    archive, (database, tz) = _archive(datasette), _settings(datasette)
    record = await asyncio.to_thread(article_record, archive, article_id=int(request.url_vars["id"]))
    if record is None:
        raise NotFound(f"no article {request.url_vars['id']} in the archive")
    record["time"] = local_time(record["publish_time"], tz, record["publish_time_precision"])
    record["paragraphs"] = [line for line in (record["body"] or "").splitlines() if line.strip()]
    record["document_fields"] = [(DOCUMENT_LABELS[name], value) for name, value in record["document"].items()]
    for version in record["versions"]:
        version["time"] = local_time(version["created_at"], tz)
    for copy in record["copies"]:
        copy["time"] = local_time(copy["publish_time"], tz, "day")
    if record["capture"]:
        record["capture"]["time"] = local_time(record["capture"]["fetched_at"], tz)
    return Response.html(await datasette.render_template("reader_article.html", {
        "database": database, "article": record}, request=request))


async def capture(request, datasette):
    found = await asyncio.to_thread(raw_capture, _archive(datasette), int(request.url_vars["id"]))
    if found is None:
        raise NotFound(f"no capture {request.url_vars['id']} in the archive")
    content_type, body = found
    headers = {"X-Content-Type-Options": "nosniff"}
    if not content_type.lower().startswith(INERT_TYPES):
        # an archived page's scripts must not run as this server's pages
        headers["Content-Security-Policy"] = "sandbox"
    return Response(body, content_type=content_type, headers=headers)


async def stylesheet():
    css = resources.files("scheduler").joinpath("static/reader.css").read_text(encoding="utf-8")
    return Response(css, content_type="text/css; charset=utf-8", headers={"Cache-Control": "max-age=300"})


@hookimpl
def register_routes():
    return [
        (r"^/$", home),
        (r"^/search(?P<format>\.json)?$", search_page),
        (r"^/article/(?P<id>\d+)$", article_page),
        (r"^/capture/(?P<id>\d+)$", capture),
        (r"^/-/reader\.css$", stylesheet),
    ]
