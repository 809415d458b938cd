"""The scheduler's `scrapyd` runner: each crawl a job on one of the Scrapyd nodes of
`scheduler.scrapyd`, through Scrapyd's HTTP API (schedule.json, listjobs.json, cancel.json,
daemonstatus.json, the job's log under /logs/).

`run_crawl` has the local runner's signature and result, so the scheduler's queue, retries
and alerts work alike. The crawl_run row is made here, `running`, before the job is
scheduled: the job adopts it (`site=KEY run_id=N`) and records its outcome and stats itself.
The row's `host` is the node's URL and its `log_path` the job's log URL there, from which
reconcile_runs finds the job again. What the job cannot record is recorded here: a timeout
(the job is cancelled: `timed_out`), a scheduler shutdown (`interrupted`), a node that stops
answering mid-run or a job that ended without an outcome (`failed`, so the service's retry
runs it again, on another node if that one is still down).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from archive import Archive, RunGoing
from archive.models import utcnow
from crawler.config import SCRAPYD_AUTH_ENV, Config, ScrapydSettings
from scheduler.runner import STOP_GRACE_SECONDS, RunResult, index_and_watch, last_error_line, reconcile_runs

SPIDER = "site"
# a node that fails this many polls in a row is taken for gone
LOST_AFTER_FAILED_POLLS = 3
# cancel.json signals for a job past its timeout, STOP_GRACE_SECONDS apart: Scrapy closes the
# spider on the first TERM and stops at once on the second; KILL if even that hangs
CANCEL_SIGNALS = ("TERM", "TERM", "KILL")
# a running job's log is copied into the archive this often, so that a node that goes down
# does not take all of it along
LOG_REFRESH_SECONDS = 30
log = logging.getLogger(__name__)


class NodeError(Exception):
    """A node that could not be reached or refused a request; str() is one line.
    `timed_out`: no answer in time: the node may be busy rather than gone, and may have carried
    the request out (a schedule.json that timed out may still have made the job)."""

    def __init__(self, message: str, timed_out: bool = False):
        super().__init__(message)
        self.timed_out = timed_out


def job_id(run_id: int) -> str:
    return f"muniarchive-run-{run_id}"


@dataclass(frozen=True)
class RemoteJob:
    node: str  # the node's base URL
    project: str
    job: str


def remote_job(log_path: str | None) -> RemoteJob | None:
    """The Scrapyd job of a run from its log location ({node}/logs/{project}/{spider}/{job}.log);
    None for a run that did not run on a Scrapyd node."""
    match = re.fullmatch(r"(https?://.+)/logs/([^/]+)/[^/]+/([^/]+)\.log", log_path or "")
    return RemoteJob(*map(urllib.parse.unquote, match.groups())) if match else None


# reconcile_runs (every command) asks a node this long at most
RECONCILE_TIMEOUT = 5


def remote_run_gone(job: RemoteJob) -> str | None:
    """None while the job's node has it pending or running, or cannot say in time (a busy node
    is not a gone one); else why the run is over: the node is gone or no longer has the job."""
    node = Node(job.node, timeout=RECONCILE_TIMEOUT)
    try:
        state = node.state(job.project, job.job)
    except NodeError as exc:
        return None if exc.timed_out else f"{exc}, and no scheduler watches job {job.job} there"
    if state in ("pending", "running"):
        return None
    return f"job {job.job} ended on {job.node} without recording an outcome"


class Node:
    """One Scrapyd node's HTTP API."""

    def __init__(self, url: str, max_proc: int = 1, timeout: float = 10):
        self.url, self.max_proc, self.timeout = url, max_proc, timeout

    def _auth(self) -> dict[str, str]:
        user, password = (os.environ.get(name) for name in SCRAPYD_AUTH_ENV)
        if not user:
            return {}
        token = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def get(self, path: str) -> bytes:
        request = urllib.request.Request(f"{self.url}/{path}", headers=self._auth())
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            raise NodeError(f"Scrapyd node {self.url}: {path.split('?')[0]} answered HTTP {exc.code}") from None
        except (OSError, ValueError) as exc:  # refused, timed out, reset, bad URL
            reason = getattr(exc, "reason", None) or exc
            raise NodeError(f"Scrapyd node {self.url} unreachable: {reason}") from None

    def call(self, endpoint: str, post: dict | None = None, **query) -> dict:
        """A JSON endpoint's answer; NodeError unless its status is ok."""
        path = endpoint + (f"?{urllib.parse.urlencode(query)}" if query else "")
        request = urllib.request.Request(f"{self.url}/{path}", headers=self._auth(),
                                         data=urllib.parse.urlencode(post).encode() if post is not None else None)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            body = exc.read()  # Scrapyd's errors are JSON with a message, whatever the status
            if exc.code in (401, 403):
                raise NodeError(f"Scrapyd node {self.url}: {endpoint} refused (HTTP {exc.code}): check "
                                f"{' and '.join(SCRAPYD_AUTH_ENV)}") from None
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise NodeError(f"Scrapyd node {self.url} unreachable: {reason}",
                            timed_out=isinstance(reason, TimeoutError)) from None
        try:
            answer = json.loads(body)
        except ValueError:
            raise NodeError(f"Scrapyd node {self.url}: {endpoint} did not answer JSON") from None
        if answer.get("status") != "ok":
            raise NodeError(f"Scrapyd node {self.url}: {endpoint}: {answer.get('message', answer)}")
        return answer

    def busy(self) -> int:
        """Jobs running and waiting on the node."""
        status = self.call("daemonstatus.json")
        return int(status.get("running", 0)) + int(status.get("pending", 0))

    def state(self, project: str, job: str) -> str | None:
        """pending | running | finished, or None for a job the node does not know (any more)."""
        jobs = self.call("listjobs.json", project=project)
        for state in ("pending", "running", "finished"):
            if any(entry.get("id") == job for entry in jobs.get(state, [])):
                return state
        return None

    def schedule(self, project: str, job: str, **arguments) -> None:
        self.call("schedule.json", post={"project": project, "spider": SPIDER, "jobid": job, **arguments})

    def cancel(self, project: str, job: str, signal: str = "TERM") -> str | None:
        """The job's state before (pending or running), None if it had ended already."""
        return self.call("cancel.json", post={"project": project, "job": job, "signal": signal}).get("prevstate")

    def log_url(self, project: str, job: str) -> str:
        return f"{self.url}/logs/{urllib.parse.quote(project)}/{SPIDER}/{urllib.parse.quote(job)}.log"


