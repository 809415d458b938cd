"""Migrating an archive: once per deployment with `muniarchive migrate`, safely from many
processes at once (a file lock on SQLite, an advisory lock on PostgreSQL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text

from archive import Archive
from archive.db import head_revision, pending_revisions
from tests.helpers import downgrade

MUNIARCHIVE = [sys.executable, "-m", "scheduler.cli"]
# a process that opens the archive when told to (all ten at the same moment)
OPEN = "import sys; from archive import Archive; print('ready', flush=True); sys.stdin.readline(); Archive(sys.argv[1])"


def test_ten_processes_migrating_one_empty_archive_at_once_all_succeed_and_migrate_it_once(archive_url):
    openers = [subprocess.Popen([sys.executable, "-c", OPEN, archive_url], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(10)]
    assert [opener.stdout.readline() for opener in openers] == ["ready\n"] * 10
    for opener in openers:
        opener.stdin.write("go\n")
    for opener in openers:
        opener.stdin.close()
    errors = [opener.stderr.read() for opener in openers]
    assert [opener.wait(120) for opener in openers] == [0] * 10, "\n".join(errors)
    assert errors == [""] * 10
    engine = create_engine(archive_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head_revision()]
    engine.dispose()
    archive = Archive(archive_url)
    assert pending_revisions(archive.engine) == []
    archive.close()


def muniarchive(config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*MUNIARCHIVE, *args, "--config", str(config)], capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).resolve().parents[1],
                          env={k: v for k, v in os.environ.items() if k != "MUNIARCHIVE_DB"})


def test_migrate_says_from_where_to_where_and_check_says_how_far_behind(archive_url, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(f"archive:\n  url: {archive_url}\n", encoding="utf-8")
    behind = muniarchive(config, "migrate", "--check")
    assert behind.returncode == 1
    count = len(pending_revisions(Archive(archive_url, upgrade=False).engine))
    assert f"at revision none (empty), {count} migration(s) behind {head_revision()}" in behind.stdout
    # --check changed nothing
    assert len(pending_revisions(Archive(archive_url, upgrade=False).engine)) == count

    done = muniarchive(config, "migrate")
    assert done.returncode == 0, done.stderr
    assert f"migrated from none (empty) to {head_revision()} ({count} migration(s))" in done.stdout
    again = muniarchive(config, "migrate", "--check", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["pending"] == [] and json.loads(again.stdout)["to"] == head_revision()
    assert "nothing to do" in muniarchive(config, "migrate").stdout


def test_an_archive_newer_than_the_code_is_one_clear_line(archive_url, tmp_path):
    Archive(archive_url).close()
    engine = create_engine(archive_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    config = tmp_path / "config.yaml"
    config.write_text(f"archive:\n  url: {archive_url}\n", encoding="utf-8")
    result = muniarchive(config, "migrate", "--check")
    assert result.returncode == 1
    assert "is at revision 9999, which this muniarchive does not know" in result.stderr
    assert "Traceback" not in result.stderr


def test_articles_stored_before_the_postgresql_search_table_are_found_after_it(archive_url):
    from datetime import UTC, datetime

    from archive import ArticleData, CaptureData
    from archive.queries import search

    archive = Archive(archive_url)
    site = archive.ensure_site("s", "S", "http://x.gov.cn")
    url = "http://x.gov.cn/a/1.html"
    archive.store_article(site, None, CaptureData(url, 200, {}, b"<html></html>", datetime.now(UTC)),
                          ArticleData("港口通航", "滨河港口今日恢复通航，“客轮”航线同步恢复。"))
    downgrade(archive.engine, "0013")  # back to the revision before 0016
    archive.close()
    archive = Archive(archive_url)  # upgrades on open, indexing what it holds
    assert [hit["url"] for hit in search(archive, "客轮航线")] == [url]  # quotation marks ignored
    assert [hit["url"] for hit in search(archive, "港口 客輪")] == [url]  # short terms, either script
    archive.close()
