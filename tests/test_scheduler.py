"""The scheduler service, run as a real process (`muniarchive scheduler start`) against the
sample sites, with a real job store (SQLite, or PostgreSQL: tests/postgres.py) and short
(seconds) schedules."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from archive import Archive
from archive.models import AlertIncident, Article, CrawlRun, Site
from scheduler.service import job_store
from tests.helpers import Receiver, wait_for

MUNIARCHIVE = [sys.executable, "-m", "scheduler.cli"]
ROOT = Path(__file__).resolve().parents[1]
TZ = ZoneInfo("Asia/Shanghai")


_running: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def no_scheduler_outlives_its_test():
    yield
    while _running:
        process = _running.pop()
        if process.poll() is None:
            process.kill()
            process.wait()


class SchedulerProcess:
    """`muniarchive scheduler start` in the background, its output in files."""

    def __init__(self, config_path: Path, env: dict | None = None):
        self.config_path = config_path
        folder = config_path.parent
        count = len(list(folder.glob("scheduler-*.out")))
        self.out_path, self.err_path = folder / f"scheduler-{count}.out", folder / f"scheduler-{count}.err"
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:  # the child keeps its own copies
            self.process = subprocess.Popen([*MUNIARCHIVE, "scheduler", "start", "--config", str(config_path)],
                                            cwd=ROOT, stdout=out, stderr=err, env={**os.environ, **(env or {})})
        _running.append(self.process)
        deadline = time.monotonic() + 30
        while "scheduler started" not in self.out:
            assert self.process.poll() is None, f"the scheduler exited with {self.process.returncode}: {self.err}"
            assert time.monotonic() < deadline, f"the scheduler did not start: {self.err}"
            time.sleep(0.1)

    @property
    def out(self) -> str:
        return self.out_path.read_text(encoding="utf-8")

    @property
    def err(self) -> str:
        return self.err_path.read_text(encoding="utf-8")

    def stop(self, timeout: float = 60) -> None:
        """SIGTERM, as systemd or `docker stop` would send; the service must exit 0, quietly."""
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout)
        assert code == 0, f"the scheduler exited with {code}: {self.err}"
        assert "Traceback" not in self.out + self.err and " ERROR " not in self.err, self.err


def write_config(path: Path, archive_url: str, sample_sites, sites: list[str], schedule: str, scheduler: dict,
                 alerts: dict | None = None, **defaults) -> Path:
    document = sample_sites.config(archive_url,
                                   **{"retry_times": 0, "download_timeout": 5, **defaults})
    document["sites"] = [site for site in document["sites"] if site["key"] in sites]
    for site in document["sites"]:
        site["schedule"] = schedule
    document["scheduler"] = {"jitter": 0, "run_retries": 0, "stop_grace": 5, **scheduler}
    if alerts:
        document["alerts"] = alerts
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def runs(archive_url: str) -> list[CrawlRun]:
    archive = Archive(archive_url)
    try:
        with archive.session() as session:
            return list(session.scalars(select(CrawlRun).order_by(CrawlRun.id)))
    finally:
        archive.close()


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*MUNIARCHIVE, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def daily_ten_minutes_ago() -> tuple[str, datetime]:
    """A daily cron whose time today was ten minutes ago, and that moment."""
    moment = (datetime.now(TZ) - timedelta(minutes=10)).replace(second=0, microsecond=0)
    return f"{moment.minute} {moment.hour} * * *", moment


def restarted_down_since(config: Path, archive_url: str, since: datetime) -> SchedulerProcess:
    """A scheduler that stored its jobs, was down from `since` on, and is started again: the
    stored jobs' next run time is moved back to `since` in APScheduler's own job store, so the
    due times since then have passed while nothing ran, without waiting for them."""
    SchedulerProcess(config).stop()
    archive = Archive(archive_url)
    try:
        store = job_store(archive)
        store.start(BackgroundScheduler(timezone=TZ), "default")
        for job in store.get_all_jobs():
            job.next_run_time = since
            store.update_job(job)
    finally:
        archive.close()
    return SchedulerProcess(config)


@pytest.fixture
def receiver():
    hook = Receiver()
    yield hook
    hook.close()


def test_scheduler_runs_on_schedule_refuses_a_second_instance_and_lists_jobs(tmp_path, archive_url, sample_sites):
    config = write_config(tmp_path / "config.yaml", archive_url, sample_sites, ["binhe-gov"], "*/3 * * * * *", {})
    first = SchedulerProcess(config)
    assert "added binhe-gov" in first.out
    second = cli("scheduler", "start", "--config", str(config))
    assert second.returncode == 1
    assert "another scheduler is running on this archive" in second.stderr
    assert len(second.stderr.strip().splitlines()) <= 3  # one error line (plus log lines), no traceback
    assert "Traceback" not in second.stderr
    wait_for(lambda: [r for r in runs(archive_url) if r.status == "succeeded"], 30, "a scheduled run")
    jobs = json.loads(cli("jobs", "--config", str(config), "--json").stdout)
    assert [job["site"] for job in jobs] == ["binhe-gov"]
    assert jobs[0]["scheduled"] and jobs[0]["next_run"]
    first.stop()
    recorded = runs(archive_url)
    assert all(run.trigger == "schedule" for run in recorded)
    # every run succeeded, but for one still going at the stop on a slow machine (past stop_grace)
    assert all(run.status == "succeeded" for run in recorded[:-1])
    assert recorded[-1].status in ("succeeded", "interrupted")
    # stopped cleanly, the lease is free: a new scheduler starts
    again = SchedulerProcess(config)
    assert "jobs: unchanged" in again.out
    again.stop()


def test_three_missed_due_times_make_exactly_one_catch_up_run(tmp_path, archive_url, sample_sites):
    schedule, due = daily_ten_minutes_ago()
    config = write_config(tmp_path / "config.yaml", archive_url, sample_sites, ["binhe-gov"], schedule, {"misfire_grace": "1h"})
    # due two days ago, yesterday and ten minutes ago
    scheduler = restarted_down_since(config, archive_url, due - timedelta(days=2))
    # every missed due time is handed over at once; once the queue has drained, no further run can
    # start before tomorrow's due time
    wait_for(lambda: "queue drained: 1 site(s)" in scheduler.err, 30, "the catch-up run")
    scheduler.stop()
    assert "still queued at its next due time" not in scheduler.err  # the three were one run, not a backlog
    recorded = runs(archive_url)
    assert len(recorded) == 1
    assert recorded[0].status == "succeeded" and recorded[0].trigger == "schedule"


def test_a_hung_crawl_is_killed_at_its_timeout_and_the_next_due_run_still_happens(tmp_path, archive_url, sample_sites):
    # the timeout must leave a healthy crawl (process start included) room on a loaded machine
    config = write_config(tmp_path / "config.yaml", archive_url, sample_sites, ["binhe-gov"], "*/4 * * * * *", {},
                          crawl_timeout=8, download_timeout=4)
    sample_sites.sites["binhe-gov"].fault = "stall"
    scheduler = SchedulerProcess(config)
    first = wait_for(lambda: [r for r in runs(archive_url) if r.exit_code is not None], 60, "the hung run")[0]
    sample_sites.sites["binhe-gov"].fault = None
    later = wait_for(lambda: [r for r in runs(archive_url)[1:] if r.status == "succeeded"], 60,
                     "the next due run")
    scheduler.stop()
    assert first.status == "timed_out"
    assert "crawl timeout of 8 s" in first.error
    assert later[0].started_at >= first.finished_at
    assert "run 1 timed_out" in scheduler.err


def test_a_run_due_while_the_previous_is_going_does_not_start_a_second_crawl(tmp_path, archive_url, sample_sites):
    config = write_config(tmp_path / "config.yaml", archive_url, sample_sites, ["binhe-gov"], "*/2 * * * * *", {})
    sample_sites.sites["binhe-gov"].delay = 0.6  # a crawl takes several seconds: several due times
    scheduler = SchedulerProcess(config)
    wait_for(lambda: len([r for r in runs(archive_url) if r.exit_code is not None]) >= 2, 60, "two runs")
    scheduler.stop()
    recorded = runs(archive_url)
    for earlier, later in pairwise(recorded):
        assert later.started_at >= earlier.finished_at, f"runs {earlier.id} and {later.id} overlap"
    longest = max((r.finished_at - r.started_at).total_seconds() for r in recorded if r.exit_code is not None)
    assert longest > 4  # the test meant something: runs did span several due times
    assert "the previous run is still going" in scheduler.err


def test_editing_the_config_and_restarting_changes_the_jobs_and_nothing_else(tmp_path, archive_url, sample_sites):
    path = tmp_path / "config.yaml"
    write_config(path, archive_url, sample_sites, ["binhe-gov", "changning-gov"], "0 2 * * *", {})
    assert cli("crawl", "binhe-gov", "--config", str(path)).returncode == 0
    db = archive_url
    archive = Archive(db)
    with archive.session() as session:
        articles_before = session.scalar(select(Article.id).order_by(Article.id.desc()).limit(1))
    scheduler = SchedulerProcess(path)
    assert "added binhe-gov" in scheduler.out and "added changning-gov" in scheduler.out
    scheduler.stop()

    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["sites"] = [s for s in document["sites"] if s["key"] != "changning-gov"]
    document["sites"][0]["schedule"] = "30 3 * * 1-5"
    news = sample_sites.config("sqlite:///unused")["sites"][2]
    document["sites"].append({**news, "schedule": "15 4 * * *"})
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    scheduler = SchedulerProcess(path)
    scheduler.stop()
    out = scheduler.out
    assert "updated binhe-gov: 0 2 * * * (Asia/Shanghai, jitter 0 s) -> 30 3 * * 1-5" in out
    assert "added binhe-news" in out
    assert "removed changning-gov" in out

    jobs = {job["site"]: job for job in json.loads(cli("jobs", "--config", str(path), "--json").stdout)}
    assert set(jobs) == {"binhe-gov", "binhe-news"}
    next_gov = datetime.fromisoformat(jobs["binhe-gov"]["next_run"])
    assert (next_gov.hour, next_gov.minute) == (3, 30) and next_gov.weekday() < 5
    assert next_gov.utcoffset() == timedelta(hours=8)  # in the config's zone, Asia/Shanghai
    assert jobs["binhe-news"]["next_run"].endswith("04:15:00+08:00")
    with archive.session() as session:  # the archive kept everything
        assert session.scalar(select(Article.id).order_by(Article.id.desc()).limit(1)) == articles_before
        assert {s.key for s in session.scalars(select(Site))} >= {"binhe-gov"}
    assert [r.status for r in runs(db)] == ["succeeded"]
    archive.close()


def test_alerts_once_per_incident_and_once_on_recovery(tmp_path, archive_url, sample_sites, receiver):
    secret_url = f"json://alerts:s3cret@127.0.0.1:{receiver.port}/hook/PathTok3n?%2BX-Api-Key=HdrS3cret"
    config = write_config(tmp_path / "config.yaml", archive_url, sample_sites, ["binhe-gov"], "*/3 * * * * *", {},
                          alerts={"urls": ["${MUNIARCHIVE_TEST_HOOK}"]})
    sample_sites.sites["binhe-gov"].fault = "500"
    scheduler = SchedulerProcess(config, env={"MUNIARCHIVE_TEST_HOOK": secret_url})
    db = archive_url
    wait_for(lambda: len([r for r in runs(db) if r.status == "failed"]) >= 2, 40, "two failed runs")
    sample_sites.sites["binhe-gov"].fault = None
    wait_for(lambda: [r for r in runs(db) if r.status == "succeeded"], 40, "a successful run")
    wait_for(lambda: any("recovered" in m["title"] for m in receiver.received), 20, "the recovery alert")
    scheduler.stop()

    failed = [r for r in runs(db) if r.status == "failed"]
    recovered = [r for r in runs(db) if r.status == "succeeded"][0]
    # the recovered run is the site's first successful crawl: its plan releases are the quiet baseline
    plans = [m["title"] for m in receiver.received if "新规划发布" in m["title"]]
    assert plans == []
    alerts = [m for m in receiver.received if "新规划发布" not in m["title"]]
    assert [m["title"] for m in alerts] == ["[muniarchive] binhe-gov: crawl failed",
                                            "[muniarchive] binhe-gov recovered: crawl failed"]
    alert, recovery = alerts
    assert f"run: {failed[0].id}" in alert["message"] and "HTTP 500" in alert["message"]
    assert f"run: {recovered.id} succeeded" in recovery["message"]
    for secret in ("s3cret", "PathTok3n", "HdrS3cret"):
        assert secret not in scheduler.out + scheduler.err
    assert f"json://alerts:***@127.0.0.1:{receiver.port}/***/***?%2BX-Api-Key=***" in scheduler.out
    status = json.loads(cli("status", "--config", str(config), "--json").stdout)[0]
    assert status["verdict"] == "ok" and status["consecutive_failures"] == 0


def test_a_run_missed_beyond_its_grace_is_not_run_but_alerted(tmp_path, archive_url, sample_sites, receiver):
    schedule, due = daily_ten_minutes_ago()
    config = write_config(tmp_path / "config.yaml", archive_url, sample_sites, ["binhe-gov"], schedule, {"misfire_grace": 1},
                          alerts={"urls": [f"json://127.0.0.1:{receiver.port}/hook"]})
    scheduler = restarted_down_since(config, archive_url, due)  # ten minutes late is far beyond a grace of 1 s
    wait_for(lambda: receiver.received, 20, "the missed-run alert")
    scheduler.stop()
    assert runs(archive_url) == []
    assert [m["title"] for m in receiver.received] == ["[muniarchive] binhe-gov: scheduled run missed"]
    archive = Archive(archive_url)
    with archive.session() as session:
        assert [i.kind for i in session.scalars(select(AlertIncident))] == ["missed"]
    archive.close()
    status = json.loads(cli("status", "--config", str(config), "--json").stdout)[0]
    assert status["open_incidents"][0]["kind"] == "missed"


def test_sigterm_lets_a_crawl_finish_within_grace_then_stops_it_as_interrupted(tmp_path, archive_url, sample_sites):
    config = write_config(tmp_path / "config.yaml", archive_url, sample_sites, ["binhe-gov"], "*/2 * * * * *",
                          {"stop_grace": 1})
    sample_sites.sites["binhe-gov"].delay = 1.0  # a crawl of a minute or so
    scheduler = SchedulerProcess(config)
    wait_for(lambda: runs(archive_url), 20, "a crawl to start")
    time.sleep(1)
    started = time.monotonic()
    scheduler.stop(timeout=60)
    assert time.monotonic() - started < 40
    recorded = runs(archive_url)
    assert len(recorded) == 1
    assert recorded[0].status == "interrupted"
    assert recorded[0].finished_at is not None
    assert "stopping the crawls still running: binhe-gov" in scheduler.err
    # runs came due while it was stopping (stop() asserts no traceback): none reached the closed executor
    assert "cannot schedule new futures" not in scheduler.err


def test_a_failed_run_is_retried_with_backoff_and_alerted_once_after_the_last_attempt(tmp_path, archive_url, sample_sites,
                                                                                       receiver):
    schedule, due = daily_ten_minutes_ago()
    config = write_config(tmp_path / "config.yaml", archive_url, sample_sites, ["binhe-gov"], schedule,
                          {"run_retries": 2, "retry_delay": 1},
                          alerts={"urls": [f"json://127.0.0.1:{receiver.port}/hook"]})
    sample_sites.take_down("binhe-gov")
    scheduler = restarted_down_since(config, archive_url, due)  # all due at once, within the grace
    wait_for(lambda: len([r for r in runs(archive_url) if r.exit_code is not None]) == 3, 60,
             "three attempts")
    wait_for(lambda: receiver.received, 20, "the alert after the last attempt")
    scheduler.stop()
    recorded = runs(archive_url)
    assert [(r.trigger, r.status) for r in recorded] == [("schedule", "failed"), ("retry", "failed"),
                                                         ("retry", "failed")]
    gaps = [(later.started_at - earlier.finished_at).total_seconds() for earlier, later in pairwise(recorded)]
    assert gaps[0] >= 1 and gaps[1] >= 2  # 1 s, then doubled
    assert [m["title"] for m in receiver.received] == ["[muniarchive] binhe-gov: crawl failed"]
    assert f"run: {recorded[-1].id}" in receiver.received[0]["message"]


def test_doctor_checks_config_archive_and_sites(tmp_path, archive_url, sample_sites):
    config = write_config(tmp_path / "config.yaml", archive_url, sample_sites, ["binhe-gov", "binhe-news"], "0 2 * * *", {})
    healthy = cli("doctor", "--config", str(config), "--json")
    assert healthy.returncode == 0, healthy.stdout
    checks = {c["check"]: c for c in json.loads(healthy.stdout)}
    assert set(checks) == {"config", "alerts", "archive", "site binhe-gov", "site binhe-news"}
    assert "HTTP 200" in checks["site binhe-gov"]["detail"]

    sample_sites.take_down("binhe-news")
    down = cli("doctor", "--config", str(config))
    assert down.returncode == 1
    assert "FAIL site binhe-news" in down.stdout and "unreachable" in down.stdout

    broken = tmp_path / "broken.yaml"
    broken.write_text(config.read_text(encoding="utf-8").replace("jitter: 0", "jitter: soon"), encoding="utf-8")
    result = cli("doctor", "--config", str(broken))
    assert result.returncode == 1
    assert "scheduler.jitter: 'soon' is not a duration" in result.stdout


def overlap(recorded: list[CrawlRun]) -> int:
    """The most runs that were going at one moment, from their rows' start and finish times."""
    events = sorted([(r.started_at, 1) for r in recorded] + [(r.finished_at, -1) for r in recorded])
    most = going = 0
    for _, change in events:  # at a tie a finish (-1) sorts first: a slot handed on is not an overlap
        going += change
        most = max(most, going)
    return most


