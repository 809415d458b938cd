"""`muniarchive serve` on a PostgreSQL archive: the reader's pages (search, articles, raw
captures) read PostgreSQL itself, read-only; Datasette's table browser reads a SQLite snapshot
of it, remade in the background and at once on SIGHUP."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from archive import Archive, ArticleData
from archive.models import Article
from archive.queries import read_only
from crawler.config import load_config
from crawler.samplesites import SampleSites
from scheduler.runner import run_crawl
from tests.helpers import wait_for
from tests.test_serve import free_port, get, get_json

ROOT = Path(__file__).resolve().parents[1]
NEW_TITLE = "滨河市召开海洋经济高质量发展推进会"


@pytest.fixture
def served(tmp_path, postgres_url):
    """Two sample sites crawled into PostgreSQL, then `muniarchive serve` on it."""
    with SampleSites() as sites:
        path = tmp_path / "config.yaml"
        document = sites.config(postgres_url, retry_times=1, download_timeout=5)
        document["sites"] = [site for site in document["sites"] if site["key"] in ("binhe-gov", "binhe-news")]
        path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
        config = load_config(path)
        archive = Archive(postgres_url)
        for site in config.sites:
            assert run_crawl(config, site.key, archive).status == "succeeded"
        archive.close()
    port = free_port()
    log_path = tmp_path / "serve.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "scheduler.cli", "serve", "--port", str(port),
                                    "--refresh", "3600", "--config", str(path)], cwd=ROOT,
                                   stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"

    def answering():
        assert process.poll() is None, log_path.read_text()
        return get(base + "/")[0] == 200 if port_open(port) else False

    wait_for(answering, 120, "serve to answer")
    yield base, postgres_url, process, log_path
    process.terminate()
    process.wait(20)


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def browsed_ids(base: str) -> set[int]:
    return {row["id"] for row in get_json(f"{base}/archive/article.json?_shape=array&_col=id&_size=max")}


def test_serve_on_postgresql_answers_from_its_articles_and_shows_new_ones_after_a_refresh(served):
    base, url, process, log_path = served
    archive = Archive(url)
    with archive.session() as session:
        stored = {a.id: a.title for a in session.scalars(select(Article))}
    assert len(stored) > 10
    assert browsed_ids(base) == set(stored)
    hits = get_json(f"{base}/search.json?q={quote('规划')}")
    assert hits and {hit["title"] for hit in hits} <= set(stored.values())
    article_id = hits[0]["id"]
    status, _, page = get(f"{base}/article/{article_id}")
    assert status == 200 and stored[article_id] in page.decode()
    status, content_type, raw = get(base + "/capture/" + page.decode().split('href="/capture/')[1].split('"')[0])
    assert status == 200 and content_type.startswith("text/html") and raw
    # served from PostgreSQL: the raw captures are not copied into the browser's snapshot
    assert get_json(f"{base}/archive/capture.json?_shape=array") == []

    site_id = archive.site_id("binhe-gov")
    assert archive.store_article(site_id, None, None, ArticleData(title=NEW_TITLE, body="会议部署海洋经济工作。" * 5),
                                 url="http://127.0.0.1:9/new.html") == "new"
    with archive.session() as session:
        new_id = session.scalar(select(Article.id).where(Article.title == NEW_TITLE))
    archive.close()
    # the reader's pages read PostgreSQL: the article is there at once
    status, _, page = get(f"{base}/article/{new_id}")
    assert status == 200 and NEW_TITLE in page.decode()
    assert [hit["id"] for hit in get_json(f"{base}/search.json?q={quote('海洋经济高质量')}")] == [new_id]
    # the table browser reads the snapshot: after the next refresh
    assert new_id not in browsed_ids(base)
    process.send_signal(signal.SIGHUP)
    wait_for(lambda: "snapshot refreshed" in log_path.read_text(), 120, "the snapshot to be remade")
    assert browsed_ids(base) == {*stored, new_id}
    assert "snapshot refreshed: " + str(len(stored) + 1) + " articles" in log_path.read_text()


def test_the_readers_connections_to_postgresql_refuse_writes(postgres_url):
    Archive(postgres_url).close()
    archive = read_only(postgres_url)
    for _ in range(2):  # and still after the pool has rolled the first back
        with archive.session() as session, pytest.raises(DBAPIError, match="read-only transaction"):
            session.execute(text("INSERT INTO story (created_at) VALUES (now())"))
    archive.close()
