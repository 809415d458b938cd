"""The project deployed to a real Scrapyd node (tests/scrapyd.py): the egg `scrapyd-deploy`
builds, jobs scheduled with plain string arguments, crawling the sample sites on 127.0.0.1 into
the test's archive (SQLite, or PostgreSQL with MUNIARCHIVE_TEST_DB=postgresql). Each job is
recorded as `python -m crawler crawl` records its crawl."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select, text

from archive import Archive, ArchiveError
from archive.db import (
    check_revision,
    create_archive_engine,
    newest_revision,
    stored_revision,
)
from archive.models import CrawlRun
from archive.queries import search
from tests.helpers import articles_by_url, downgrade, wait_for

ROOT = Path(__file__).resolve().parents[1]
SCRAPY = str(Path(sys.executable).parent / "scrapy")


def runs(archive: Archive) -> list[CrawlRun]:
    with archive.session() as session:
        return list(session.scalars(select(CrawlRun).order_by(CrawlRun.id)))


def node_env(config_path: Path, archive_url: str, tmp_path: Path) -> dict[str, str]:
    """What a node's operator sets: the config, the archive (overriding the config's), the word tables' cache."""
    return {"MUNIARCHIVE_CONFIG": str(config_path), "MUNIARCHIVE_DB": archive_url,
            "MUNIARCHIVE_CACHE_DIR": str(tmp_path / "cache")}


def test_the_egg_holds_the_migrations_and_reads_them_from_the_zip(scrapyd_egg):
    found = subprocess.run(
        [sys.executable, "-P", "-c", "import sys; sys.path.insert(0, sys.argv[1]); import archive.db as db; "
         "print(db.__file__); print(db.newest_revision())", str(scrapyd_egg)],
        capture_output=True, text=True, cwd=scrapyd_egg.parent)
    assert found.returncode == 0, found.stderr
    module_file, revision = found.stdout.split()
    assert module_file.startswith(str(scrapyd_egg))  # imported from the egg, not from the project
    assert revision == newest_revision()


def test_scrapyd_jobs_crawl_a_site_into_the_archive_with_and_without_a_run_id(
        scrapyd_egg, scrapyd_node, sample_sites, config_path, archive_url, archive, tmp_path):
    node = scrapyd_node(node_env(config_path, archive_url, tmp_path))
    assert node.deploy(scrapyd_egg)["spiders"] == 1

    # the scheduler's way: it makes the run `running`, the job adopts it
    site_id = archive.ensure_site("binhe-gov", "滨河市人民政府", sample_sites.base_url("binhe-gov"))
    scheduled = archive.start_run(site_id, trigger="schedule")
    job = node.schedule(site="binhe-gov", run_id=str(scheduled))
    node.wait_finished(job, timeout=180)
    [run] = runs(archive)
    assert run.id == scheduled and run.trigger == "schedule"
    assert run.status == "succeeded", (run.error, node.job_log(job)[-3000:])
    assert run.pid and run.pid != os.getpid() and run.host == socket.gethostname()
    assert run.stats["articles_new"] > 0 and run.stats["requests"] > run.stats["articles_new"]
    assert run.finished_at is not None and run.stats["complete"]
    stored = articles_by_url(archive)
    assert len(stored) == run.stats["articles_new"]
    # indexed after the fetch, within the job: searchable once the job is over
    article = next(a for a in stored.values() if a.title and len(a.title) >= 4)
    assert article.url in {hit["url"] for hit in search(archive, article.title[:4])}
    assert "Traceback" not in node.job_log(job)

    # without a run id: the crawl makes its own run (manual), its log where the node keeps it
    job = node.schedule(site="binhe-news")
    node.wait_finished(job, timeout=180)
    own = runs(archive)[-1]
    assert own.id != scheduled and own.trigger == "manual"
    assert own.status == "succeeded", (own.error, node.job_log(job)[-3000:])
    assert own.log_path == str(node.logs_dir / "muniarchive" / "site" / f"{job}.log")
    assert len(articles_by_url(archive)) == len(stored) + own.stats["articles_new"]
    assert own.stats["articles_new"] > 0


