"""The crawl's extraction workers: processes of their own that decode and extract pages off
the reactor (crawler/extraction_worker.py is what runs in them).

A worker is started when the first page needs one, so a crawl that finds nothing new never
starts one; it is a plain child process (`python -c …`) over two pipes, so no
multiprocessing machinery (a resource tracker process, a manager thread) comes with it. This
module is all the crawl process imports of them: nothing of the extractor.

Pages go to a worker in order and its results come back in order, each written at once; a
thread reads them off the pipe and hands the reactor all that have arrived in one call, so
a busy crawl wakes the reactor once per batch, not once per page. Because results come back
in order, the page a worker was on when it died is known: that page fails (the error names
the exit status), the pages queued behind it go to a new worker. A worker that sits on one
page far past the per-page limit (stuck where SIGALRM cannot reach, in C code) is killed the
same way.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import pickle
import queue
import resource
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

_LENGTH = struct.Struct(">I")
WORKER_COMMAND = "from crawler.extraction_worker import serve; serve()"


class ExtractionTimeout(Exception):
    """A page's extraction ran past the crawl's per-page time limit."""


class WorkerFault(Exception):
    """A page the worker could not extract: the worker's own one-line description of why
    (`ValueError: …`), or that the worker died on it."""

    def __init__(self, description: str):
        super().__init__(description)
        self.description = description


def parsed_part(body: bytes, limit: int) -> bytes:
    """The first `limit` bytes of a page, cut before a tag so that no character is split:
    '<' is never part of a multi-byte character in UTF-8, GBK or Big5."""
    if len(body) <= limit:
        return body
    cut = body.rfind(b"<", 0, limit)
    return body[:cut if cut > 0 else limit]


def site_options(site, collect_links: bool = False) -> dict:
    """What a worker needs to know of a site to extract its pages, as plain data (the
    worker builds its ExtractOptions from it: see extraction_worker.options_of)."""
    return {"selectors": site.selectors.model_dump(), "encoding": site.encoding, "collect_links": collect_links,
            "boilerplate": [rule.model_dump() for rule in site.boilerplate]}


def own_peak_rss_mb() -> float:
    """This process's own peak resident memory. Not getrusage's ru_maxrss: that counts the
    memory of the parent it was forked from (a test runner, a scheduler) before the exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# ---------------------------------------------------------------------- frames on a pipe

def write_frame(stream, value) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


