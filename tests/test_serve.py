"""`muniarchive serve` as a reader uses it: the home page, search (the CLI's own, so plan
periods in every spelling and one- or two-character words work), article pages, raw
captures, and Datasette's table browser beside them. Playwright drives Debian's headless
Chromium over an archive of the sample sites, crawled once for the module."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml

from archive import Archive
from crawler.config import load_config
from crawler.samplesites import SampleSites
from scheduler.runner import run_crawl

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# as the machine notes say: without these, Chromium keeps trying (refused) network services
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                    reason="Debian's chromium is not installed (.ci/run installs it)")

CONSULTATION = "关于公开征求《滨河市国民经济和社会发展第十五个五年规划纲要（征求意见稿）》意见的公告"
# every sample article of each period, however it writes the period (第十四个五年, “十四五”, Traditional script)
PERIOD_14 = {"滨河市人民政府关于印发滨河市国民经济和社会发展第十四个五年规划和二〇三五年远景目标纲要的通知",
             "市政府与滨河大学签署战略合作协议", "市政府與濱河大學簽署戰略合作協議",
             "我市“十四五”规划目标任务全面完成 “十五五”开局蓄势待发"}
PERIOD_15 = {CONSULTATION, "我市“十四五”规划目标任务全面完成 “十五五”开局蓄势待发",
             "滨河市人民政府关于印发滨河市国民经济和社会发展第十五个五年规划和二〇三五年远景目标纲要的通知"}
CORRECTION = "（本文于11月1日更正：征求意见截止时间延长至11月30日。）"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


def get_json(url: str):
    status, _, body = get(url)
    assert status == 200, body[:300]
    return json.loads(body)


def cli(config, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scheduler.cli", *args, "--config", str(config.path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Every sample article published and crawled, one corrected and crawled again (a second
    version), then `muniarchive serve` on a free port."""
    folder = tmp_path_factory.mktemp("serve")
    with SampleSites() as sites:
        sites.publish(100)
        path = folder / "config.yaml"
        document = sites.config(f"sqlite:///{folder / 'archive.db'}", retry_times=1, download_timeout=5,
                                revisit_days=30)
        path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
        config = load_config(path)
        archive = Archive(config.database_url)
        for site in config.sites:
            assert run_crawl(config, site.key, archive).status == "succeeded"
        gov = sites.sites["binhe-gov"]
        consultation = next(a for a in gov.articles if a.title == CONSULTATION)
        gov.revise(consultation.article_id, [*consultation.paragraphs, CORRECTION])
        assert run_crawl(config, "binhe-gov", archive).status == "succeeded"
        archive.close()
    port = free_port()
    log_path = folder / "serve.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "scheduler.cli", "serve", "--port", str(port),
                                    "--config", str(path)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(base + "/", timeout=2)
            break
        except OSError:
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "datasette did not start"
            time.sleep(0.3)
    yield base, config
    process.terminate()
    process.wait(20)


@pytest.mark.parametrize(("query", "titles"), [
    ("十四五", PERIOD_14), ("第十四个五年", PERIOD_14), ("2021—2025年", PERIOD_14),
    ("十五五", PERIOD_15), ("第十五个五年", PERIOD_15),
])
def test_search_finds_every_spelling_of_a_plan_period_in_the_cli_and_the_browser(served, query, titles):
    base, config = served
    out = cli(config, "search", query, "--json")
    assert out.returncode == 0, out.stderr
    assert {hit["title"] for hit in json.loads(out.stdout)} == titles
    hits = get_json(f"{base}/search.json?q={quote(query)}")
    assert {hit["title"] for hit in hits} == titles
    assert all(re.fullmatch(r"/article/\d+", hit["archived"]) for hit in hits)


def test_short_words_find_in_the_browser_what_the_cli_finds(served):
    base, config = served
    for query in ("规划", "滨河 规划", "十四五規劃"):
        cli_titles = [hit["title"] for hit in json.loads(cli(config, "search", query, "--limit", "50", "--json").stdout)]
        browser_titles = [hit["title"] for hit in get_json(f"{base}/search.json?q={quote(query)}")]
        assert browser_titles == cli_titles and len(cli_titles) >= 3, query
    assert get_json(f"{base}/search.json?q={quote('规划')}&site=changning-gov") == []
    status, _, body = get(f"{base}/search?q=x&from=2026-13-45")
    assert status == 400 and "from: &#39;2026-13-45&#39; is not a date" in body.decode()


def test_raw_captures_are_served_as_stored_and_pages_404_cleanly(served):
    base, _ = served
    article = next(hit for hit in get_json(f"{base}/search.json?q={quote('征求意见稿')}") if hit["title"] == CONSULTATION)
    status, _, page = get(base + article["archived"])
    captures = re.findall(r'href="(/capture/\d+)"', page.decode())
    assert status == 200 and len(captures) == 2  # the page and its PDF
    status, content_type, html = get(base + captures[0])
    assert status == 200 and content_type.startswith("text/html")
    assert "征求意见".encode("gb18030") in html  # the bytes as the site sent them (GBK)
    status, content_type, pdf = get(base + captures[1])
    assert (status, content_type) == (200, "application/pdf") and pdf.startswith(b"%PDF")
    assert get(base + "/article/999999")[0] == 404 and get(base + "/capture/999999")[0] == 404