def test_a_second_job_of_a_running_site_is_skipped_at_once(
        scrapyd_egg, scrapyd_node, sample_sites, config_path, archive_url, archive, tmp_path):
    # the first job's requests wait on a stalling server (well within the download timeout)
    document = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    document["defaults"]["download_timeout"] = 180
    config_path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    sample_sites.stall_seconds = 15
    sample_sites.sites["binhe-gov"].fault = "stall"
    node = scrapyd_node(node_env(config_path, archive_url, tmp_path))
    node.deploy(scrapyd_egg)
    first = node.schedule(site="binhe-gov")
    going = wait_for(lambda: [r for r in runs(archive) if r.status == "running" and r.pid], 120,
                     "the first job to start its run")[0]

    second = node.schedule(site="binhe-gov")
    node.wait_finished(second, timeout=120)
    skipped = runs(archive)[-1]
    assert skipped.id != going.id and skipped.status == "skipped"
    assert f"run {going.id} of this site is going" in skipped.error
    log = node.job_log(second)
    assert f"skipped: binhe-gov: run {going.id} of this site is going" in log and "Traceback" not in log
    assert "downloader/request_count" not in log  # closed at once: nothing fetched
    assert node.exit_status(second) == 4

    sample_sites.sites["binhe-gov"].fault = None  # the first job goes on, undisturbed
    node.wait_finished(first, timeout=300)
    assert archive.get_run(going.id).status == "succeeded", node.job_log(first)[-3000:]
    assert [r.status for r in runs(archive)] == ["succeeded", "skipped"]
    assert node.exit_status(first) == 0


def test_a_worker_refuses_an_archive_that_was_not_migrated(
        scrapyd_egg, scrapyd_node, sample_sites, config_path, archive_url, tmp_path):
    node = scrapyd_node(node_env(config_path, archive_url, tmp_path))
    node.deploy(scrapyd_egg)
    job = node.schedule(site="binhe-gov")
    node.wait_finished(job, timeout=120)
    log = node.job_log(job)
    errors = [line for line in log.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and errors[0].endswith("has no tables yet: run `muniarchive migrate` first"), log[-3000:]
    assert "Traceback" not in log
    assert node.exit_status(job) == 2
    engine = create_archive_engine(archive_url)
    assert stored_revision(engine) is None  # the worker created nothing
    engine.dispose()
    assert sample_sites.take_requests() == []  # nor fetched anything


def test_the_revision_check_says_what_to_run(archive_url):
    engine = create_archive_engine(archive_url)
    with pytest.raises(ArchiveError, match=r"has no tables yet: run `muniarchive migrate` first$"):
        check_revision(engine)
    Archive(archive_url).close()
    check_revision(engine)  # at the newest: nothing to say
    newest = newest_revision()
    downgrade(engine, "-1")
    older = stored_revision(engine)
    assert older < newest
    with pytest.raises(ArchiveError, match=rf"is at revision {older}, not the newest \({newest}\): "
                                           r"run `muniarchive migrate` first$"):
        check_revision(engine)
    with engine.begin() as connection:  # an archive a newer muniarchive migrated
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(ArchiveError, match="upgrade muniarchive on this machine"):
        check_revision(engine)
    engine.dispose()


def test_scrapy_crawl_from_the_project_exits_non_zero_with_one_line_when_it_cannot_start(
        sample_sites, config_path, archive_url, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("MUNIARCHIVE_CONFIG", "MUNIARCHIVE_DB")}
    no_config = subprocess.run([SCRAPY, "crawl", "site", "-a", "site=binhe-gov"], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=120)
    assert no_config.returncode == 2
    assert "no config file: pass -a config=PATH or set $MUNIARCHIVE_CONFIG" in no_config.stderr
    assert "Traceback" not in no_config.stderr

    unmigrated = subprocess.run([SCRAPY, "crawl", "site", "-a", "site=binhe-gov", "-a", f"config={config_path}"],
                                cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert unmigrated.returncode == 2
    assert "run `muniarchive migrate` first" in unmigrated.stderr and "Traceback" not in unmigrated.stderr

    archive = Archive(archive_url)  # migrated, as `muniarchive migrate` does
    unknown = subprocess.run([SCRAPY, "crawl", "site", "-a", "site=nosuch", "-a", f"config={config_path}"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert unknown.returncode == 2 and "no site with key 'nosuch'" in unknown.stderr

    # a run that ended while its job waited (the scheduler timed it out): not crawled into
    site_id = archive.ensure_site("binhe-gov", "滨河市人民政府", sample_sites.base_url("binhe-gov"))
    ended = archive.start_run(site_id, trigger="schedule")
    archive.update_run(ended, status="timed_out", error="killed after the crawl timeout of 1 s")
    late = subprocess.run([SCRAPY, "crawl", "site", "-a", "site=binhe-gov", "-a", f"run_id={ended}",
                           "-a", f"config={config_path}"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert late.returncode == 2
    assert f"crawl run {ended} is timed_out, not running: nothing to record into" in late.stderr
    assert [(r.id, r.status, r.pid) for r in runs(archive)] == [(ended, "timed_out", None)]
    assert sample_sites.take_requests() == []
    archive.close()
