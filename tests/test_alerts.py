"""Alerts through real HTTP receivers on 127.0.0.1 (Apprise json:// targets) and a real
SQLite archive: once per incident and per target, a target that was down told when it is back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from archive import Archive
from archive.models import AlertIncident, CrawlRun, PlanRelease
from crawler.config import AlertSettings
from scheduler.alerts import Alerts
from tests.helpers import Receiver


@pytest.fixture
def archive(archive_url):
    store = Archive(archive_url)
    yield store
    store.close()


@pytest.fixture
def receivers():
    made: list[Receiver] = []

    def make(port: int = 0) -> Receiver:
        made.append(Receiver(port))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


def titles(receiver: Receiver) -> list[str]:
    return [message["title"] for message in receiver.received]


def alerts_to(archive: Archive, *ports: int, **settings) -> Alerts:
    """What the scheduler makes for each run: the deliveries live in the archive, not in here."""
    return Alerts(AlertSettings(urls=[f"json://127.0.0.1:{port}/hook" for port in ports], **settings), archive)


def _finished_run(archive: Archive, site_id: int, status: str = "succeeded", **stats) -> CrawlRun:
    run_id = archive.start_run(site_id, trigger="schedule")
    archive.update_run(run_id, status=status, stats=stats, error="HTTP 500" if status == "failed" else None)
    return archive.get_run(run_id)


def test_a_target_that_was_down_gets_the_incident_once_when_back_and_the_others_exactly_once(archive, receivers):
    site_id = archive.ensure_site("news", "某新闻网", "http://127.0.0.1")
    first, second = receivers(), receivers()
    down = receivers()
    port = down.port
    down.close()  # nothing listens there: connection refused
    for _ in range(3):
        alerts_to(archive, first.port, second.port, port).after_run(_finished_run(archive, site_id, "failed"))
    assert titles(first) == titles(second) == ["[muniarchive] news: crawl failed"]
    with archive.session() as session:
        assert session.scalar(select(AlertIncident.notified_at)) is None  # not every target has it yet

    back = receivers(port)
    alerts_to(archive, first.port, second.port, port).after_run(_finished_run(archive, site_id, "failed"))
    alerts_to(archive, first.port, second.port, port).after_run(_finished_run(archive, site_id, "failed"))
    assert titles(back) == ["[muniarchive] news: crawl failed"]
    assert "reason: run failed: HTTP 500" in back.received[0]["message"]
    assert titles(first) == titles(second) == ["[muniarchive] news: crawl failed"]

    alerts_to(archive, first.port, second.port, port).after_run(_finished_run(archive, site_id))
    alerts_to(archive, first.port, second.port, port).after_run(_finished_run(archive, site_id))
    for receiver in (first, second, back):
        assert titles(receiver) == ["[muniarchive] news: crawl failed", "[muniarchive] news recovered: crawl failed"]


def test_a_recovery_goes_to_the_targets_told_of_the_incident_and_is_retried_for_one_that_was_down(archive,
                                                                                                  receivers):
    site_id = archive.ensure_site("news", "某新闻网", "http://127.0.0.1")
    told, late = receivers(), receivers()
    late_port = late.port
    late.close()
    alerts_to(archive, told.port, late_port).after_run(_finished_run(archive, site_id, "failed"))
    told_port = told.port
    told.close()  # down when the site recovers
    alerts_to(archive, told_port, late_port).after_run(_finished_run(archive, site_id))
    told, late = receivers(told_port), receivers(late_port)
    alerts_to(archive, told_port, late_port).after_run(_finished_run(archive, site_id))
    alerts_to(archive, told_port, late_port).after_run(_finished_run(archive, site_id))
    assert titles(told) == ["[muniarchive] news recovered: crawl failed"]  # its first copy went to the old server
    assert titles(late) == []  # never told of the incident: nothing to say it is over


def test_a_plan_release_goes_to_each_target_once_and_again_when_it_changes(archive, receivers):
    site_id = archive.ensure_site("gov", "某市人民政府", "http://127.0.0.1", region="某省某市")
    first, down = receivers(), receivers()
    port = down.port
    down.close()
    with archive.sessions.begin() as session:
        session.add(PlanRelease(region="某省某市", plan_key="十五五|", plan_name="某市国民经济和社会发展第十五个五年规划纲要",
                                period="十五五", topic="", kind="general", stage="final", stage_label="印发",
                                title="某市十五五规划纲要", url="http://127.0.0.1/a.html", site_id=site_id,
                                published_at=datetime(2026, 3, 1, tzinfo=UTC), text_hash="0" * 64))
    assert alerts_to(archive, first.port, port).plan_releases() == 0  # not every target has it
    back = receivers(port)
    assert alerts_to(archive, first.port, port).plan_releases() == 1
    assert alerts_to(archive, first.port, port).plan_releases() == 0
    expected = ["[muniarchive] 新规划发布：某市国民经济和社会发展第十五个五年规划纲要（印发）"]
    assert titles(first) == titles(back) == expected

    with archive.sessions.begin() as session:  # the document changed (archive.plans: a new version)
        release = session.scalar(select(PlanRelease))
        release.version, release.notified_at = 2, None
    alerts_to(archive, first.port, port).plan_releases()
    assert titles(first) == titles(back) == [*expected, expected[0].replace("新规划发布", "规划更新")]


def test_silent_sites_and_extraction_failures_are_incidents_alerted_once_until_recovery(archive, receivers):
    site_id = archive.ensure_site("news", "某新闻网", "http://127.0.0.1")
    receiver = receivers()
    alerts = alerts_to(archive, receiver.port, lookback_runs=3, extraction_failure_rate=0.3, min_pages=5)

    for new in (4, 0, 5):  # two of the last three runs had new articles: the site usually does
        alerts.after_run(_finished_run(archive, site_id, articles_new=new))
    assert titles(receiver) == []
    alerts.after_run(_finished_run(archive, site_id, articles_new=0))
    alerts.after_run(_finished_run(archive, site_id, articles_new=0))  # the same incident: no second alert
    assert titles(receiver) == ["[muniarchive] news: archived nothing new"]
    alerts.after_run(_finished_run(archive, site_id, articles_new=2))
    assert titles(receiver)[-1] == "[muniarchive] news recovered: archived nothing new"

    # 4 of 10 article pages not extracted: a layout change
    alerts.after_run(_finished_run(archive, site_id, articles_new=6, extraction_failures=4))
    assert titles(receiver)[-1] == "[muniarchive] news: extraction failures (layout changed?)"
    assert "4 of 10 article pages could not be extracted" in receiver.received[-1]["message"]
    alerts.after_run(_finished_run(archive, site_id, articles_new=5, extraction_failures=3))
    alerts.after_run(_finished_run(archive, site_id, articles_new=9, extraction_failures=1))
    assert titles(receiver)[-2:] == ["[muniarchive] news: extraction failures (layout changed?)",
                                     "[muniarchive] news recovered: extraction failures (layout changed?)"]
    # a run interrupted by a shutdown says nothing about the site
    alerts.after_run(_finished_run(archive, site_id, status="interrupted"))
    assert len(receiver.received) == 4
