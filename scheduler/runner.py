"""Run one site's crawl as a subprocess (`python -m crawler crawl SITE`) and record it.

The crawl_run row is made here, before the child starts, so a child that dies, hangs or is
killed still leaves a run with its status, exit code and log.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from archive import Archive, RunGoing
from archive.db import sqlite_path
from archive.models import CrawlRun, SchedulerLease, utcnow
from crawler.config import DB_ENV, Config

STOP_GRACE_SECONDS = 30
log = logging.getLogger(__name__)


@dataclass
class RunResult:
    run_id: int
    site: str
    status: str
    exit_code: int | None
    error: str | None
    stats: dict
    log_path: str
    plan_changes: list = field(default_factory=list)  # archive.plans.PlanChange found after the run


def makes_its_folder(config: Config) -> bool:
    """An archive path relative to the config file (the default data/muniarchive.db) has its
    folder made on first use; any other path's folder must exist already."""
    url = config.archive.url
    return (not os.environ.get(DB_ENV) and url.startswith("sqlite:///")
            and not Path(url.removeprefix("sqlite:///")).is_absolute())


def open_archive(config: Config, **options) -> Archive:
    """The config's archive, as every command opens it (created and migrated when needed)."""
    path = sqlite_path(config.database_url)
    if path is not None and makes_its_folder(config):
        path.parent.mkdir(parents=True, exist_ok=True)
    return Archive(config.database_url, **options)


