"""Failed URLs remembered: real sample sites on 127.0.0.1, real crawl subprocesses, a real
archive (SQLite, or PostgreSQL: tests/postgres.py).

A permanently dead link is recorded dead with its reason and does not keep incremental crawling
off; a transient failure (a 503) is fetched again by a later run, with a growing delay and up to
a limit; an attachment that failed is fetched at a later run; a server's Retry-After is waited
for, up to a cap."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from archive import Archive
from archive.models import Attachment
from crawler.config import load_config
from crawler.samplesites.server import Fault
from scheduler.runner import run_crawl

MUNIARCHIVE = [sys.executable, "-m", "scheduler.cli"]
ROOT = Path(__file__).resolve().parents[1]
SITE = "binhe-gov"


@pytest.fixture
def city(sample_sites, tmp_path, archive_url):
    """binhe-gov alone, failed URLs retried by the next run (no delay), dead after 2 attempts."""
    document = sample_sites.config(archive_url, retry_times=1, download_timeout=5,
                                   failed_url_retry_delay=0, failed_url_attempts=2)
    document["sites"] = [s for s in document["sites"] if s["key"] == SITE]
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    config = load_config(path)
    archive = Archive(config.database_url)
    yield config, archive, sample_sites.sites[SITE], sample_sites.base_url(SITE)
    archive.close()


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*MUNIARCHIVE, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def paths_requested(sample_sites) -> list[str]:
    return sorted(path for key, path in sample_sites.take_requests() if key == SITE)


def first_list_pages(config) -> list[str]:
    return sorted(["/robots.txt"] + ["/" + u.url.split("/", 3)[3] for u in config.site(SITE).start_urls])


def test_a_dead_article_link_is_recorded_with_its_reason_and_later_runs_read_only_first_list_pages(
        sample_sites, city):
    config, archive, site, base = city
    dead = "/zwdt/202609/t20260922_100107.html"  # on the column's second list page
    site.faults[dead] = Fault(404)

    first = run_crawl(config, SITE, archive)
    assert first.status == "succeeded"  # one dead link of 14 is no sign of a wrong config
    assert first.stats["articles_new"] == 13 and first.stats["urls_dead"] == 1
    assert first.stats["complete"] is True
    runs = json.loads(cli("runs", "--json", "--config", str(config.path)).stdout)
    assert runs[0]["dead_urls"] == [{**runs[0]["dead_urls"][0], "url": base + dead, "kind": "article",
                                     "state": "dead", "reason": "HTTP 404", "attempts": 1}]
    shown = cli("show", base + dead, "--config", str(config.path))
    assert shown.returncode == 0 and "dead after 1 attempt(s): HTTP 404" in shown.stdout

    sample_sites.take_requests()
    second = run_crawl(config, SITE, archive)
    assert second.status == "succeeded" and second.stats["articles_new"] == 0
    assert paths_requested(sample_sites) == first_list_pages(config)
    assert cli("status", "--config", str(config.path)).returncode == 0


def test_a_503_is_retried_by_later_runs_until_dead_and_retry_after_beyond_the_cap_is_not_waited_for(
        sample_sites, city):
    config, archive, site, base = city
    busy = "/zwdt/202609/t20260915_100105.html"
    site.faults[busy] = Fault(503, {"Retry-After": "3600"})  # an hour: past the cap, not waited for

    counts = []
    for _ in range(3):
        sample_sites.take_requests()
        result = run_crawl(config, SITE, archive)
        assert result.status == "succeeded" and result.stats["complete"] is True
        counts.append(paths_requested(sample_sites).count(busy))
    # once per run (no retry within the run), by the next run again, then dead after 2 attempts
    assert counts == [1, 1, 0]
    [failed] = archive.failed_urls(urls=[base + busy])
    assert (failed.state, failed.attempts, failed.reason) == ("dead", 2, "HTTP 503")


def test_a_failed_attachment_is_fetched_by_the_next_run_and_retry_after_is_waited_for(sample_sites, city):
    config, archive, site, base = city
    attachment = "/ghjh/202610/P020261016412345678901.pdf"
    site.faults[attachment] = Fault(503)  # three times and more: the attachment fails this run
    slow = "/zwdt/202610/t20261014_100110.html"
    site.faults[slow] = Fault(503, {"Retry-After": "2"}, times=1)
    seen: list[tuple[float, str]] = []
    log = sample_sites._log

    def timed_log(key, path):
        seen.append((time.monotonic(), path))
        log(key, path)

    sample_sites._log = timed_log
    first = run_crawl(config, SITE, archive)
    assert first.status == "succeeded" and first.stats["articles_new"] == 14
    asked = [at for at, path in seen if path == slow]
    assert len(asked) == 2 and asked[1] - asked[0] >= 1.9  # the 503's Retry-After: 2 was honoured
    with archive.session() as session:
        stored = session.scalar(select(Attachment).where(Attachment.url == base + attachment))
        assert stored.status == "failed" and stored.capture_id is None
    assert first.stats["urls_retrying"] == 1 and first.stats["complete"] is True

    del site.faults[attachment]
    sample_sites.take_requests()
    second = run_crawl(config, SITE, archive)
    assert paths_requested(sample_sites) == sorted([*first_list_pages(config), attachment])
    assert second.stats["attachments_updated"] == 1
    with archive.session() as session:
        stored = session.scalar(select(Attachment).where(Attachment.url == base + attachment))
        assert stored.status == "fetched" and stored.sha256 and stored.error is None
        assert "滨河市" in stored.text
    assert archive.failed_urls(urls=[base + attachment]) == []


def test_transient_failures_wait_longer_after_each_attempt_then_are_dead(archive_url):
    archive = Archive(archive_url)
    site_id = archive.ensure_site("gov", "某市人民政府", "http://127.0.0.1")
    url = "http://127.0.0.1/a/1.html"
    start = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    hour = timedelta(hours=1)

    def fail(now: datetime, reason: str = "HTTP 502", permanent: bool = False) -> str:
        return archive.write_all([archive.failure_write(site_id, None, "article", url, reason, permanent=permanent,
                                                        max_attempts=3, retry_delay=3600, now=now)])[0]

    def due(now: datetime) -> list[str]:
        return [f.url for f in archive.due_failures(site_id, now)]

    assert fail(start) == "retrying"
    assert due(start + hour / 2) == [] and due(start + hour) == [url]
    assert fail(start + hour) == "retrying"  # the second wait is twice the first
    assert due(start + 2 * hour) == [] and due(start + 3 * hour) == [url]
    assert fail(start + 3 * hour, "TimeoutError: no answer within the download timeout") == "dead"
    assert due(start + 100 * hour) == []
    [failed] = archive.failed_urls(site_id=site_id)
    assert (failed.attempts, failed.reason, failed.first_seen, failed.last_seen) == (
        3, "TimeoutError: no answer within the download timeout", start, start + 3 * hour)
    # a page that is gone is dead at once
    other = "http://127.0.0.1/a/2.html"
    archive.write_all([archive.failure_write(site_id, None, "article", other, "HTTP 410", permanent=True,
                                             max_attempts=3, retry_delay=3600, now=start)])
    assert archive.failing_urls(site_id, [url, other, "http://127.0.0.1/a/3.html"]) == {
        url: ("dead", "TimeoutError: no answer within the download timeout"), other: ("dead", "HTTP 410")}
    archive.close()
