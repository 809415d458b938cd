"""A crawl of a site where every article misbehaves in its own way (crawler/samplesites/faulty.py):
real server on 127.0.0.1, real crawl subprocess, a real archive (SQLite, or PostgreSQL:
tests/postgres.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from archive import Archive
from archive.models import Article, Capture
from crawler.config import load_config
from crawler.samplesites.faulty import FaultySite
from scheduler.runner import run_crawl


@pytest.fixture
def faulty():
    with FaultySite() as site:
        yield site


def crawl(faulty: FaultySite, tmp_path: Path, archive_url: str):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(faulty.config(archive_url), allow_unicode=True), encoding="utf-8")
    config = load_config(path)
    archive = Archive(config.database_url)
    return run_crawl(config, "faulty", archive, timeout=600), archive


def test_every_fault_ends_stored_or_in_errors_and_nothing_off_site_is_fetched(faulty, tmp_path, archive_url):
    result, archive = crawl(faulty, tmp_path, archive_url)
    stats = result.stats
    assert result.status == "succeeded", result.error

    listed = {faulty.base_url + path for path in faulty.article_paths()}
    with archive.session() as session:
        stored = {a.url: a for a in session.scalars(select(Article))}
        capture_urls = set(session.scalars(select(Capture.url)))
    errors = {}
    for failure in stats["failed_urls"]:
        errors.setdefault(failure["url"], []).append(failure["error"])
    missing = listed - set(stored) - set(errors)
    assert not missing, f"neither stored nor in the run's errors: {sorted(missing)}"
    for url, messages in errors.items():  # a reason after the URL, never an empty one
        assert all(m.startswith(url + ": ") and m.removeprefix(url + ": ").strip(" :") for m in messages), messages
    assert stats["errors"] == len(stats["failed_urls"])

    def error_of(name: str) -> str:
        return " ".join(errors[f"{faulty.base_url}/a/{name}.html"])

    # the pages that answer after a retry (Retry-After honoured) and the good ones are stored
    for name in ("ok-1", "ok-2", "ok-3", "e503-then-ok", "e429-then-ok", "gbk-labelled-utf8", "utf8-labelled-gbk"):
        article = stored[f"{faulty.base_url}/a/{name}.html"]
        assert article.body and "滨河市" in article.body, name
    # nothing left the site: not the other port, not localhost, not another scheme
    assert faulty.foreign_hits == [] and faulty.localhost_hits == []
    assert all(url.startswith(faulty.base_url + "/") for url in capture_urls)
    assert "off-site redirect" in error_of("redir-other-port") and str(faulty.foreign_port) in error_of(
        "redir-other-port")
    assert "off-site redirect" in error_of("redir-localhost") and "localhost" in error_of("redir-localhost")
    assert "redirect loop" in error_of("loop-a")
    assert "max redirections" in error_of("chain")
    assert "HTTP 500" in error_of("e500") and "HTTP 404" in error_of("missing")
    assert "robots.txt" in " ".join(errors[f"{faulty.base_url}/private/secret.html"])
    assert "ResponseDataLossError" in error_of("truncated")
    for link in faulty.scheme_links():
        assert not any(link in m for ms in errors.values() for m in ms)
    # a huge page is stored whole (its raw bytes), extracted from its first part and flagged
    huge = stored[f"{faulty.base_url}/a/huge.html"]
    assert huge.quality["truncated"]["page_bytes"] >= 60 * 2**20
    with archive.session() as session:
        assert session.get(Capture, huge.capture_id).body_size == huge.quality["truncated"]["page_bytes"]
    # garbage and control characters: stored, with a body or as an extraction failure
    assert {f"{faulty.base_url}/a/garbage.html", f"{faulty.base_url}/a/control-chars.html"} <= set(stored)
    assert stats["extraction_failures"] == sum(1 for a in stored.values() if a.body is None)
    # the crawl process and its extraction workers together
    assert stats["tree_peak_rss_mb"] and stats["tree_peak_rss_mb"] >= stats["peak_rss_mb"]
    assert stats["tree_peak_rss_mb"] < 600, stats
