"""Per-process peak memory of a process tree, sampled from /proc while it runs (Linux).

getrusage() cannot tell a crawl's processes apart: RUSAGE_CHILDREN is the largest peak of
any child waited for, and a child made by fork starts out with its parent's peak. Here every
process below `root` is found by its parent pid and its own high-water mark (VmHWM, which
only grows; exec starts it again) is read every `interval` seconds, so a process's peak is
missed only by what it added in its last interval; the resident sizes (VmRSS) of the
processes alive at one sample are summed for the tree's peak. A process that lives less than
one interval may not be seen. A child forked and not exec'd starts with its parent's pages,
shared until written, and its VmHWM with its parent's size: the tree's sum leaves it out (its
parent counts those pages), and one seen only once (on its way to exec: a helper program) is
no process of its own here; one seen longer (a forked worker) is, with that inflated peak.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass
class Process:
    pid: int
    parent: int
    command: str
    kind: str
    forked: bool  # a copy of its parent, not exec'd: a worker if it stays so, else on its way to exec
    peak_kb: int = 0
    samples: int = 0


def _parents() -> dict[int, int]:
    parents = {}
    for entry in os.scandir(PROC):
        if entry.name.isdigit():
            try:
                # the command name, in parentheses, may hold spaces: the fields after it are fixed
                fields = (PROC / entry.name / "stat").read_text().rpartition(")")[2].split()
            except OSError:  # it ended meanwhile
                continue
            parents[int(entry.name)] = int(fields[1])
    return parents


def _memory_kb(pid: int) -> tuple[int, int] | None:
    """(VmHWM, VmRSS) in KB, or None for a process that ended (or a zombie, which has none)."""
    try:
        lines = (PROC / str(pid) / "status").read_text().splitlines()
    except OSError:
        return None
    found = {line.split(":")[0]: int(line.split()[1]) for line in lines if line.startswith(("VmHWM:", "VmRSS:"))}
    return (found["VmHWM"], found["VmRSS"]) if len(found) == 2 else None


def _command(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def kind_of(command: str, parent: Process | None) -> str:
    """What a process of a crawl or of the scheduler is, from its command line. A child of a
    crawl process is an extraction worker when it runs multiprocessing or extraction code, or
    is a fork of the crawl process itself."""
    if "multiprocessing.resource_tracker" in command:
        return "resource tracker"
    if parent is not None and parent.kind == "crawl process":
        worker = "multiprocessing" in command or "extraction" in command or command == parent.command
        return "extraction worker" if worker else "other"
    if " -m crawler crawl " in f" {command} ":
        return "crawl process"
    if "scheduler start" in command:
        return "scheduler"
    return "other"


class ProcessTree:
    """Samples the processes below `root` (and root itself, unless include_root is false) in a
    thread, from entering the context to leaving it."""

    def __init__(self, root: int, *, include_root: bool = True, interval: float = 0.1):
        self.root, self.include_root, self.interval = root, include_root, interval
        self.processes: dict[int, Process] = {}
        self.peak_total_kb = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="process-tree", daemon=True)

    def __enter__(self) -> ProcessTree:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._done.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        parents = _parents()
        children: dict[int, list[int]] = {}
        for pid, parent in parents.items():
            children.setdefault(parent, []).append(pid)
        below, seen, total = [self.root], {}, 0
        while below:  # parents before their children
            pid = below.pop()
            below.extend(children.get(pid, ()))
            if pid == self.root and not self.include_root:
                continue
            memory, command = _memory_kb(pid), _command(pid)
            if memory is None:
                continue
            parent = seen.get(parents.get(pid, 0))
            known = self.processes.get(pid)
            # new, or the pid used again, or the program replaced by exec: a process of its own
            if known is None or known.parent != parents.get(pid, 0) or known.command != command:
                forked = parent is not None and parent.command == command
                known = self.processes[pid] = Process(pid, parents.get(pid, 0), command,
                                                      kind_of(command, parent), forked)
            seen[pid] = known
            known.peak_kb = max(known.peak_kb, memory[0])
            known.samples += 1
            if not known.forked:  # a fork holds its parent's pages: counted once, in the parent
                total += memory[1]
        self.peak_total_kb = max(self.peak_total_kb, total)

    def peaks(self) -> dict[str, tuple[int, float]]:
        """kind -> (how many processes of that kind were seen, the largest one's peak in MB)."""
        out: dict[str, tuple[int, float]] = {}
        for process in self.processes.values():
            if process.forked and process.samples < 2:  # seen once between fork and exec: a helper
                continue
            count, peak = out.get(process.kind, (0, 0.0))
            out[process.kind] = (count + 1, max(peak, process.peak_kb / 1024))
        return out

    @property
    def peak_total_mb(self) -> float:
        return self.peak_total_kb / 1024


def describe(peaks: dict[str, tuple[int, float]]) -> str:
    """'crawl process 131 MB (the largest of 3), extraction worker 52 MB' ..."""
    return ", ".join(f"{kind} {peak:.0f} MB" + (f" (the largest of {count})" if count > 1 else "")
                     for kind, (count, peak) in sorted(peaks.items(), key=lambda item: -item[1][1]))