def nodes_of(settings: ScrapydSettings) -> list[Node]:
    return [Node(node.url, node.max_proc, settings.request_timeout) for node in settings.nodes]


def node_slots(settings: ScrapydSettings) -> int:
    """How many crawls the nodes take at once: the sum of their max_proc."""
    return sum(node.max_proc for node in settings.nodes)


# choosing a node and scheduling on it happen under one lock, so that the next choice sees the
# job just sent (daemonstatus counts it pending) and crawls due together spread across nodes
_placing = threading.Lock()


def _place(config: Config, archive: Archive, site_key: str, site_id: int, run_id: int) -> Node:
    """Schedule the run's job on the least busy node that answers (jobs there over its
    max_proc); each node that does not is skipped with an incident. NodeError if none took it."""
    from scheduler.alerts import Alerts

    settings = config.scheduler.scrapyd
    job = job_id(run_id)
    down: list[str] = []
    placed = None
    with _placing:
        loads = []
        for order, node in enumerate(nodes_of(settings)):
            try:
                loads.append((node.busy() / node.max_proc, order, node))
            except NodeError as exc:
                down.append(str(exc))
        for _, _, node in sorted(loads, key=lambda load: load[:2]):
            # where the job's log will be, before the job exists: a scheduler that dies now
            # leaves a row that reconcile_runs can still check with the node
            archive.update_run(run_id, host=node.url, log_path=node.log_url(settings.project, job))
            try:
                node.schedule(settings.project, job, site=site_key, run_id=str(run_id))
            except NodeError as exc:
                if not exc.timed_out:
                    down.append(str(exc))
                    continue
                # the job may exist there: sent to a second node the site would be crawled
                # twice. Watching it tells: a node that never made it reports no such job
                # (the run fails and is retried), one that stays silent is lost
                log.warning("%s: run %s: %s; watching job %s there", site_key, run_id, exc, job)
            placed = node
            break
    if down:
        alerts = Alerts(config.alerts, archive)
        for why in down:
            log.warning("%s: %s", site_key, why)
            alerts.node_down(site_id, why)
    if placed is None:
        raise NodeError("; ".join(down))
    return placed


