"""`muniarchive scheduler start`: the long-running service that crawls each site on its schedule.

APScheduler 3.11 with its job store in the archive database, so jobs, their next run times
and every run's record survive restarts. What DESIGN.md measured, and how it is met here:

- missed runs: hours of misfire grace plus coalescing, so a scheduler that was down across
  several due times makes exactly one catch-up run when it comes back within the grace;
- a job only enqueues its due run; `max_parallel_crawls` worker threads (the crawl slots,
  scheduler/capacity.py) take runs from the queue: earliest due first, and among runs due at
  once the site whose last run took longest, so that the night ends sooner. A failed run's
  retry waits in the queue (not in a slot) until its backoff has passed;
- no overlap: a run due while the site's previous one is going is skipped; one due while the
  previous is still queued is coalesced into it and recorded as a `late` incident (more due
  sites than slots); across processes and machines the archive allows one running run a site;
- when the queue drains the service logs how long the batch (the night) took;
- where a crawl runs: `scheduler.runner` local (a child process, scheduler/runner.py) or
  scrapyd (a job on the least busy Scrapyd node, scheduler/scrapyd.py; the crawl slots are
  then the nodes' max_proc): both record the run alike, so queue, retries and alerts are one;
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
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.base import BaseExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED

from archive import Archive
from archive.models import SchedulerLease, utcnow
from crawler.config import Config, SiteConfig, cron_trigger
from scheduler import scrapyd
from scheduler.alerts import Alerts
from scheduler.capacity import crawl_slots
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


@dataclass
class QueuedRun:
    """A due run waiting for a crawl slot."""

    site: str
    due: datetime  # when it came due (a retry keeps its run's)
    last_seconds: float | None  # how long the site's last run took; None: it has none
    trigger: str = "schedule"
    attempt: int = 0
    not_before: datetime | None = None  # a retry waits for its backoff until then
    late: bool = False  # it was still queued at the site's next due time

    def ready_at(self) -> datetime:
        return self.not_before or self.due

    def order(self) -> tuple:
        # a site never run (its first, deep crawl) counts as the longest
        return self.due, -(self.last_seconds if self.last_seconds is not None else float("inf")), self.site


class RunQueue:
    """Due runs, one a site, taken earliest due first, then longest last run first."""

    def __init__(self):
        self._runs: dict[str, QueuedRun] = {}

    def __len__(self) -> int:
        return len(self._runs)

    def get(self, site: str) -> QueuedRun | None:
        return self._runs.get(site)

    def put(self, run: QueuedRun) -> None:
        self._runs[run.site] = run

    def take(self, now: datetime) -> QueuedRun | None:
        """The next run ready by `now`, removed from the queue; None if none is."""
        ready = [run for run in self._runs.values() if run.ready_at() <= now]
        if not ready:
            return None
        return self._runs.pop(min(ready, key=QueuedRun.order).site)

    def next_ready(self) -> datetime | None:
        return min((run.ready_at() for run in self._runs.values()), default=None)


class _EnqueueExecutor(BaseExecutor):
    """The site jobs' executor: a due job only enqueues its run; the crawl slots run it. A
    run due beyond its misfire grace is reported missed, as APScheduler's own executors do."""

    def __init__(self, enqueue):
        super().__init__()
        self._enqueue = enqueue

    def submit_job(self, job, run_times):
        for run_time in run_times:  # one, coalesced
            late = datetime.now(UTC) - run_time
            if job.misfire_grace_time is not None and late > timedelta(seconds=job.misfire_grace_time):
                code = EVENT_JOB_MISSED
            else:
                code = EVENT_JOB_EXECUTED
                self._enqueue(site_of(job.id), run_time)
            self._scheduler._dispatch_event(JobExecutionEvent(code, job.id, job._jobstore_alias, run_time))

    def _do_submit_job(self, job, run_times):
        raise NotImplementedError  # submit_job does it all


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
    _service.enqueue(site_key, utcnow())


_service: SchedulerService | None = None


