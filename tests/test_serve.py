"""`muniarchive serve` in a real browser: Playwright drives Debian's headless Chromium."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

from scheduler.runner import run_crawl

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# as the machine notes say: without these, Chromium keeps trying (refused) network services
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(sample_sites, config, archive, tmp_path):
    for site in config.sites:
        assert run_crawl(config, site.key, archive).status == "succeeded"
    port = free_port()
    with open(tmp_path / "serve.log", "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "scheduler.cli", "serve", "--port", str(port),
                                    "--config", str(config.path)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(base + "/", timeout=2)
            break
        except OSError:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "datasette did not start"
            time.sleep(0.3)
    yield base
    process.terminate()
    process.wait(20)


def test_canned_queries_answer_as_json(served):
    with urllib.request.urlopen(served + "/archive/story_clusters.json?_shape=array", timeout=10) as response:
        stories = json.load(response)
    assert sorted(row["site"] for row in stories) == ["binhe-gov", "binhe-news"]
    for words in ("十四五规划", "十四五規劃"):  # either script, as `muniarchive search`
        with urllib.request.urlopen(f"{served}/archive/search.json?_shape=array&q={quote(words)}", timeout=10) as r:
            titles = {row["title"] for row in json.load(r)}
        assert titles == {"市政府与滨河大学签署战略合作协议", "市政府與濱河大學簽署戰略合作協議",
                          "我市“十四五”规划目标任务全面完成 “十五五”开局蓄势待发"}, words
    with urllib.request.urlopen(served + "/archive/plan_releases.json?_shape=array", timeout=10) as response:
        assert [(row["stage"], row["period"]) for row in json.load(response)] == [
            ("征求意见稿", "十五五"), ("印发", "2026-2035"), ("印发", "十四五")]
    for query in ("latest_articles", "recent_runs"):
        with urllib.request.urlopen(f"{served}/archive/{query}.json?_shape=array", timeout=10) as response:
            assert json.load(response), query


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (.ci/run installs it)")
def test_a_browser_searches_the_served_archive(served, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(user_agent="muniarchive-tests")
        page.goto(served + "/archive/article", timeout=30_000)
        page.fill("input[name=_search]", "十四五")
        page.keyboard.press("Enter")
        page.wait_for_load_state()
        page.screenshot(path=str(tmp_path / "search.png"), full_page=True)
        rows = page.locator("table.rows-and-columns tbody tr")
        text = rows.all_inner_texts()
        browser.close()
    assert any("市政府与滨河大学签署战略合作协议" in row for row in text)
    assert any("市政府與濱河大學簽署戰略合作協議" in row for row in text)
    assert (tmp_path / "search.png").stat().st_size > 10_000
