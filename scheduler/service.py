"""`muniarchive scheduler start`: the long-running service that crawls each site on its schedule.

APScheduler 3.11 with its job store in the archive database, so jobs, their next run times
and every run's record survive restarts. What DESIGN.md measured, and how it is met here:

- missed runs: hours of misfire grace plus coalescing, so a scheduler that was down across
  several due times makes exactly one catch-up run when it comes back within the grace;
- no overlap: max_instances=1 per site job, and the job blocks for the whole crawl (a
  subprocess, see runner.py), so a run due while the previous one is going is skipped;
- one scheduler per job store: a lease row with a heartbeat; a second scheduler refuses;
- jobs are module-level functions (`scheduled_crawl`), as the job store pickles them.

Shutdown (SIGTERM/SIGINT): no new runs start; running crawls get `stop_grace` to finish,
then are stopped and recorded as interrupted.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from apscheduler.events import (
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobExecutionEvent,
    JobSubmissionEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED

from archive import Archive
from archive.models import SchedulerLease, utcnow
from crawler.config import Config, SiteConfig, cron_trigger
from scheduler.alerts import Alerts
from scheduler.runner import pid_alive, reconcile_runs, run_crawl

log = logging.getLogger("muniarchive.scheduler")

LEASE = "scheduler"
HEARTBEAT_SECONDS = 10
# a lease whose holder has not renewed it for this long belongs to a dead scheduler
LEASE_STALE_SECONDS = 60
JOBS_TABLE = "apscheduler_jobs"


class _Scheduler(BackgroundScheduler):
    """APScheduler's background scheduler, quiet on shutdown.

    shutdown() marks the scheduler stopped, shuts the executor down, then wakes the main loop
    so that it can exit; the loop processes the due jobs once more before it looks at the
    state, and a job that came due while it was paused (during the stop grace) is submitted to
    the closed executor: "RuntimeError: cannot schedule new futures after shutdown", logged as
    an ERROR with its traceback on every SIGTERM. A stopped scheduler submits nothing; the due
    job stays due in the job store and is made up at the next start, within the misfire grace.
    """

    def _process_jobs(self):
        if self.state == STATE_STOPPED:
            return None
        return super()._process_jobs()


class SchedulerRefused(Exception):
    """The scheduler cannot start; str() is the one-line message for the user."""


def job_id(site_key: str) -> str:
    return f"crawl:{site_key}"


def site_of(job_id: str) -> str:
    return job_id.removeprefix("crawl:")


def job_name(site_key: str, spec: str) -> str:
    return f"crawl {site_key} @ {spec}"


def spec_of(name: str, site_key: str) -> str:
    return name.removeprefix(job_name(site_key, ""))


def job_spec(config: Config, site: SiteConfig) -> str:
    """What a site's job is made of; a job whose spec changed in config.yaml is rescheduled."""
    return (f"{site.schedule or config.defaults.schedule} ({config.defaults.timezone}, "
            f"jitter {config.scheduler.jitter:g} s)")


def job_store(archive: Archive) -> SQLAlchemyJobStore:
    return SQLAlchemyJobStore(engine=archive.engine, tablename=JOBS_TABLE)


@dataclass
class ScheduledJob:
    site: str
    spec: str
    next_run: datetime | None


def stored_jobs(config: Config, archive: Archive) -> list[ScheduledJob]:
    """The jobs in the archive's job store, as the scheduler left them (it need not be running)."""
    store = job_store(archive)
    store.start(BackgroundScheduler(timezone=config.defaults.timezone), "default")
    jobs = []
    for job in store.get_all_jobs():
        site = site_of(job.id)
        jobs.append(ScheduledJob(site, spec_of(job.name, site), job.next_run_time))
    return jobs


def scheduled_crawl(site_key: str) -> None:
    """The job function every site's job calls (module level: the job store pickles a reference)."""
    if _service is None:
        raise RuntimeError("scheduled_crawl runs only inside `muniarchive scheduler start`")
    _service.run_site(site_key)


