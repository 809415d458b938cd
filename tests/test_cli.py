"""The muniarchive command, run as a user would: a subprocess, its output and exit status."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

MUNIARCHIVE = [sys.executable, "-m", "scheduler.cli"]


def run(*args, check=True, timeout=300, env=None):
    result = subprocess.run([*MUNIARCHIVE, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                            cwd=Path(__file__).resolve().parents[1], env={**os.environ, **(env or {})})
    if check:
        assert result.returncode == 0, result.stderr + result.stdout
    return result


def folder_digest(folder: Path, leaving_out: Path) -> dict[str, str]:
    return {str(path): hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.rglob("*"))
            if path.is_file() and leaving_out not in path.parents}


def test_demo_crawls_the_sample_sites_and_keeps_the_archive(tmp_path, config_path):
    # a configured archive holding data, named by the environment as in the Docker image
    configured = run("crawl", "binhe-gov", "--config", config_path)
    assert configured.returncode == 0
    keep = tmp_path / "demo"
    before = folder_digest(config_path.parent, leaving_out=keep)
    summary = json.loads(run("demo", "--json", "--keep", keep, env={
        "MUNIARCHIVE_DB": f"sqlite:///{config_path.parent / 'archive.db'}",
        "MUNIARCHIVE_CONFIG": str(config_path)}).stdout)
    assert folder_digest(config_path.parent, leaving_out=keep) == before  # byte-identical, nothing added
    by_site = {row["site"]: row for row in summary["sites"]}
    assert {k: (v["articles"], v["attachments"], v["errors"], v["status"]) for k, v in by_site.items()} == {
        "binhe-gov": (14, 3, 0, "succeeded"),
        "changning-gov": (9, 1, 0, "succeeded"),
        "binhe-news": (12, 0, 0, "succeeded"),
        "haigang-gov": (20, 1, 0, "succeeded"),
    }
    # the plan documents up on the sample sites, and no news that merely mentions a plan
    assert sorted((r["stage"], r["period"], r["plan_name"]) for r in summary["plan_releases"]) == [
        ("consultation", "十五五", "滨河市国民经济和社会发展第十五个五年规划纲要"),
        ("final", "2026-2035", "滨河市城市更新专项规划（2026—2035年）"),
        ("final", "十四五", "滨河市国民经济和社会发展第十四个五年规划和二〇三五年远景目标纲要"),
    ]
    assert by_site["binhe-gov"]["list_pages"] == 4
    assert (keep / "archive.db").exists() and (keep / "config.yaml").exists()

    runs = json.loads(run("runs", "--json", "--config", keep / "config.yaml").stdout)
    assert [r["status"] for r in runs] == ["succeeded"] * 4 and all(Path(r["log"]).exists() for r in runs)

    refused = run("demo", "--keep", keep, check=False)
    assert refused.returncode != 0 and "exists" in refused.stderr


def test_show_prints_the_record(tmp_path):
    keep = tmp_path / "demo"
    run("demo", "--json", "--keep", keep)
    config = keep / "config.yaml"
    import yaml
    base = yaml.safe_load(config.read_text(encoding="utf-8"))["sites"][0]["start_urls"][0].rsplit("/zwdt", 1)[0]
    record = json.loads(run("show", f"{base}/zwdt/202609/t20260901_100101.html", "--json", "--config", config).stdout)
    assert record["title"] == "滨河市召开2026年秋季安全生产工作会议"
    assert record["publish_time"] == "2026-09-01T09:30:00+08:00" and record["publish_time_precision"] == "minute"
    assert record["reporters"] == ["李镕"] and record["capture"]["encoding"] == "gb18030"
    text = run("show", f"{base}/zwdt/202609/t20260901_100101.html", "--config", config).stdout
    assert "滨河市召开2026年秋季安全生产工作会议" in text and "李镕" in text
    missing = run("show", f"{base}/nope.html", "--config", config, check=False)
    assert missing.returncode == 1 and "not in the archive" in missing.stderr


@pytest.mark.parametrize("args, message", [
    (["crawl", "binhe-gov", "--config", "no-such.yaml"], "no-such.yaml: file not found"),
    (["crawl", "nosuchsite"], "unknown site 'nosuchsite' (known: weifang-gov, "),
    (["crawl"], "name one or more sites, or give --all"),
])
def test_mistakes_are_one_line_errors(args, message):
    result = run(*args, check=False)
    assert result.returncode in (1, 2)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len([line for line in lines if message in line]) == 1


def test_broken_config_names_key_and_value(tmp_path):
    shutil.copy(Path(__file__).resolve().parents[1] / "config.yaml", tmp_path / "config.yaml")
    path = tmp_path / "config.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("kind: hanweb", "kind: hanwbe"), encoding="utf-8")
    result = run("crawl", "--all", "--config", path, check=False)
    assert result.returncode == 1
    assert "sites[1].pagination.kind: 'hanwbe' is not one of static, trs, hanweb, next_link" in result.stderr


@pytest.mark.parametrize("command", ["", "demo", "crawl", "runs", "show", "extract"])
def test_help_teaches(command):
    out = run(*([command] if command else []), "--help").stdout
    assert "Usage:" in out and ("Example" in out or command in ("", "demo"))


def test_extract_reads_saved_pages_and_text_dumps(tmp_path, sample_sites):
    import urllib.request
    url = sample_sites.base_url("binhe-gov") + "/zwdt/202609/t20260901_100101.html"
    page = tmp_path / "city.html"
    page.write_bytes(urllib.request.urlopen(url, timeout=10).read())  # GBK bytes, as crawled
    dump = tmp_path / "dump.txt"
    dump.write_text("滨河港集装箱吞吐量创新高\n來源:滨河日报 發布時間:2026-09-03 08:30:12\n"
                    "今年1至8月，滨河港完成集装箱吞吐量186万标准箱。\n責任編輯:孙璟\n", encoding="utf-8")
    lines = run("extract", page, dump, "--jsonl").stdout.splitlines()
    city, text = (json.loads(line) for line in lines)
    assert city["id"] == "city" and city["title"] == "滨河市召开2026年秋季安全生产工作会议"
    assert city["publish_time"] == "2026-09-01T09:30+08:00" and city["quality"]["encoding"] == "gb18030"
    assert (text["title"], text["source"], text["editors"]) == ("滨河港集装箱吞吐量创新高", "滨河日报", ["孙璟"])
    assert text["publish_time"] == "2026-09-03T08:30:12+08:00"
    assert text["body"] == "今年1至8月，滨河港完成集装箱吞吐量186万标准箱。"


@pytest.mark.parametrize("command", [
    ["runs", "--site", "nosuch"], ["search", "十四五", "--site", "nosuch"], ["stories", "--site", "nosuch"],
    ["export", "--format", "jsonl", "--site", "nosuch"], ["reprocess", "--site", "nosuch"],
    ["import-text", ".", "--site", "nosuch"], ["crawl", "nosuch"]])
def test_an_unknown_site_is_a_one_line_error(command, config_path):
    result = run(*command, "--config", config_path, check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == "Error: unknown site 'nosuch' (known: binhe-gov, changning-gov, binhe-news, haigang-gov)"
    assert result.stdout == ""


def test_an_archive_in_a_folder_that_does_not_exist_is_a_one_line_error_and_nothing_is_made(tmp_path, config_path):
    missing = tmp_path / "nonexistent" / "dir"
    result = run("runs", "--config", config_path, check=False, env={"MUNIARCHIVE_DB": f"sqlite:///{missing}/x.db"})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: archive {missing}/x.db: the folder {missing} does not exist "
        "(create it, or correct archive.url / $MUNIARCHIVE_DB)"]
    assert not (tmp_path / "nonexistent").exists()
    doctor = run("doctor", "--config", config_path, "--json", check=False, env={"MUNIARCHIVE_DB": f"sqlite:///{missing}/x.db"})
    assert {c["check"]: c["ok"] for c in json.loads(doctor.stdout)}["archive"] is False

    # a path relative to the config (the default data/muniarchive.db) has its folder made
    relative = tmp_path / "fresh" / "config.yaml"
    relative.parent.mkdir()
    relative.write_text("archive:\n  url: sqlite:///data/muniarchive.db\n", encoding="utf-8")
    assert run("runs", "--config", relative).returncode == 0
    assert (relative.parent / "data" / "muniarchive.db").exists()