def test_due_runs_wait_in_a_queue_for_the_crawl_slots_and_the_drained_queue_is_reported(tmp_path, archive_url, sample_sites):
    schedule, due = daily_ten_minutes_ago()
    sites = ["binhe-gov", "binhe-news", "changning-gov", "haigang-gov"]
    config = write_config(tmp_path / "config.yaml", archive_url, sample_sites, sites, schedule, {"max_parallel_crawls": 2})
    for key in sites:
        sample_sites.sites[key].delay = 0.2  # crawls of a few seconds: they meet in the slots
    scheduler = restarted_down_since(config, archive_url, due)  # all due at once, within the grace
    assert "crawl slots: 2 (scheduler.max_parallel_crawls;" in scheduler.out
    wait_for(lambda: "queue drained" in scheduler.err, 400, "the queue to drain")
    scheduler.stop()
    recorded = runs(archive_url)
    assert sorted(r.site_id for r in recorded) == [1, 2, 3, 4] and all(r.status == "succeeded" for r in recorded)
    assert overlap(recorded) == 2  # never more than the two slots, and both used
    assert "queue drained: 4 site(s) run in 0:0" in scheduler.err


def test_a_retry_waits_for_its_backoff_without_holding_a_crawl_slot(tmp_path, archive_url, sample_sites):
    schedule, due = daily_ten_minutes_ago()
    config = write_config(tmp_path / "config.yaml", archive_url, sample_sites, ["binhe-gov", "binhe-news"], schedule,
                          {"max_parallel_crawls": 1, "run_retries": 1, "retry_delay": 5})
    sample_sites.take_down("binhe-gov")  # never run, both: taken by key, binhe-gov first
    scheduler = restarted_down_since(config, archive_url, due)  # all due at once, within the grace
    wait_for(lambda: len([r for r in runs(archive_url) if r.finished_at]) == 3, 300, "three runs")
    scheduler.stop()
    first, other, retry = runs(archive_url)
    assert (first.site_id, first.trigger, first.status) == (1, "schedule", "failed")
    assert (other.site_id, other.trigger, other.status) == (2, "schedule", "succeeded")
    assert (retry.site_id, retry.trigger, retry.status) == (1, "retry", "failed")
    # the one slot ran binhe-news during binhe-gov's backoff
    assert other.started_at < first.finished_at + timedelta(seconds=5)
    assert retry.started_at >= max(other.finished_at, first.finished_at + timedelta(seconds=5))