_service: SchedulerService | None = None


class SchedulerService:
    def __init__(self, config: Config, archive: Archive):
        self.config = config
        self.archive = archive
        self.alerts = Alerts(config.alerts, archive)
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stopping = threading.Event()   # no new runs, no retries
        self.stop_crawls = threading.Event()  # stop the crawls still running
        self.crawl_slots = threading.BoundedSemaphore(config.scheduler.max_parallel_crawls)
        self.active: set[str] = set()
        self._active_lock = threading.Lock()
        self.scheduler: BackgroundScheduler | None = None

    # ------------------------------------------------------------------ start

    def _stale(self, lease: SchedulerLease) -> bool:
        if utcnow() - lease.heartbeat_at > timedelta(seconds=LEASE_STALE_SECONDS):
            return True
        # same machine: a holder process that is gone (or is this very process, reusing a dead
        # container's pid) is stale at once, without waiting for its heartbeat to age
        return lease.host == socket.gethostname() and (lease.pid == os.getpid()
                                                       or not pid_alive(lease.pid, started_by=lease.started_at))

    def start(self) -> list[str]:
        """Take the lease, sync jobs from the config, start; returns the job changes, one line each."""
        global _service
        holder = self.archive.acquire_lease(LEASE, self.holder, socket.gethostname(), os.getpid(), self._stale)
        if holder is not None:
            age = (utcnow() - holder.heartbeat_at).total_seconds()
            raise SchedulerRefused(
                f"another scheduler is running on this archive (pid {holder.pid} on {holder.host}, started "
                f"{holder.started_at:%Y-%m-%d %H:%M:%S} UTC, last heartbeat {age:.0f} s ago); "
                f"stop it first, or wait {LEASE_STALE_SECONDS} s if it died")
        _service = self
        reconcile_runs(self.archive)
        settings = self.config.scheduler
        self.scheduler = _Scheduler(
            jobstores={"default": job_store(self.archive)},
            # one thread per site: a job holds its thread for the whole crawl (and its retries);
            # crawl_slots bounds how many crawls run at once
            executors={"default": ThreadPoolExecutor(max(1, len(self.config.sites)))},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": int(settings.misfire_grace)},
            timezone=self.config.defaults.timezone,
        )
        self.scheduler.add_listener(self._on_missed, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
        self.scheduler.start(paused=True)
        try:
            changes = self.sync_jobs()
        except Exception:
            self.scheduler.shutdown(wait=False)
            self.archive.release_lease(LEASE, self.holder)
            raise
        threading.Thread(target=self._heartbeat, name="lease-heartbeat", daemon=True).start()
        self.scheduler.resume()
        return changes

    def sync_jobs(self) -> list[str]:
        """Make the job store match config.yaml. Unchanged jobs keep their stored next run time,
        which is what lets a restart make up a run missed while the scheduler was down."""
        changes = []
        existing = {job.id: job for job in self.scheduler.get_jobs()}
        grace = int(self.config.scheduler.misfire_grace)
        for site in self.config.sites:
            # registered now, so an incident (a missed run) can name a site never crawled yet
            self.archive.ensure_site(**site.archive_fields())
            spec = job_spec(self.config, site)
            name = job_name(site.key, spec)
            trigger = cron_trigger(site.schedule or self.config.defaults.schedule, self.config.defaults.timezone,
                                   self.config.scheduler.jitter)
            job = existing.pop(job_id(site.key), None)
            if job is None:
                self.scheduler.add_job(scheduled_crawl, trigger, args=[site.key], id=job_id(site.key), name=name)
                changes.append(f"added {site.key}: {spec}")
            elif job.name != name:
                old = spec_of(job.name, site.key)
                job.modify(name=name, misfire_grace_time=grace)
                job.reschedule(trigger)
                changes.append(f"updated {site.key}: {old} -> {spec}")
            elif job.misfire_grace_time != grace:
                changes.append(f"updated {site.key}: misfire grace {job.misfire_grace_time} s -> {grace} s")
                job.modify(misfire_grace_time=grace)
        for job in existing.values():
            job.remove()
            changes.append(f"removed {site_of(job.id)} (no longer in the config)")
        return changes

    def _heartbeat(self) -> None:
        while not self.stopping.wait(HEARTBEAT_SECONDS):
            try:
                still_ours = self.archive.renew_lease(LEASE, self.holder)
            except Exception as exc:  # the database is briefly unreachable: try again next beat
                log.warning("lease heartbeat failed: %s", exc)
                continue
            if not still_ours:
                log.error("another scheduler took over this archive's lease; stopping")
                self.stop()

    # ------------------------------------------------------------------ runs

    def run_site(self, site_key: str, trigger: str = "schedule") -> None:
        """One scheduled run of a site, with its retries."""
        if self.stopping.is_set():
            return
        with self._active_lock:
            if site_key in self.active:  # a retry or catch-up of this site is still going
                log.info("%s: a run is still going; this one is skipped", site_key)
                return
            self.active.add(site_key)
        try:
            settings = self.config.scheduler
            for attempt in range(settings.run_retries + 1):
                with self.crawl_slots:
                    if self.stopping.is_set():
                        return
                    log.info("%s: crawl starts (%s)", site_key, trigger)
                    result = run_crawl(self.config, site_key, self.archive, trigger=trigger, stop=self.stop_crawls)
                log.info("%s: run %s %s%s", site_key, result.run_id, result.status,
                         f": {result.error}" if result.error else "")
                retrying = result.status in ("failed", "timed_out") and attempt < settings.run_retries
                if not retrying:
                    if result.status != "interrupted":
                        self.alerts.after_run(self.archive.get_run(result.run_id))
                    return
                delay = settings.retry_delay * 2 ** attempt
                log.info("%s: retry %d of %d in %g s", site_key, attempt + 1, settings.run_retries, delay)
                trigger = "retry"
                if self.stopping.wait(delay):
                    return
        except Exception:
            log.exception("%s: the scheduled run failed", site_key)
        finally:
            with self._active_lock:
                self.active.discard(site_key)

    def _on_missed(self, event: JobExecutionEvent | JobSubmissionEvent) -> None:
        site_key = site_of(event.job_id)
        if event.code == EVENT_JOB_MAX_INSTANCES:
            log.info("%s: a due run is skipped: the previous run is still going", site_key)
            return
        due = event.scheduled_run_time.strftime("%Y-%m-%d %H:%M:%S %Z")
        log.warning("%s: the run due at %s was missed beyond the misfire grace", site_key, due)
        site_id = self.archive.site_id(site_key)
        if site_id is not None:
            self.alerts.missed(site_id, due)

    # ------------------------------------------------------------------ stop

    def stop(self) -> None:
        """Ask the service to stop (signal handlers call this); wait() does the stopping."""
        self.stopping.set()

    def wait(self) -> None:
        """Serve until stop(), then stop: no new runs, running crawls get the grace, then are stopped."""
        global _service
        while not self.stopping.wait(1):
            pass
        self.scheduler.pause()
        grace = self.config.scheduler.stop_grace
        if self.active:
            log.info("stopping: waiting up to %g s for running crawls (%s)", grace, ", ".join(sorted(self.active)))
        deadline = time.monotonic() + grace
        while self.active and time.monotonic() < deadline:
            time.sleep(0.2)
        if self.active:
            log.info("stopping the crawls still running: %s", ", ".join(sorted(self.active)))
            self.stop_crawls.set()
        self.scheduler.shutdown(wait=True)
        self.archive.release_lease(LEASE, self.holder)
        _service = None
        log.info("scheduler stopped")
