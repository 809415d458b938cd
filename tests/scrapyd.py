"""A real Scrapyd node for the tests, and the project's egg built once per session.

`ScrapydNode(tmp_dir, env=...)` runs the venv's `scrapyd` on a free port on 127.0.0.1 with a
scrapyd.conf of its own (eggs, logs and its queue database in tmp_dir, no item feeds, a short
poll interval). Scrapyd passes its own environment on to the crawls it starts, so `env` is
where a test sets MUNIARCHIVE_CONFIG, MUNIARCHIVE_DB and MUNIARCHIVE_CACHE_DIR. The node runs in
a process group of its own: kill() ends it and every crawl it started at once, as a machine
that goes down would.

Fixtures: `scrapyd_egg` (session: `scrapyd-deploy --build-egg`, run in a copy of the project
so that the build leaves nothing in the working tree) and `scrapyd_node`, a factory of nodes
that are killed after the test.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.helpers import wait_for

PROJECT = "muniarchive"
ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# what `scrapyd-deploy` needs to build the egg; everything else in the project stays out of it
EGG_SOURCES = ("scrapy.cfg", "setup.py", "pyproject.toml", "README.md", "crawler", "archive", "scheduler", "textnorm")
START_TIMEOUT = 60.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def build_egg(destination: Path) -> Path:
    """The project's egg, as `scrapyd-deploy --build-egg` makes it from the project's folder."""
    source = destination.parent / "egg-source"
    source.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for name in EGG_SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=ignore)
        else:
            shutil.copy2(path, source / name)
    result = subprocess.run([str(BIN / "scrapyd-deploy"), "--build-egg", str(destination)], cwd=source,
                            capture_output=True, text=True)
    if result.returncode != 0 or not destination.is_file():
        raise RuntimeError(f"scrapyd-deploy --build-egg failed: {result.stderr.strip() or result.stdout.strip()}")
    return destination


class ScrapydNode:
    """One Scrapyd daemon on 127.0.0.1; start() waits until daemonstatus.json answers."""

    def __init__(self, tmp_dir: Path, env: dict[str, str] | None = None, *, max_proc: int = 4,
                 poll_interval: float = 0.5, start: bool = True):
        self.folder = Path(tmp_dir)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.logs_dir = self.folder / "logs"
        self.env = {**os.environ, **(env or {})}
        self.env.pop("SCRAPY_SETTINGS_MODULE", None)  # the egg names its own
        (self.folder / "scrapyd.conf").write_text(
            "[scrapyd]\n"
            "bind_address = 127.0.0.1\n"
            f"http_port = {self.port}\n"
            f"eggs_dir = {self.folder / 'eggs'}\n"
            f"logs_dir = {self.logs_dir}\n"
            f"dbs_dir = {self.folder / 'dbs'}\n"
            "items_dir =\n"
            "jobs_dir =\n"
            f"max_proc = {max_proc}\n"
            f"poll_interval = {poll_interval}\n"
            "jobs_to_keep = 100\n"
            "finished_to_keep = 100\n",
            encoding="utf-8")
        self.process: subprocess.Popen | None = None
        if start:
            self.start()

    def start(self) -> None:
        # the folder is the working directory: Scrapyd reads ./scrapyd.conf (after /etc/scrapyd)
        self.output = open(self.folder / "scrapyd.out", "ab")  # noqa: SIM115 (closed in stop/kill)
        self.process = subprocess.Popen([str(BIN / "scrapyd")], cwd=self.folder, env=self.env,
                                        stdout=self.output, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(self._answering, START_TIMEOUT, f"scrapyd on {self.url} to answer daemonstatus.json "
                                                 f"(its output: {self.folder / 'scrapyd.out'})")

    def _answering(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"scrapyd exited with {self.process.returncode}: "
                               + (self.folder / "scrapyd.out").read_text(errors="replace")[-2000:])
        try:
            return self.get("daemonstatus.json").get("status") == "ok"
        except (OSError, ValueError):
            return False

    # ---------------------------------------------------------------- the API

    def get(self, endpoint: str, **params) -> dict:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}/{endpoint}{query}", timeout=30) as response:
            return json.load(response)

    def post(self, endpoint: str, data: dict, files: dict[str, bytes] | None = None) -> dict:
        if files:
            boundary = uuid.uuid4().hex
            parts = [(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                      + str(value).encode() + b"\r\n") for name, value in data.items()]
            parts += [(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}.egg"\r\n'
                       "Content-Type: application/octet-stream\r\n\r\n").encode() + content + b"\r\n"
                      for name, content in files.items()]
            body = b"".join(parts) + f"--{boundary}--\r\n".encode()
            content_type = f"multipart/form-data; boundary={boundary}"
        else:
            body = urllib.parse.urlencode(data, doseq=True).encode()
            content_type = "application/x-www-form-urlencoded"
        request = urllib.request.Request(f"{self.url}/{endpoint}", data=body, headers={"Content-Type": content_type})
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                answer = json.load(response)
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"{endpoint}: HTTP {exc.code}: {exc.read().decode(errors='replace')[:500]}") from None
        if answer.get("status") != "ok":
            raise RuntimeError(f"{endpoint}: {answer.get('message', answer)}")
        return answer

    def deploy(self, egg: Path, version: str | None = None) -> dict:
        """addversion.json, as `scrapyd-deploy` posts it; Scrapyd lists the egg's spiders on the way."""
        return self.post("addversion.json", {"project": PROJECT, "version": version or str(int(time.time() * 1000))},
                         files={"egg": Path(egg).read_bytes()})

    def schedule(self, spider: str = "site", **args: str) -> str:
        """schedule.json; the job's id. Arguments reach the spider as strings (`-a name=value`)."""
        return self.post("schedule.json", {"project": PROJECT, "spider": spider, **args})["jobid"]

    def cancel(self, job: str) -> dict:
        return self.post("cancel.json", {"project": PROJECT, "job": job})

    def jobs(self) -> dict:
        """listjobs.json: pending, running and finished, each a list of jobs."""
        return self.get("listjobs.json", project=PROJECT)

    def job(self, job: str) -> tuple[str, dict] | None:
        """(state, the job's entry) for a job the node knows of."""
        for state, entries in self.jobs().items():
            if isinstance(entries, list):
                for entry in entries:
                    if entry.get("id") == job:
                        return state, entry
        return None

    def wait_finished(self, job: str, timeout: float = 120.0) -> dict:
        found = wait_for(lambda: (j := self.job(job)) and j[0] == "finished" and j, timeout,
                         f"job {job} on {self.url} to finish")
        return found[1]

    def exit_status(self, job: str) -> int | None:
        """The job's exit status, from the node's own log (listjobs.json does not give it):
        None while it runs, -1 when a signal ended it."""
        for line in (self.folder / "scrapyd.out").read_text(errors="replace").splitlines():
            if f"job={job!r}" not in line:
                continue
            if "Process finished:" in line:
                return 0
            if died := re.search(r"Process died: exitstatus=(\d+|None)", line):
                return -1 if died[1] == "None" else int(died[1])
        return None

    def job_log(self, job: str, spider: str = "site") -> str:
        path = self.logs_dir / PROJECT / spider / f"{job}.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    # ---------------------------------------------------------------- ending

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM: Scrapyd stops and its running crawls are shut down (interrupted)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close()

    def kill(self) -> None:
        """SIGKILL the node and every process it started (its crawls and their workers)."""
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
        self._close()

    def _close(self) -> None:
        if getattr(self, "output", None) is not None and not self.output.closed:
            self.output.close()

    def __enter__(self) -> ScrapydNode:
        return self

    def __exit__(self, *exc) -> None:
        self.kill()


@pytest.fixture(scope="session")
def scrapyd_egg(tmp_path_factory) -> Path:
    """The project's egg, built once per test session."""
    return build_egg(tmp_path_factory.mktemp("egg") / f"{PROJECT}.egg")


@pytest.fixture
def scrapyd_node(tmp_path):
    """`scrapyd_node(env=..., max_proc=...)`: a started node (in tmp_path/scrapyd-N); all killed after the test."""
    nodes: list[ScrapydNode] = []

    def start(env: dict[str, str] | None = None, **options) -> ScrapydNode:
        node = ScrapydNode(tmp_path / f"scrapyd-{len(nodes)}", env, **options)
        nodes.append(node)
        return node

    yield start
    for node in nodes:
        node.kill()