def test_a_run_still_queued_at_its_next_due_time_is_a_late_incident(tmp_path, archive_url, sample_sites, receiver):
    config = write_config(tmp_path / "config.yaml", archive_url, sample_sites, ["binhe-gov", "binhe-news"], "*/4 * * * * *",
                          {"max_parallel_crawls": 1}, alerts={"urls": [f"json://127.0.0.1:{receiver.port}/hook"]})
    sample_sites.sites["binhe-gov"].delay = 1.0  # its crawl spans several due times; binhe-news waits
    scheduler = SchedulerProcess(config)
    db = archive_url

    def late_incidents():
        archive = Archive(db)
        try:
            with archive.session() as session:
                return session.execute(select(Site.key, AlertIncident.reason).join(Site)
                                       .where(AlertIncident.kind == "late")).all()
        finally:
            archive.close()

    incidents = wait_for(late_incidents, 60, "a late incident")
    wait_for(lambda: receiver.received, 20, "its alert")
    scheduler.stop()
    key, reason = incidents[0]
    assert key == "binhe-news"
    assert "still queued at its next due time, 0:00:04 later" in reason and "1 crawl slots" in reason
    assert "[muniarchive] binhe-news: scheduled run still queued at its next due time" in [
        m["title"] for m in receiver.received]
    assert "binhe-news: the run due at" in scheduler.err and "is still queued at its next due time" in scheduler.err
    recorded = runs(db)
    assert overlap([r for r in recorded if r.finished_at]) == 1
    status = {row["site"]: row for row in json.loads(cli("status", "--config", str(config), "--json").stdout)}
    assert "late" in [i["kind"] for i in status["binhe-news"]["open_incidents"]]
