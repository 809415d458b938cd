"""Reading the archive back the way a user would see it; an endpoint that collects alerts."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

from alembic import command
from sqlalchemy import create_engine, func, select

from archive import Archive
from archive.db import _alembic_config
from archive.models import Article, ArticleVersion, Attachment, Site

CHINA = ZoneInfo("Asia/Shanghai")


def wait_for(condition, timeout: float, what: str, interval: float = 0.2):
    """condition()'s first true value, polled until `timeout` s (for what another process does:
    a row it writes, its exit); an AssertionError naming `what` past the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def articles_by_url(archive: Archive) -> dict[str, Article]:
    with archive.session() as session:
        return {a.url: a for a in session.scalars(select(Article))}


def table_count(archive: Archive, model) -> int:
    with archive.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def snapshot(archive: Archive) -> dict:
    """Everything a crawl may change, to compare before and after."""
    with archive.session() as session:
        return {
            "articles": sorted((a.url, a.content_hash, a.version) for a in session.scalars(select(Article))),
            "versions": table_count(archive, ArticleVersion),
            "attachments": table_count(archive, Attachment),
            "sites": table_count(archive, Site),
        }


def local_time_text(article: Article) -> str:
    """The publish time as the page printed it (China time, at the stored precision)."""
    value = article.publish_time.astimezone(CHINA)
    return value.strftime({"second": "%Y-%m-%d %H:%M:%S", "minute": "%Y-%m-%d %H:%M",
                           "day": "%Y-%m-%d"}[article.publish_time_precision])


class Receiver:
    """An HTTP endpoint on 127.0.0.1 collecting what Apprise's json:// posts."""

    def __init__(self, port: int = 0):
        self.received: list[dict] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _alembic(engine, step, revision: str) -> None:
    alembic = _alembic_config()
    with engine.begin() as connection:
        alembic.attributes["connection"] = connection
        step(alembic, revision)


def archive_at_revision(path, revision: str):
    """A SQLite archive file migrated only to `revision`, as that release left it: (URL, engine)."""
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    _alembic(engine, command.upgrade, revision)
    return url, engine


def downgrade(engine, revision: str) -> None:
    """The archive's schema taken back to `revision` (Alembic's `downgrade`; "-1": one step)."""
    _alembic(engine, command.downgrade, revision)
