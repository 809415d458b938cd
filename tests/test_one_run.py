"""One site, one run: a second run of a site while one is going does not start, whoever
starts it; it is recorded `skipped` with the reason. Real crawls of the sample sites, real
subprocesses, a real archive (SQLite, or PostgreSQL: tests/postgres.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from archive import Archive, RunGoing
from archive.models import CrawlRun, utcnow
from tests.helpers import downgrade, wait_for

ROOT = Path(__file__).resolve().parents[1]
MUNIARCHIVE = [sys.executable, "-m", "scheduler.cli"]
EXIT_SKIPPED = 4


def all_runs(archive: Archive) -> list[CrawlRun]:
    with archive.session() as session:
        return list(session.scalars(select(CrawlRun).order_by(CrawlRun.id)))


@pytest.fixture
def going(config_path, archive, sample_sites):
    """A manual crawl of binhe-gov that hangs (its server stalls) until the test ends."""
    sample_sites.stall_seconds = 60
    sample_sites.sites["binhe-gov"].fault = "stall"
    process = subprocess.Popen([*MUNIARCHIVE, "crawl", "binhe-gov", "--config", str(config_path)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    run = wait_for(lambda: [r for r in all_runs(archive) if r.status == "running" and r.pid], 30,
                   "the first crawl to start")[0]
    yield run
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def test_a_second_crawl_of_a_running_site_is_skipped_from_the_cli_and_from_the_crawl_process(
        going, config_path, archive):
    second = subprocess.run([*MUNIARCHIVE, "crawl", "binhe-gov", "--config", str(config_path)], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert second.returncode == EXIT_SKIPPED, second.stderr
    line = next(line for line in second.stderr.splitlines() if line.startswith("skipped: "))
    assert f"run {going.id} of this site is going (manual, pid " in line
    assert f"on {socket.gethostname()}, since {going.started_at:%Y-%m-%d %H:%M}" in line
    assert "Traceback" not in second.stderr

    direct = subprocess.run([sys.executable, "-m", "crawler", "crawl", "binhe-gov", "--config", str(config_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert direct.returncode == EXIT_SKIPPED, direct.stderr
    assert direct.stderr.strip().splitlines() == [direct.stderr.strip()]  # one line, at once
    assert f"run {going.id} of this site is going" in direct.stderr

    runs = all_runs(archive)
    assert [r.status for r in runs] == ["running", "skipped", "skipped"]
    assert all(f"run {going.id} of this site is going" in r.error and r.finished_at for r in runs[1:])
    # nothing was fetched for the skipped runs, and neither counts as the site's previous run
    assert all(not r.stats for r in runs[1:])
    assert archive.previous_run(going.site_id, runs[-1].id + 1) is None
    help_text = subprocess.run([*MUNIARCHIVE, "crawl", "--help"], cwd=ROOT, capture_output=True, text=True).stdout
    assert "recorded as a run `skipped` with the reason" in " ".join(help_text.split())
    assert "command exits 4" in " ".join(help_text.split())


def test_a_running_row_left_by_a_dead_process_does_not_block_its_site(config, archive):
    site_id = archive.ensure_site(**config.site("binhe-gov").archive_fields())
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = archive.start_run(site_id, pid=dead.pid)
    archive.update_run(stale, owner_pid=dead.pid, started_at=utcnow() - timedelta(minutes=5))

    crawl = subprocess.run([sys.executable, "-m", "crawler", "crawl", "binhe-gov", "--config", str(config.path)],
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert crawl.returncode == 0, crawl.stderr
    runs = all_runs(archive)
    assert [r.status for r in runs] == ["interrupted", "succeeded"]
    assert "killed?" in runs[0].error


def test_the_migration_keeps_one_running_run_per_site_in_an_archive_that_had_two(archive_url):
    url = archive_url
    archive = Archive(url)
    downgrade(archive.engine, "0013")
    site_id = archive.ensure_site("binhe-gov", "滨河市人民政府", "http://127.0.0.1")
    other = archive.ensure_site("binhe-news", "滨河新闻网", "http://127.0.0.1")
    older, newer, alone = (archive.start_run(site_id), archive.start_run(site_id), archive.start_run(other))
    archive.close()

    archive = Archive(url)  # migrated again on opening
    states = {r.id: r.status for r in all_runs(archive)}
    assert states == {older: "interrupted", newer: "running", alone: "running"}
    with pytest.raises(RunGoing, match=f"run {newer} of this site is going"):
        archive.start_run(site_id)
    assert all_runs(archive)[-1].status == "skipped"
    archive.close()