def test_canned_queries_and_the_table_browser_stay_for_power_users(served):
    base, _ = served
    stories = get_json(base + "/archive/story_clusters.json?_shape=array")
    assert sorted(row["site"] for row in stories) == ["binhe-gov", "binhe-news"]
    releases = get_json(base + "/archive/plan_releases.json?_shape=array")
    assert ("征求意见稿", "十五五") in [(row["stage"], row["period"]) for row in releases]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d \+08:00", row["published"]) for row in releases)
    for query in ("latest_articles", "recent_runs"):
        assert get_json(f"{base}/archive/{query}.json?_shape=array"), query
    assert get(base + "/archive/article")[0] == 200


def test_government_document_fields_show_on_the_reader_page(served):
    base, config = served
    article = next(hit for hit in get_json(f"{base}/search.json?q={quote('十五五')}") if hit["title"] == CONSULTATION)
    html = get(base + article["archived"])[2].decode()
    assert re.search(r"<dt>索引号</dt><dd>113799000041234580/2026-00088</dd>", html)
    assert re.search(r"<dt>发布机构</dt><dd>滨河市发展和改革委员会</dd>", html)
    assert re.search(r"<dt>成文日期</dt><dd>2026-10-16</dd>", html)
    assert "发文字号" not in html  # the portal left that cell empty: no empty label
    # a news article has no 信息公开 table: no such fields, no empty labels
    news = next(hit for hit in get_json(f"{base}/search.json?q={quote('滨河')}") if hit["site"] == "binhe-news")
    assert "发文字号" not in get(base + news["archived"])[2].decode()


LAYOUT = """() => {
  const em = el => parseFloat(getComputedStyle(el).fontSize);
  const narrow = [];
  for (const table of document.querySelectorAll('table')) {
    for (const th of table.querySelectorAll('thead th')) {
      const range = document.createRange();
      range.selectNodeContents(th);
      const text = range.getBoundingClientRect().width;
      if (th.getBoundingClientRect().width < text) narrow.push(th.textContent);
    }
  }
  const cells = [...document.querySelectorAll('td.plan')].map(td => td.getBoundingClientRect().width / em(td));
  return {narrow, planCells: cells};
}"""


@needs_chromium
@pytest.mark.parametrize("width", [1280, 800])
def test_a_reader_searches_and_reads_an_article_with_its_attachment_in_chromium(served, tmp_path, width):
    from playwright.sync_api import sync_playwright

    base, config = served
    shots = tmp_path / "screenshots"
    shots.mkdir()
    def screenshot(name: str) -> None:
        # the viewport: what a reader sees first, and one frame for Chromium to draw
        page.screenshot(path=str(shots / f"{name}.png"), animations="disabled", caret="initial", scale="css")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(user_agent="muniarchive-tests", viewport={"width": width, "height": 900})
        page.set_default_timeout(90_000)  # a machine shared with other work can be slow to draw

        page.goto(base + "/")
        screenshot("home")
        assert page.locator(".site h3").count() == len(config.sites)
        assert page.locator(".plans tbody tr").count() >= 4
        assert "十四五" in page.locator(".plans").inner_text()
        layout = page.evaluate(LAYOUT)
        assert layout["narrow"] == [], layout  # no column narrower than its heading
        assert min(layout["planCells"]) >= 12, layout  # plan names get room, not a character or two

        page.fill("form.search-box input[name=q]", "十五五")
        # wait for the new page itself: wait_for_load_state() right after a click can answer for
        # the page being left, and a screenshot taken as it goes never gets its frame
        with page.expect_navigation():
            page.keyboard.press("Enter")
        screenshot("search")
        results = page.locator("ol.results .result a.title")
        assert set(results.all_inner_texts()) == PERIOD_15
        assert page.locator("ol.results mark").count() >= 3
        assert all(href.startswith("/article/") for href in
                   [results.nth(i).get_attribute("href") for i in range(results.count())])

        with page.expect_navigation():
            page.get_by_role("link", name=CONSULTATION).click()
        screenshot("article")
        title = page.locator("h1.article-title")
        assert title.inner_text() == CONSULTATION
        assert page.locator("dd.published").inner_text() == "2026-10-16 09:00 (UTC+08:00)"
        assert page.locator("dd.source").inner_text() == "市发展改革委"
        assert page.locator(".body p").first.inner_text().startswith("为深入贯彻开门编规划的要求")
        assert page.locator(".body p").last.inner_text() == CORRECTION
        attachment_text = page.locator(".attachment-text")
        assert attachment_text.is_visible()
        assert "滨河市国民经济和社会发展第十五个五年规划纲要（征求意见稿）" in attachment_text.inner_text()
        versions = page.locator(".versions li")
        assert versions.count() == 2
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)? \(UTC\+08:00\)",
                            versions.nth(1).locator(".when").inner_text())
        assert CORRECTION in versions.nth(1).locator(".diff .added").inner_text()
        assert page.locator("a.original").get_attribute("href").endswith("t20261016_200203.html")

        font = page.evaluate("() => parseFloat(getComputedStyle(document.querySelector('h1.article-title')).fontSize)")
        assert title.bounding_box()["width"] >= 18 * font  # a line of reading width, not a squeezed column
        body_font = page.evaluate("() => parseFloat(getComputedStyle(document.querySelector('.body p')).fontSize)")
        assert min(p.bounding_box()["width"] for p in page.locator(".body p").all()) >= 20 * body_font

        with page.expect_navigation():
            page.locator("a.raw").first.click()
        assert "/capture/" in page.url and "征求意见" in page.content()  # the archived page as the site served it
        browser.close()
    for name in ("home", "search", "article"):
        assert (shots / f"{name}.png").stat().st_size > 20_000, name