def read_frame(stream):
    """The next value on the stream, or EOFError when it has closed."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        raise EOFError
    size = _LENGTH.unpack(head)[0]
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


# ---------------------------------------------------------------------- the crawl's side

@dataclass
class _Job:
    id: int
    task: str
    args: tuple
    future: asyncio.Future


@dataclass
class _Worker:
    process: subprocess.Popen
    outbox: queue.Queue = field(default_factory=queue.Queue)
    pending: dict[int, _Job] = field(default_factory=dict)  # in the order sent: the first is being worked on
    head_since: float = 0.0  # when the worker started on its first pending job
    stuck: bool = False
    peak_rss_mb: float | None = None  # the worker's own, reported as it stops
    watchdog: asyncio.TimerHandle | None = None
    reader: threading.Thread | None = None


class ExtractionWorkers:
    """Up to `max_workers` worker processes, started as pages need them; `await run(task,
    *args)` is the task's result, or raises its failure."""

    def __init__(self, options: dict, max_workers: int, stuck_after: float, logger: logging.Logger | None = None):
        self.options, self.max_workers, self.stuck_after = options, max_workers, stuck_after
        self.logger = logger or logging.getLogger(__name__)
        self.workers: list[_Worker] = []
        self.started = 0
        self.peaks: list[float] = []
        self.deliveries = 0  # reactor calls that delivered results (each one or more pages')
        self._ids = itertools.count()
        self._arrived: deque = deque()  # (worker, message) read by the reader threads
        self._lock = threading.Lock()
        self._delivery_due = False
        self._loop: asyncio.AbstractEventLoop | None = None

    async def run(self, task: str, *args):
        self._loop = asyncio.get_running_loop()
        job = _Job(next(self._ids), task, args, self._loop.create_future())
        self._send(job)
        return await job.future

    def _send(self, job: _Job) -> None:
        idle = [w for w in self.workers if not w.pending]
        if idle:
            worker = idle[0]
        elif len(self.workers) < self.max_workers:
            worker = self._start()
        else:
            worker = min(self.workers, key=lambda w: len(w.pending))
        if not worker.pending:
            worker.head_since = time.monotonic()
        worker.pending[job.id] = job
        worker.outbox.put(pickle.dumps((job.id, job.task, job.args), protocol=pickle.HIGHEST_PROTOCOL))
        self._watch(worker)

    def _start(self) -> _Worker:
        # the crawl's own import path, as multiprocessing's spawn passes it on
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        process = subprocess.Popen([sys.executable, "-P", "-c", WORKER_COMMAND], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, env=env)
        worker = _Worker(process)
        worker.outbox.put(pickle.dumps(self.options, protocol=pickle.HIGHEST_PROTOCOL))
        threading.Thread(target=self._write_loop, args=(worker,), name="extraction-writer", daemon=True).start()
        worker.reader = threading.Thread(target=self._read_loop, args=(worker,), name="extraction-reader", daemon=True)
        worker.reader.start()
        self.workers.append(worker)
        self.started += 1
        return worker

    def _write_loop(self, worker: _Worker) -> None:
        stream = worker.process.stdin
        while (data := worker.outbox.get()) is not None:
            try:
                stream.write(_LENGTH.pack(len(data)) + data)
                stream.flush()
            except (BrokenPipeError, ValueError):  # the worker died: its reader reports it
                return
        try:
            stream.close()  # the worker's signal to stop
        except OSError:
            pass

    def _read_loop(self, worker: _Worker) -> None:
        stream = worker.process.stdout
        while True:
            try:
                message = read_frame(stream)
            except (EOFError, OSError, pickle.UnpicklingError):
                message = None
            self._arrive(worker, message)
            if message is None or message[0] == "stopped":
                return

    def _arrive(self, worker: _Worker, message) -> None:
        """From a reader thread: queue what arrived; one reactor call takes all queued so far."""
        with self._lock:
            self._arrived.append((worker, message))
            if self._delivery_due or self._loop is None:
                return
            self._delivery_due = True
        try:
            self._loop.call_soon_threadsafe(self._deliver)
        except RuntimeError:  # the loop has closed: the crawl is over
            pass

    def _deliver(self) -> None:
        with self._lock:
            arrived, self._arrived = self._arrived, deque()
            self._delivery_due = False
        self.deliveries += 1
        for worker, message in arrived:
            if message is None:
                self._ended(worker)
            elif message[0] == "stopped":
                worker.peak_rss_mb = message[1]
            else:
                job_id, ok, value = message
                job = worker.pending.pop(job_id, None)
                worker.head_since = time.monotonic()
                if job is not None and not job.future.done():
                    if ok:
                        job.future.set_result(value)
                    else:
                        job.future.set_exception(ExtractionTimeout(value.split(": ", 1)[1])
                                                 if value.startswith("ExtractionTimeout:") else WorkerFault(value))
                self._watch(worker)

    def _watch(self, worker: _Worker) -> None:
        """Kill the worker if it is still on its current page `stuck_after` s from now."""
        if worker.watchdog is not None:
            worker.watchdog.cancel()
            worker.watchdog = None
        if worker.pending and worker in self.workers:
            head = next(iter(worker.pending))
            due = max(0.0, worker.head_since + self.stuck_after - time.monotonic())
            worker.watchdog = self._loop.call_later(due, self._check_stuck, worker, head)

    def _check_stuck(self, worker: _Worker, head: int) -> None:
        if worker.pending and next(iter(worker.pending)) == head and worker in self.workers:
            worker.stuck = True
            worker.process.kill()  # its reader sees the pipe close: _ended

    def _ended(self, worker: _Worker) -> None:
        """The worker's pipe closed: it stopped when asked, died, or was killed as stuck."""
        if worker not in self.workers:
            return
        self.workers.remove(worker)
        if worker.watchdog is not None:
            worker.watchdog.cancel()
        worker.outbox.put(None)
        status = worker.process.wait()
        if worker.peak_rss_mb is not None:
            self.peaks.append(worker.peak_rss_mb)
        if not worker.pending:
            return
        self.logger.warning("extraction worker stuck or dead: starting a new one")
        jobs = list(worker.pending.values())
        culprit = jobs[0].future
        if not culprit.done():
            culprit.set_exception(ExtractionTimeout(f"the worker was stuck for {self.stuck_after:.0f} s") if worker.stuck
                                  else WorkerFault(f"WorkerDied: the extraction worker process died "
                                                   f"(exit status {status}) on this page"))
        for job in jobs[1:]:  # not at fault: tried again in another worker
            if not job.future.done():
                self._send(job)

    def pids(self) -> list[int]:
        return [worker.process.pid for worker in list(self.workers)]

    def close(self, timeout: float = 10.0) -> None:
        """Stop the workers (each reports its peak memory as it goes); pages still waiting are
        cancelled. Called as the crawl ends, from the reactor thread."""
        for worker in list(self.workers):
            for job in worker.pending.values():
                job.future.cancel()
            worker.pending.clear()
            worker.outbox.put(None)
        deadline = time.monotonic() + timeout
        for worker in list(self.workers):
            try:
                worker.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()
            worker.reader.join(max(0.0, deadline - time.monotonic()))
        # the readers have queued each worker's last words by now; take them without the reactor
        with self._lock:
            arrived, self._arrived = self._arrived, deque()
        for worker, message in arrived:
            if message is not None and message[0] == "stopped":
                worker.peak_rss_mb = message[1]
        for worker in self.workers:
            if worker.watchdog is not None:
                worker.watchdog.cancel()
            if worker.peak_rss_mb is not None:
                self.peaks.append(worker.peak_rss_mb)
        self.workers.clear()
