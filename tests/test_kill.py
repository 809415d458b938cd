"""kill -9 at random moments: `muniarchive crawl SITE` and the crawl it runs, killed together
(as the OOM killer or a power cut would) at a seeded random moment, 20 times over one archive.
Nothing archived before is lost, nothing is stored twice, and no run stays `running`."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import yaml
from sqlalchemy import func, select

from archive import Archive
from archive.models import Article, ArticleVersion, CrawlRun
from scheduler.runner import reconcile_runs
from tests.helpers import wait_for

MUNIARCHIVE = [sys.executable, "-m", "scheduler.cli"]
ROOT = Path(__file__).resolve().parents[1]
TRIALS = 20
# what a complete crawl of each sample site archives (the demo's figures)
ARTICLES = {"binhe-gov": 14, "changning-gov": 9, "binhe-news": 12}


def _processes() -> dict[int, tuple[str, int]]:
    """pid -> (state, parent pid), from /proc."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # ended while we looked
            continue
        found[int(stat.parent.name)] = (fields[0], int(fields[1]))
    return found


def run_count(archive: Archive) -> int:
    with archive.session() as session:
        return session.scalar(select(func.count()).select_from(CrawlRun))


def kill_tree(process: subprocess.Popen) -> None:
    """Stop the whole tree first, waiting until each member has stopped (a stopped process
    starts no other, nor moves to another process group), then SIGKILL the process group of
    each member (the runner's, and the crawl's own: it runs in a session of its own)."""
    frozen: set[int] = set()
    while True:
        processes = _processes()
        if any(processes.get(pid, ("T",))[0] not in "TtZX" for pid in frozen):
            continue  # a SIGSTOP not yet taken effect
        tree, todo = set(), [process.pid]
        while todo:
            pid = todo.pop()
            tree.add(pid)
            todo += [child for child, (_, parent) in processes.items() if parent == pid]
        if not tree - frozen:
            break
        for pid in tree - frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
        frozen |= tree
    groups = set()
    for pid in frozen:
        with contextlib.suppress(ProcessLookupError):
            groups.add(os.getpgid(pid))
    for group in groups:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
    process.wait()
    # a killed process takes a moment to tear down its memory
    wait_for(lambda: all(_processes().get(pid, ("Z",))[0] in "ZX" for pid in frozen), 30, "the killed tree to end",
             interval=0.05)


def stored(archive: Archive) -> tuple[set, set]:
    with archive.session() as session:
        articles = set(session.execute(select(Article.site_id, Article.canonical_url)).all())
        versions = set(session.execute(select(ArticleVersion.article_id, ArticleVersion.version,
                                              ArticleVersion.content_hash)).all())
    return articles, versions


def assert_nothing_twice(archive: Archive) -> None:
    with archive.session() as session:
        assert not session.execute(select(Article.site_id, Article.canonical_url).group_by(
            Article.site_id, Article.canonical_url).having(func.count() > 1)).all()
        versions = session.execute(select(ArticleVersion.article_id, ArticleVersion.version,
                                          ArticleVersion.content_hash)
                                   .order_by(ArticleVersion.article_id, ArticleVersion.version)).all()
    seen = set()
    for previous, current in zip([None, *versions], versions, strict=False):
        assert (current.article_id, current.version) not in seen
        seen.add((current.article_id, current.version))
        if previous is not None and previous.article_id == current.article_id:
            assert previous.content_hash != current.content_hash, f"article {current.article_id} stored twice"


def crawl(config: Path, site: str) -> subprocess.Popen:
    return subprocess.Popen([*MUNIARCHIVE, "crawl", site, "--config", str(config)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def test_twenty_kills_lose_nothing_store_nothing_twice_and_leave_no_run_running(tmp_path, sample_sites,
                                                                                archive_url):
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(sample_sites.config(archive_url, retry_times=0, download_timeout=5),
                                     allow_unicode=True), encoding="utf-8")
    for site in sample_sites.sites.values():
        site.delay = 0.15  # a crawl of several seconds, so that kills land while it stores
    archive = Archive(archive_url)
    rng = random.Random(14)
    killed = 0
    for trial in range(TRIALS):
        before, runs_before = stored(archive), run_count(archive)
        process = crawl(config, list(ARTICLES)[trial % len(ARTICLES)])
        # the random moment counts from when the run is recorded, however slowly the command starts
        wait_for(lambda p=process, n=runs_before: run_count(archive) > n or p.poll() is not None, 60,
                 "the run's row", interval=0.05)
        try:
            process.wait(rng.uniform(0.0, 3.0))
        except subprocess.TimeoutExpired:
            kill_tree(process)
            killed += 1
        after = stored(archive)
        assert before[0] <= after[0] and before[1] <= after[1], f"trial {trial}: archived records lost"
        assert_nothing_twice(archive)
        reconcile_runs(archive)  # what the next command (runs, status, crawl, the scheduler) does first
        with archive.session() as session:
            left = session.execute(select(CrawlRun.id, CrawlRun.pid, CrawlRun.owner_pid)
                                   .where(CrawlRun.status == "running")).all()
        processes = _processes()
        assert not left, [(run, {pid: processes.get(pid) for pid in run[1:]}) for run in left]

    # most trials killed a crawl: the test meant something
    assert killed >= TRIALS // 2
    runs = json.loads(subprocess.run([*MUNIARCHIVE, "runs", "--json", "--limit", "100", "--config", str(config)],
                                     cwd=ROOT, capture_output=True, text=True, timeout=120, check=True).stdout)
    assert len(runs) >= killed and "running" not in {run["status"] for run in runs}
    assert sum(run["status"] == "interrupted" for run in runs) >= killed // 2
    # what the killed crawls left undone is done by the next crawl: nothing stranded
    for site in ARTICLES:
        assert crawl(config, site).wait(120) == 0
    with archive.session() as session:
        assert dict(session.execute(select(Article.site_id, func.count()).group_by(Article.site_id)).all()) == {
            archive.site_id(site): count for site, count in ARTICLES.items()}
    assert_nothing_twice(archive)
    archive.close()