def run_crawl(config: Config, site_key: str, archive: Archive, *, timeout: float | None = None,
              log_dir: Path | None = None, trigger: str = "manual",
              stop: threading.Event | None = None, while_running: Callable[[int], None] | None = None) -> RunResult:
    """Crawl one site as a job on a Scrapyd node and record the run, as scheduler.runner.run_crawl
    does with a local process (`log_dir` is unused: the log is written on the node and copied
    into the archive while the job runs and when it ends)."""
    site = config.site(site_key)
    settings = config.scheduler.scrapyd
    reconcile_runs(archive)
    site_id = archive.ensure_site(**site.archive_fields())
    try:
        run_id = archive.start_run(site_id, trigger=trigger)
    except RunGoing as going:  # one site, one run: recorded skipped, nothing started
        return RunResult(going.skipped_run_id, site.key, "skipped", None, str(going), {}, "")
    timeout = timeout or config.defaults.crawl_timeout
    try:
        node = _place(config, archive, site.key, site_id, run_id)
    except NodeError as exc:
        archive.update_run(run_id, status="failed", finished_at=utcnow(), error=f"no Scrapyd node took the crawl: {exc}")
        run = archive.get_run(run_id)
        return RunResult(run_id, site.key, run.status, None, run.error, run.stats or {}, run.log_path or "")
    job = job_id(run_id)
    log_url = node.log_url(settings.project, job)
    log.info("%s: run %s is job %s on %s", site.key, run_id, job, node.url)

    def copy_log(quiet: bool = False) -> str | None:
        """The job's log so far, copied into the archive (`muniarchive log`)."""
        try:
            text = node.get(log_url.removeprefix(node.url + "/")).decode("utf-8", "replace")
        except NodeError as exc:
            log.log(logging.DEBUG if quiet else logging.WARNING, "%s: run %s: its log could not be fetched: %s",
                    site.key, run_id, exc)
            return None
        try:
            archive.store_run_log(run_id, text)
        except Exception as exc:  # the run's outcome stands; the node keeps its copy of the log
            log.warning("run %s: its log %s was not stored in the archive: %s", run_id, log_url, exc)
        return text

    outcome, lost = _watch(node, settings, job, run_id, timeout, stop, while_running, copy_log)
    text = copy_log() if lost is None else None
    run = archive.get_run(run_id)
    fields: dict = {}
    if outcome == "timed_out":
        fields.update(status="timed_out", error=f"cancelled on {node.url} after the crawl timeout of {timeout:g} s")
    elif outcome in ("stopped", "interrupted"):
        fields.update(status="interrupted", error="stopped: the scheduler was shutting down")
    elif run.status == "running" and lost is not None:
        fields.update(status="failed", error=f"{lost} while the job ran; its outcome is unknown")
    elif run.status == "running":  # the job ended without recording an outcome
        fields.update(status="failed", error=(text and last_error_line(text))
                      or f"job {job} ended on {node.url} without recording an outcome")
    if run.finished_at is None or "status" in fields:
        fields["finished_at"] = utcnow()
    archive.update_run(run_id, **fields)
    if lost is not None:
        from scheduler.alerts import Alerts

        Alerts(config.alerts, archive).node_down(site_id, f"{lost} during run {run_id}")
    if outcome == "interrupted":
        raise KeyboardInterrupt
    changes = index_and_watch(config, archive, run_id)
    run = archive.get_run(run_id)
    return RunResult(run_id, site.key, run.status, run.exit_code, run.error, run.stats or {}, log_url, changes)


def _watch(node: Node, settings: ScrapydSettings, job: str, run_id: int, timeout: float,
           stop: threading.Event | None, while_running: Callable[[int], None] | None,
           copy_log: Callable[[bool], object]) -> tuple[str | None, str | None]:
    """Poll the job until it is finished, keeping its log every LOG_REFRESH_SECONDS; cancel it
    past the timeout or on `stop`. Returns why it was cancelled (timed_out | stopped |
    interrupted, or None) and, for a node that stopped answering, why (else None)."""
    # the timeout counts from the job's start: a job waiting for a free process on its node is
    # queued, not crawling (it is cancelled too if it waits that long)
    deadline = time.monotonic() + timeout
    started, next_log = False, float("inf")
    outcome, signals, next_signal = None, list(CANCEL_SIGNALS), 0.0
    failed_polls = 0
    while True:
        try:
            if outcome is None and stop is not None and stop.is_set():
                outcome = "stopped"
            elif outcome is None and time.monotonic() >= deadline:
                outcome = "timed_out"
            if outcome is not None and signals and time.monotonic() >= next_signal:
                signal = signals.pop(0)
                log.info("run %s: cancelling job %s on %s (%s)", run_id, job, node.url, signal)
                try:
                    before = node.cancel(settings.project, job, signal)
                except NodeError as exc:
                    log.warning("run %s: cancel failed: %s", run_id, exc)
                else:
                    if before is None and len(signals) == len(CANCEL_SIGNALS) - 1:
                        return None, None  # it ended first: what it recorded stands
                next_signal = time.monotonic() + STOP_GRACE_SECONDS
            try:
                state = node.state(settings.project, job)
                failed_polls = 0
            except NodeError as exc:
                failed_polls += 1
                if failed_polls >= LOST_AFTER_FAILED_POLLS:
                    return outcome, str(exc)
                state = "unknown"
            if state in ("finished", None):
                return outcome, None
            if state == "running" and not started:
                started, deadline = True, time.monotonic() + timeout
                next_log = time.monotonic() + LOG_REFRESH_SECONDS
            if state == "running" and time.monotonic() >= next_log:
                copy_log(True)
                next_log = time.monotonic() + LOG_REFRESH_SECONDS
            if while_running is not None and state == "running":
                while_running(run_id)
            wait = settings.poll_seconds if outcome is None else min(settings.poll_seconds, 1)
            if outcome is None:
                wait = min(wait, max(0.0, deadline - time.monotonic()))
            if stop is not None and outcome is None:
                stop.wait(wait)
            else:
                time.sleep(wait)
        except KeyboardInterrupt:
            outcome = "interrupted"
            signals, next_signal = list(CANCEL_SIGNALS), 0.0