def pid_alive(pid: int, started_by: datetime | None = None) -> bool:
    """Whether the process lives on this machine: not a zombie (killed, not yet reaped) and,
    with `started_by`, started by then, so that a pid reused since (a restarted container
    numbers its processes alike) is not taken for the process that had it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # Linux; elsewhere kill() is all there is to go by
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
    except (OSError, StopIteration, ValueError):
        return True
    started = datetime.fromtimestamp(boot + int(fields[19]) / os.sysconf("SC_CLK_TCK"), UTC)
    # btime is whole seconds: a second's slack
    return fields[0] != "Z" and (started_by is None or started <= started_by + timedelta(seconds=1))


def reconcile_runs(archive: Archive) -> list[int]:
    """Runs left `running` by processes that are gone (killed with SIGKILL, the machine
    restarted) are recorded `interrupted`, keeping the stats they had written (a crawl writes
    them as it goes); returns their ids.

    A run of this machine is alive while its crawl process or the process watching it (the
    runner, the scheduler) lives. A scheduled run of another machine is alive while that
    machine's scheduler holds the scheduler lease (a fresh heartbeat, its host and pid); a
    manual one there is left to that machine. A run sent to a Scrapyd node (its log location
    is on the node) is alive while the scheduler that sent it holds the lease, else while the
    node still has its job pending or running, or is too busy to say; it is over when the
    node no longer has the job or refuses connections."""
    from scheduler.scrapyd import remote_job, remote_run_gone
    from scheduler.service import LEASE, LEASE_STALE_SECONDS

    host = socket.gethostname()
    local_archive = sqlite_path(archive.url) is not None  # rows older than the host column: this machine's
    with archive.session() as session:
        running = session.execute(select(CrawlRun.id, CrawlRun.host, CrawlRun.pid, CrawlRun.owner_pid,
                                         CrawlRun.started_at, CrawlRun.trigger, CrawlRun.log_path)
                                  .where(CrawlRun.status == "running")).all()
        lease = session.get(SchedulerLease, LEASE)
    lease_fresh = lease is not None and utcnow() - lease.heartbeat_at <= timedelta(seconds=LEASE_STALE_SECONDS)
    killed = "the crawl's processes ended without recording an outcome (killed?)"

    def why_gone(run) -> str | None:
        """None while the run is alive; else why it is not."""
        if job := remote_job(run.log_path):
            # a Scrapyd job: alive while the scheduler that sent it watches it (and records
            # what becomes of it), else while its node has it pending or running
            if lease_fresh and lease.pid == run.owner_pid:
                return None
            return remote_run_gone(job)
        if run.host == host or (run.host is None and local_archive):
            # the owner made the row, so it was running by then; the crawl process starts after
            alive = ((run.owner_pid and pid_alive(run.owner_pid, started_by=run.started_at))
                     or (run.pid and pid_alive(run.pid)))
        elif run.trigger in ("schedule", "retry"):
            alive = lease_fresh and (lease.host, lease.pid) == (run.host, run.owner_pid)
        else:
            alive = True
        return None if alive else killed

    gone = {}
    for run in running:
        if why := why_gone(run):
            gone[run.id] = why
    for run_id, why in gone.items():
        archive._write(lambda session, run_id=run_id, why=why: session.execute(
            update(CrawlRun).where(CrawlRun.id == run_id, CrawlRun.status == "running")
            .values(status="interrupted", finished_at=utcnow(), error=why)))
    if gone:
        log.warning("runs %s were left running by processes that are gone: recorded interrupted",
                    ", ".join(map(str, gone)))
    return list(gone)


def _last_line(path: Path) -> str | None:
    try:
        return last_error_line(path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return None


def last_error_line(log_text: str) -> str | None:
    """A crawl log's last error line (else its last line): why a crawl that recorded no outcome ended."""
    lines = [line for line in log_text.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:") or " ERROR: " in line]
    return (errors or lines or [None])[-1]


def _stop(process: subprocess.Popen, grace: float) -> None:
    """SIGTERM the crawl's process group (Scrapy closes the spider cleanly), SIGKILL after grace."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        process.wait()


def keep_log(archive: Archive, run_id: int, log_path: Path) -> None:
    """The run's log file into the archive, readable from every machine (`muniarchive log`).
    A failure is logged: the run's outcome stands, and the file is still there."""
    try:
        archive.store_run_log(run_id, log_path.read_text(encoding="utf-8", errors="replace"))
    except Exception as exc:
        log.warning("run %s: its log %s was not stored in the archive: %s", run_id, log_path, exc)


def run_crawl(config: Config, site_key: str, archive: Archive, *, timeout: float | None = None,
              log_dir: Path | None = None, trigger: str = "manual",
              stop: threading.Event | None = None, while_running: Callable[[int], None] | None = None) -> RunResult:
    """Crawl one site in a child process and record the run. Setting `stop` (the scheduler
    shutting down) stops the crawl; the run is then recorded as interrupted. `while_running`
    is called with the run's id about twice a second while the crawl runs (to show progress)."""
    site = config.site(site_key)
    reconcile_runs(archive)  # a killed crawl of this site would otherwise stay `running` forever
    site_id = archive.ensure_site(**site.archive_fields())
    log_dir = Path(log_dir or config.log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    try:
        run_id = archive.start_run(site_id, trigger=trigger)
    except RunGoing as going:  # one site, one run: recorded skipped, nothing started
        return RunResult(going.skipped_run_id, site.key, "skipped", None, str(going), {}, "")
    log_path = log_dir / f"{site.key}-run{run_id}.log"
    archive.update_run(run_id, log_path=str(log_path))
    # -P: the working folder is not on the crawl's import path, so that a folder there named
    # archive/ or crawler/ (a data folder) is not imported in place of muniarchive's packages
    command = [sys.executable, "-P", "-m", "crawler", "crawl", site.key, "--config", str(config.path),
               "--run-id", str(run_id)]
    timeout = timeout or config.defaults.crawl_timeout
    status_if_killed = None
    with open(log_path, "ab") as log_file:
        # its own process group, so a timeout kills the crawl and anything it started
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + timeout
        try:
            while process.poll() is None:
                if stop is not None and stop.is_set():
                    status_if_killed = "stopped"
                    _stop(process, STOP_GRACE_SECONDS)
                elif time.monotonic() >= deadline:
                    status_if_killed = "timed_out"
                    _stop(process, STOP_GRACE_SECONDS)
                else:
                    if while_running is not None:
                        while_running(run_id)
                    try:
                        process.wait(min(0.5, deadline - time.monotonic()))
                    except subprocess.TimeoutExpired:
                        pass
        except KeyboardInterrupt:
            status_if_killed = "interrupted"
            _stop(process, STOP_GRACE_SECONDS)
    keep_log(archive, run_id, log_path)
    run: CrawlRun = archive.get_run(run_id)
    fields: dict = {"exit_code": process.returncode}
    if status_if_killed == "timed_out":
        fields.update(status="timed_out", error=f"killed after the crawl timeout of {timeout:g} s")
    elif status_if_killed == "stopped":
        fields.update(status="interrupted", error="stopped: the scheduler was shutting down")
    elif run.status == "running":  # the child ended without recording an outcome
        fields.update(status=status_if_killed or "failed",
                      error=_last_line(log_path) or f"crawl process exited with {process.returncode}")
    if run.finished_at is None or "status" in fields:
        fields["finished_at"] = utcnow()
    archive.update_run(run_id, **fields)
    if status_if_killed == "interrupted":
        raise KeyboardInterrupt
    changes = index_and_watch(config, archive, run_id)
    run = archive.get_run(run_id)
    return RunResult(run_id, site.key, run.status, run.exit_code, run.error, run.stats or {}, str(log_path),
                     changes)


def index_and_watch(config: Config, archive: Archive, run_id: int) -> list:
    """After a run, whatever it stored (a failed run may have stored some) is indexed, if the
    crawl was stopped before it did, and looked at for plans; the plan changes found, also
    counted in the run's stats."""
    try:
        archive.index_backlog()
        changes = watch_plans(config, archive)
    except Exception as exc:  # the crawl's result stands; the next run's scan reads these records again
        log.warning("plan-release watch after run %s failed: %s", run_id, exc)
        return []
    if changes:
        stats = dict(archive.get_run(run_id).stats or {})
        for change in ("new", "updated"):
            stats[f"plan_releases_{change}"] = sum(c.change == change for c in changes)
        archive.update_run(run_id, stats=stats)
    return changes


def watch_plans(config: Config, archive: Archive) -> list:
    """Plan releases in what the archive stored since the last look; each notified once,
    apart from the quiet baseline (`plans.baseline_days`)."""
    from archive.plans import scan_plans
    from crawler.plans import detect_plan
    from scheduler.alerts import Alerts

    changes = scan_plans(archive, detect_plan, baseline_days=config.plans.baseline_days)
    Alerts(config.alerts, archive).plan_releases()
    return changes