class SchedulerService:
    def __init__(self, config: Config, archive: Archive):
        self.config = config
        self.archive = archive
        self.alerts = Alerts(config.alerts, archive)
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stopping = threading.Event()   # no new runs, no retries
        self.stop_crawls = threading.Event()  # stop the crawls still running
        settings = config.scheduler
        if settings.runner == "scrapyd":
            self.run_crawl = scrapyd.run_crawl
            self.slots, self.slots_reason = crawl_slots(
                scrapyd.node_slots(settings.scrapyd), settings.max_requests_per_second, config.defaults.download_delay)
            self.slots_reason = self.slots_reason.replace(
                "scheduler.max_parallel_crawls", f"the max_proc of {len(settings.scrapyd.nodes)} Scrapyd node(s)")
        else:
            self.run_crawl = run_crawl
            self.slots, self.slots_reason = crawl_slots(settings.max_parallel_crawls, settings.max_requests_per_second,
                                                        config.defaults.download_delay)
        self.queue = RunQueue()
        self.active: set[str] = set()  # the sites whose crawl is running
        self._changed = threading.Condition()  # guards queue, active and the batch figures
        self._workers: list[threading.Thread] = []
        self._batch_started: float | None = None  # time.monotonic() when the queue last filled from empty
        self._batch_runs: set[str] = set()
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
            executors={"default": _EnqueueExecutor(self.enqueue)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": int(settings.misfire_grace)},
            timezone=self.config.defaults.timezone,
        )
        self.scheduler.add_listener(self._on_missed, EVENT_JOB_MISSED)
        self.scheduler.start(paused=True)
        try:
            changes = self.sync_jobs()
        except Exception:
            self.scheduler.shutdown(wait=False)
            self.archive.release_lease(LEASE, self.holder)
            raise
        threading.Thread(target=self._heartbeat, name="lease-heartbeat", daemon=True).start()
        self._workers = [threading.Thread(target=self._work, name=f"crawl-slot-{n}", daemon=True)
                         for n in range(self.slots)]
        for worker in self._workers:
            worker.start()
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

    def enqueue(self, site_key: str, due: datetime) -> None:
        """A site's run came due (the job store's thread): queue it for a crawl slot."""
        if self.stopping.is_set():
            return
        last_seconds = self.archive.last_run_seconds(site_key)
        with self._changed:
            queued = self.queue.get(site_key)
            if site_key in self.active:
                log.info("%s: a due run is skipped: the previous run is still going", site_key)
                return
            if queued is not None:  # coalesced into the run still waiting
                if queued.trigger == "retry":
                    log.info("%s: the due run is the retry already queued", site_key)
                    return
                queued.late = True
                waited = due - queued.due
            else:
                if not self.queue and not self.active:
                    self._batch_started, self._batch_runs = time.monotonic(), set()
                self.queue.put(QueuedRun(site_key, due, last_seconds))
                self._changed.notify()
                return
        log.warning("%s: the run due at %s is still queued at its next due time (%s later); queued: %d",
                    site_key, f"{queued.due:%Y-%m-%d %H:%M:%S %Z}", _duration(waited), len(self.queue))
        self._in_background(self._late, site_key, queued.due, waited)

    def _late(self, site_key: str, due: datetime, waited: timedelta) -> None:
        site_id = self.archive.site_id(site_key)
        if site_id is not None:
            self.alerts.late(site_id, f"{due:%Y-%m-%d %H:%M:%S %Z}", _duration(waited), self.slots)

    @staticmethod
    def _in_background(work, *args) -> None:
        """Alerts away from the job store's thread: a slow alert target must not hold up the schedule."""
        def run():
            try:
                work(*args)
            except Exception:
                log.exception("recording an incident failed")

        threading.Thread(target=run, daemon=True).start()

    def _work(self) -> None:
        """One crawl slot: takes the next ready run from the queue until the service stops."""
        while True:
            with self._changed:
                while True:
                    if self.stopping.is_set():
                        return
                    now = utcnow()
                    run = self.queue.take(now)
                    if run is not None:
                        self.active.add(run.site)
                        break
                    ready = self.queue.next_ready()
                    # woken by a new run; a retry's backoff, or a stop, is seen within the second
                    self._changed.wait(1 if ready is None else min(1, max(0.01, (ready - now).total_seconds())))
            retry, drained = None, False
            try:
                retry = self._run(run)
            except Exception:
                log.exception("%s: the scheduled run failed", run.site)
            finally:
                with self._changed:
                    self.active.discard(run.site)
                    self._batch_runs.add(run.site)
                    if retry is not None and not self.stopping.is_set():
                        self.queue.put(retry)
                        self._changed.notify()
                    elif not self.queue and not self.active and self._batch_started is not None:
                        took = timedelta(seconds=time.monotonic() - self._batch_started)
                        log.info("queue drained: %d site(s) run in %s (%d crawl slots)", len(self._batch_runs),
                                 _duration(took), self.slots)
                        self._batch_started = None
                        drained = True
            if drained:
                self._compact_search_index()

    def _compact_search_index(self) -> None:
        """After the night's crawls, the search index merged into one segment (smaller and
        faster to search), a short step at a time so a manual crawl is never held up long."""
        started = time.monotonic()
        try:
            steps = self.archive.compact_search_index()
        except Exception as exc:  # the index stays as the crawls left it: correct, a little larger
            log.warning("compacting the search index failed: %s", exc)
            return
        if steps:
            log.info("search index compacted in %d step(s), %.1f s", steps, time.monotonic() - started)

    def _run(self, run: QueuedRun) -> QueuedRun | None:
        """One attempt of a due run; the retry to queue, if the run failed and retries are left."""
        settings = self.config.scheduler
        log.info("%s: crawl starts (%s)", run.site, run.trigger)
        result = self.run_crawl(self.config, run.site, self.archive, trigger=run.trigger, stop=self.stop_crawls)
        log.info("%s: run %s %s%s", run.site, result.run_id, result.status, f": {result.error}" if result.error else "")
        if result.status == "skipped":  # a run of the site going elsewhere (a manual crawl, another node)
            return None
        if result.status in ("failed", "timed_out") and run.attempt < settings.run_retries:
            delay = settings.retry_delay * 2 ** run.attempt
            log.info("%s: retry %d of %d in %g s", run.site, run.attempt + 1, settings.run_retries, delay)
            return replace(run, trigger="retry", attempt=run.attempt + 1,
                           not_before=utcnow() + timedelta(seconds=delay))
        if result.status != "interrupted":
            self.alerts.after_run(self.archive.get_run(result.run_id), late=run.late)
        return None

    def _on_missed(self, event: JobExecutionEvent) -> None:
        site_key = site_of(event.job_id)
        due = event.scheduled_run_time.strftime("%Y-%m-%d %H:%M:%S %Z")
        log.warning("%s: the run due at %s was missed beyond the misfire grace", site_key, due)
        site_id = self.archive.site_id(site_key)
        if site_id is not None:
            self._in_background(self.alerts.missed, site_id, due)

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
        for worker in self._workers:
            worker.join()
        if self.queue:
            log.info("stopping: %d due runs were still queued: dropped (each site runs at its next due time)",
                     len(self.queue))
        self.scheduler.shutdown(wait=True)
        self.archive.release_lease(LEASE, self.holder)
        _service = None
        log.info("scheduler stopped")


def _duration(value: timedelta) -> str:
    """h:mm:ss, whole seconds."""
    return str(timedelta(seconds=round(value.total_seconds())))
