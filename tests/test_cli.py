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


@pytest.fixture(scope="module")
def demo_config(tmp_path_factory) -> Path:
    """The demo's archive and config, kept: the sample sites crawled once for these tests."""
    keep = tmp_path_factory.mktemp("kept") / "demo"
    run("demo", "--json", "--keep", keep)
    return keep / "config.yaml"


def iso_times(value, key=""):
    """Every (key, text) of a JSON document whose key names a time."""
    if isinstance(value, dict):
        for name, item in value.items():
            yield from iso_times(item, name)
    elif isinstance(value, list):
        for item in value:
            yield from iso_times(item, key)
    elif isinstance(value, str) and (key.endswith(("_at", "_time", "_seen", "_success")) or key == "since"):
        yield key, value


def test_every_json_time_is_iso_8601_in_the_config_zone(demo_config):
    from datetime import datetime, timedelta

    runs = json.loads(run("runs", "--json", "--config", demo_config).stdout)
    url = json.loads(run("articles", "--json", "--limit", "1", "--config", demo_config).stdout)[0]["url"]
    record = json.loads(run("show", url, "--json", "--config", demo_config).stdout)
    status = json.loads(run("status", "--json", "--config", demo_config).stdout)
    times = [*iso_times(runs), *iso_times(record), *iso_times(status)]
    assert {"started_at", "finished_at", "publish_time", "first_seen", "fetched_at", "created_at",
            "last_success"} <= {key for key, _ in times}
    for key, text in times:
        # the config's zone (Asia/Shanghai): +08:00, not +00:00 nor a space between day and time
        assert datetime.fromisoformat(text).utcoffset() == timedelta(hours=8), (key, text)
        assert "T" in text, (key, text)


def test_articles_lists_the_newest_first(demo_config):
    listed = json.loads(run("articles", "--site", "binhe-gov", "--json", "--limit", "100", "--config",
                            demo_config).stdout)
    assert len(listed) == 14 and {row["site"] for row in listed} == {"binhe-gov"}
    published = [row["publish_time"] for row in listed]
    assert published == sorted(published, reverse=True)
    assert listed[0]["title"] and listed[0]["url"].startswith("http://127.0.0.1:")
    recent = json.loads(run("articles", "--site", "binhe-gov", "--since", "2026-10-01", "--json", "--config",
                            demo_config).stdout)
    assert recent == [row for row in listed if row["publish_time"] >= "2026-10-01"] and 0 < len(recent) < 14
    two = json.loads(run("articles", "--limit", "2", "--json", "--config", demo_config).stdout)
    assert len(two) == 2 and len({row["site"] for row in json.loads(run(
        "articles", "--json", "--limit", "100", "--config", demo_config).stdout)}) == 4
    text = run("articles", "--site", "binhe-gov", "--limit", "3", "--config", demo_config).stdout
    assert listed[0]["title"] in text and listed[2]["title"] in text and listed[3]["title"] not in text
    refused = run("articles", "--since", "October", "--config", demo_config, check=False)
    assert refused.returncode == 2 and "'October' is not a date" in refused.stderr


def test_show_prints_the_archives_text_as_it_is(demo_config, tmp_path):
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    body = "今年以来，全区新建口袋公园十二处，[fetched] 与 [bold]方括号[/bold] 原样保留，居民步行十分钟即可到达。"
    (dumps / "parks.txt").write_text(body + "\n各街道同步推进绿道建设，累计完成投资三千余万元。\n", encoding="utf-8")
    run("import-text", dumps, "--site", "binhe-news", "--config", demo_config)
    shown = run("show", (dumps / "parks.txt").resolve().as_uri(), "--config", demo_config).stdout
    assert body in shown and "None" not in shown and "(no title)" in shown
    # an attachment's status, in square brackets, is printed too
    listed = json.loads(run("articles", "--json", "--limit", "100", "--config", demo_config).stdout)
    with_attachment = next(row["url"] for row in listed
                           if json.loads(run("show", row["url"], "--json", "--config", demo_config).stdout)["attachments"])
    assert "[fetched]" in run("show", with_attachment, "--config", demo_config).stdout


def test_runs_shows_each_runs_log(demo_config):
    runs = json.loads(run("runs", "--json", "--config", demo_config).stdout)
    text = run("runs", "--config", demo_config).stdout
    assert "log" in text.splitlines()[1]
    unfolded = "".join(text.split()).replace("│", "")  # a long path folds onto the row's next lines
    assert all(r["log"] in unfolded for r in runs)


def test_plans_new_never_empties_the_feed(demo_config, tmp_path):
    import xml.etree.ElementTree as ET

    feed = tmp_path / "plans.atom"
    entries = lambda: ET.parse(feed).getroot().findall("{http://www.w3.org/2005/Atom}entry")  # noqa: E731
    run("plans", "--new", "--json", "--config", demo_config)  # whatever was new is listed now
    again = json.loads(run("plans", "--new", "--json", "--feed", feed, "--config", demo_config).stdout)
    assert again == [] and len(entries()) == 3  # nothing new, and the feed still holds every release


def test_every_option_has_help():
    import click

    from scheduler.cli import cli

    def commands(group, path=()):
        for name, command in group.commands.items():
            yield (*path, name), command
            if isinstance(command, click.Group):
                yield from commands(command, (*path, name))

    missing = [f"{' '.join(path)} {param.opts[0]}" for path, command in commands(cli)
               for param in command.params if isinstance(param, click.Option) and not param.help]
    assert len(list(commands(cli))) >= 20 and missing == []


def test_crawl_all_off_a_terminal_says_each_site_as_it_finishes(config_path):
    process = subprocess.Popen([*MUNIARCHIVE, "crawl", "--all", "--config", str(config_path)], text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=Path(__file__).resolve().parents[1])
    first = process.stderr.readline()
    assert first.startswith("binhe-gov: succeeded, ") and "14 articles new" in first
    assert process.poll() is None  # said before the other three sites were crawled
    _, rest = process.communicate(timeout=300)
    lines = [first, *rest.splitlines()]
    assert [line.split(":")[0] for line in lines] == ["binhe-gov", "changning-gov", "binhe-news", "haigang-gov"]
    assert all("pages fetched" in line and "log " in line for line in lines) and process.returncode == 0
