"""Crawl logs: written to the configured folder, kept in the archive, read back with
`muniarchive log RUN` from a machine that does not have the file."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import yaml

from archive.store import RUN_LOG_KEEP_BYTES
from crawler.config import load_config
from scheduler.runner import keep_log, run_crawl

MUNIARCHIVE = [sys.executable, "-m", "scheduler.cli"]


def muniarchive(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*MUNIARCHIVE, *map(str, args)], capture_output=True, text=True, timeout=120, cwd=cwd,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})


def with_log_dir(config_path: Path, log_dir: str):
    document = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    document["archive"]["log_dir"] = log_dir
    config_path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return load_config(config_path)


def test_a_runs_log_is_read_from_the_archive_once_its_file_is_gone(sample_sites, config_path, archive, tmp_path,
                                                                    monkeypatch):
    # a relative log folder is the config file's, whatever folder the crawl is started from
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = with_log_dir(config_path, "crawl-logs")
    result = run_crawl(config, "binhe-gov", archive)
    assert result.status == "succeeded"
    log_file = Path(result.log_path)
    assert log_file.parent == config_path.parent / "crawl-logs" and not any(elsewhere.iterdir())
    written = log_file.read_text(encoding="utf-8")
    assert "Spider closed (finished)" in written
    log_file.unlink()  # another machine: the file is on the crawling machine's disk only

    shown = muniarchive("log", result.run_id, "--config", config_path, cwd=elsewhere)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == written
    record = json.loads(muniarchive("log", result.run_id, "--json", "--config", config_path, cwd=elsewhere).stdout)
    assert (record["run"], record["site"], record["status"], record["source"]) == (
        result.run_id, "binhe-gov", "succeeded", "archive")
    assert record["path"] == str(log_file) and record["text"] == written


def test_a_run_without_a_stored_log_is_read_from_its_file_else_one_line_says_why(config, config_path, archive,
                                                                                tmp_path):
    site_id = archive.ensure_site(**config.site("binhe-gov").archive_fields())
    going = archive.start_run(site_id)  # its crawl still going: only its file has the log
    log_file = tmp_path / "going.log"
    log_file.write_text("2026-12-01 12:00:00 [scrapy.core.engine] INFO: Spider opened\n", encoding="utf-8")
    archive.update_run(going, log_path=str(log_file))
    record = json.loads(muniarchive("log", going, "--json", "--config", config_path, cwd=tmp_path).stdout)
    assert record["source"] == "file" and "Spider opened" in record["text"]

    log_file.unlink()
    missing = muniarchive("log", going, "--config", config_path, cwd=tmp_path)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert missing.stderr.strip() == (f"Error: run {going} (binhe-gov, running): its log is not in the archive, "
                                      f"and {log_file} cannot be read here: No such file or directory")
    unknown = muniarchive("log", going + 1, "--config", config_path, cwd=tmp_path)
    assert unknown.returncode == 1 and f"no crawl run {going + 1}" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1


def test_a_stored_log_is_replaced_and_a_long_one_keeps_its_end(config, archive):
    site_id = archive.ensure_site(**config.site("binhe-gov").archive_fields())
    run_id = archive.start_run(site_id)
    assert archive.run_log(run_id) is None
    archive.store_run_log(run_id, "第一次\n")
    archive.store_run_log(run_id, "第二次\n")
    assert archive.run_log(run_id) == "第二次\n"

    lines = [f"{n:08d} 抓取 http://127.0.0.1/page{n}.html\n" for n in range(RUN_LOG_KEEP_BYTES // 40 * 2)]
    whole = "".join(lines)
    archive.store_run_log(run_id, whole)
    kept = archive.run_log(run_id)
    note, _, tail = kept.partition("\n")
    size = len(whole.encode())
    assert note.startswith("[muniarchive: log cut, the first ") and note.endswith(f"of its {size} bytes are not "
                                                                                  "kept in the archive]")
    assert whole.endswith(tail) and tail.startswith(lines[len(lines) - tail.count("\n")])  # whole lines
    assert RUN_LOG_KEEP_BYTES - 100 < len(tail.encode()) <= RUN_LOG_KEEP_BYTES
    cut = int(note.removeprefix("[muniarchive: log cut, the first ").split()[0])
    assert cut + len(tail.encode()) == size


def test_a_log_that_cannot_be_stored_leaves_the_run_as_it_was(config, archive, tmp_path, caplog):
    site_id = archive.ensure_site(**config.site("binhe-gov").archive_fields())
    run_id = archive.start_run(site_id)
    with caplog.at_level(logging.WARNING, logger="scheduler.runner"):
        keep_log(archive, run_id, tmp_path / "never-written.log")
    assert f"run {run_id}: its log {tmp_path / 'never-written.log'} was not stored in the archive" in caplog.text
    assert archive.run_log(run_id) is None and archive.get_run(run_id).status == "running"


def test_the_default_log_folder_is_beside_the_archive_or_the_config_never_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("MUNIARCHIVE_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "deploy"
    folder.mkdir()
    path = folder / "config.yaml"
    path.write_text("archive:\n  url: sqlite:///archive/muniarchive.db\n", encoding="utf-8")
    assert load_config(path).log_dir == folder / "archive" / "logs"
    path.write_text("archive:\n  url: postgresql+psycopg://crawler@db.internal/muniarchive\n", encoding="utf-8")
    assert load_config(path).log_dir == folder / "data" / "logs"
    path.write_text("archive:\n  url: sqlite:///x.db\n  log_dir: /var/log/muniarchive\n", encoding="utf-8")
    assert load_config(path).log_dir == Path("/var/log/muniarchive")
