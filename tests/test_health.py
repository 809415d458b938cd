"""Run health: a wrong config is never silent. Real sample sites on 127.0.0.1, real crawl
subprocesses, a real archive (SQLite, or PostgreSQL: tests/postgres.py), real alert receivers
(Apprise json://)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from archive import Archive
from archive.models import CrawlRun
from crawler.config import AlertSettings, load_config
from crawler.samplesites.server import Fault
from scheduler.alerts import Alerts
from scheduler.runner import reconcile_runs, run_crawl
from tests.helpers import Receiver, wait_for
from tests.test_kill import kill_tree

MUNIARCHIVE = [sys.executable, "-m", "scheduler.cli"]
ROOT = Path(__file__).resolve().parents[1]


def write_config(tmp_path: Path, sample_sites, changes: dict[str, dict], alerts_port: int | None = None, *,
                 archive_url: str | None = None) -> Path:
    """A config of the sample sites named in `changes`, each entry updated with its changes
    (the archive: `archive_url`, else a new SQLite file in `tmp_path`)."""
    document = sample_sites.config(archive_url or f"sqlite:///{tmp_path / 'archive.db'}", retry_times=1,
                                   download_timeout=5)
    document["sites"] = [site | changes[site["key"]] for site in document["sites"] if site["key"] in changes]
    if alerts_port:
        document["alerts"] = {"urls": [f"json://127.0.0.1:{alerts_port}/hook"]}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def cli(*args: str, cwd: Path = ROOT, command=MUNIARCHIVE) -> subprocess.CompletedProcess:
    return subprocess.run([*command, *args], cwd=cwd, capture_output=True, text=True, timeout=180)


def scheduled(config, archive: Archive, key: str):
    """A run as the scheduler makes it: the crawl, then its alerts."""
    result = run_crawl(config, key, archive, trigger="schedule")
    Alerts(config.alerts, archive).after_run(archive.get_run(result.run_id))
    return result


def verdict(config_path: Path, key: str) -> str:
    status = json.loads(cli("status", "--json", "--config", str(config_path)).stdout)
    return next(row["verdict"] for row in status if row["site"] == key)


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.close()


def test_a_mistyped_article_pattern_warns_everywhere_alerts_once_and_recovers_when_fixed(
        tmp_path, sample_sites, receiver, archive_url):
    # the TRS pattern of a site whose pages end in .htm, on this one's .html pages: nothing matches
    wrong = {"binhe-gov": {"article_pattern": r"/\d{6}/t\d{8}_\d+\.htm$"}}
    path = write_config(tmp_path, sample_sites, wrong, receiver.port, archive_url=archive_url)
    config = load_config(path)
    archive = Archive(config.database_url)

    first = scheduled(config, archive, "binhe-gov")  # the site's first run
    assert first.status == "succeeded_with_warnings" and first.exit_code == 0
    assert first.stats["articles_new"] == 0 and first.stats["list_links"] > 0
    assert first.stats["list_links_matching"] == 0
    for column in config.site("binhe-gov").start_urls:  # every list page walked, each column named
        links = sum(page["links"] for page in first.stats["list_pages_seen"]
                    if page["url"].rsplit("/", 1)[0] == column.url.rsplit("/", 1)[0])
        assert f"0 of {links} links match article_pattern on {column.url}" in first.error
    assert [m["title"] for m in receiver.received] == ["[muniarchive] binhe-gov: config looks wrong"]
    assert "links match article_pattern" in receiver.received[0]["message"]

    scheduled(config, archive, "binhe-gov")  # still wrong: the same incident, no second alert
    assert len(receiver.received) == 1
    assert verdict(path, "binhe-gov").startswith("warning: 0 of ")
    runs = cli("runs", "--config", str(path))
    assert "succeeded_with_warnings" in runs.stdout and "links match" in runs.stdout
    doctor = json.loads(cli("doctor", "--json", "--config", str(path)).stdout)
    site_check = next(c for c in doctor if c["check"] == "site binhe-gov")
    assert site_check["ok"] is False and "0 of " in site_check["detail"]

    path = write_config(tmp_path, sample_sites, {"binhe-gov": {}}, receiver.port, archive_url=archive_url)
    config = load_config(path)
    fixed = scheduled(config, archive, "binhe-gov")
    assert fixed.status == "succeeded" and fixed.stats["articles_new"] == 14
    incidents = [m["title"] for m in receiver.received if "binhe-gov" in m["title"]]  # not plan releases
    assert incidents == ["[muniarchive] binhe-gov: config looks wrong",
                         "[muniarchive] binhe-gov recovered: config looks wrong"]
    assert verdict(path, "binhe-gov") == "ok"
    doctor = json.loads(cli("doctor", "--json", "--config", str(path)).stdout)
    assert next(c for c in doctor if c["check"] == "site binhe-gov")["ok"] is True
    archive.close()


def test_a_list_configured_as_another_cms_kind_warns(tmp_path, sample_sites, archive_url):
    path = write_config(tmp_path, sample_sites, {
        "changning-gov": {"pagination": {"kind": "static"}},  # a Hanweb column: its list is in a datastore
        "binhe-gov": {"pagination": {"kind": "hanweb"}},  # a TRS portal: createPageHTML paging
    }, archive_url=archive_url)
    crawl = cli("crawl", "--all", "--config", str(path))
    assert crawl.returncode == 0, crawl.stdout + crawl.stderr  # warnings are not failures
    config = load_config(path)
    archive = Archive(config.database_url)
    with archive.session() as session:
        runs = {run.site_id: run for run in session.scalars(select(CrawlRun))}
    hanweb, trs = runs[archive.site_id("changning-gov")], runs[archive.site_id("binhe-gov")]
    assert hanweb.status == trs.status == "succeeded_with_warnings"
    assert hanweb.stats["articles_new"] == 0 and "links match article_pattern" in hanweb.error
    zwdt = config.site("binhe-gov").start_urls[0].url
    assert trs.stats["articles_new"] == 8  # the first list page of each column only: 5 + 3 of 14
    assert trs.error == f"{zwdt} advertises 3 list pages, but pagination 'hanweb' found no page after page 1"
    assert f"binhe-gov: warning: {zwdt} advertises 3 list pages" in " ".join(crawl.stdout.split())
    assert verdict(path, "changning-gov").startswith("warning: 0 of ")
    archive.close()


def test_failing_article_links_and_a_body_selector_matching_nothing_warn(tmp_path, sample_sites, archive_url):
    news = sample_sites.sites["binhe-news"]
    moved = [news.article_path(a) for a in news.live()][:10]
    for article_path in moved:  # the site moved its article pages: the list's links answer 404
        news.faults[article_path] = Fault(404)
    path = write_config(tmp_path, sample_sites, {
        "binhe-news": {},
        "changning-gov": {"selectors": {"body": "div.article-content"}},  # the template changed
    }, archive_url=archive_url)
    config = load_config(path)
    archive = Archive(config.database_url)

    result = run_crawl(config, "binhe-news", archive)
    assert result.status == "succeeded_with_warnings"
    assert result.error == "10 of 12 article links failed (HTTP 404)"
    again = run_crawl(config, "binhe-news", archive)  # the dead links are not fetched again, nor forgotten
    assert again.status == "succeeded_with_warnings" and again.stats["requests"] < result.stats["requests"]
    assert again.error == "10 of 12 article links failed (HTTP 404)"

    selector = run_crawl(config, "changning-gov", archive)
    assert selector.status == "succeeded_with_warnings" and selector.stats["articles_new"] == 9
    assert selector.error == "selectors.body 'div.article-content' matched none of 9 pages"
    archive.close()
    (tmp_path / "fixed").mkdir()  # a new archive (a SQLite file): the site's first crawl again
    path = write_config(tmp_path / "fixed", sample_sites, {"changning-gov": {"selectors": {"body": "#zoom"}}})
    config = load_config(path)
    archive = Archive(config.database_url)
    fixed = run_crawl(config, "changning-gov", archive)
    assert fixed.status == "succeeded" and fixed.stats["body_selector_matched"] == "9 of 9"
    archive.close()


def test_a_crawl_killed_with_its_runner_is_recorded_interrupted_with_the_stats_it_had_written(
        tmp_path, sample_sites, archive_url):
    path = write_config(tmp_path, sample_sites, {"binhe-gov": {}}, archive_url=archive_url)
    sample_sites.sites["binhe-gov"].delay = 2.0  # a crawl of many seconds
    process = subprocess.Popen([*MUNIARCHIVE, "crawl", "binhe-gov", "--config", str(path)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    archive = Archive(load_config(path).database_url)

    def written() -> CrawlRun | None:
        with archive.session() as session:
            run = session.scalar(select(CrawlRun))
        return run if run is not None and (run.stats or {}).get("requests") else None

    # the crawl writes its stats every few seconds while it runs
    run = wait_for(lambda: written() or (process.poll() is not None and "exited"), 60, "stats written while running")
    assert run != "exited", "the crawl ended before it wrote its stats"
    kill_tree(process)  # the runner and the crawl together, as the OOM killer or a power cut would
    assert archive.get_run(run.id).status == "running"

    assert reconcile_runs(archive) == [run.id]
    runs = json.loads(cli("runs", "--json", "--config", str(path)).stdout)
    assert runs[0]["status"] == "interrupted" and runs[0]["stats"]["requests"] >= run.stats["requests"] > 0
    assert runs[0]["stats"]["list_pages"] >= 1
    archive.close()


def test_a_crawl_started_from_a_folder_holding_archive_crawler_and_scheduler_folders_succeeds(
        tmp_path, sample_sites, archive_url):
    path = write_config(tmp_path, sample_sites, {"changning-gov": {}}, archive_url=archive_url)
    folder = tmp_path / "work"
    for name in ("archive", "crawler", "scheduler"):  # data folders, say, named like our packages
        (folder / name).mkdir(parents=True)
        (folder / name / "__init__.py").write_text(f"raise ImportError('the {name} folder was imported')\n")
    muniarchive = Path(sys.executable).with_name("muniarchive")
    crawl = cli("crawl", "changning-gov", "--config", str(path), "--json", cwd=folder, command=[str(muniarchive)])
    assert crawl.returncode == 0, crawl.stdout + crawl.stderr
    [run] = json.loads(crawl.stdout)
    assert run["status"] == "succeeded" and run["stats"]["articles_new"] == 9
    assert os.listdir(folder / "archive") == ["__init__.py"]


def test_a_misconfigured_incident_closes_only_at_a_run_that_could_see_the_fault_gone(archive_url, receiver):
    archive = Archive(archive_url)
    site_id = archive.ensure_site("gov", "某市人民政府", "http://127.0.0.1")
    alerts = Alerts(AlertSettings(urls=[f"json://127.0.0.1:{receiver.port}/hook"]), archive)
    checked = ["article_pattern", "pagination", "article_fetches"]

    def run(status: str, warnings=(), checks=checked) -> None:
        run_id = archive.start_run(site_id, trigger="schedule")
        archive.update_run(run_id, status=status, error="; ".join(w["reason"] for w in warnings) or None,
                           stats={"warnings": list(warnings), "health_checked": checks, "articles_new": 1})
        alerts.after_run(archive.get_run(run_id))

    selector = {"check": "selectors.body", "reason": "selectors.body 'div.x' matched none of 12 pages"}
    run("succeeded_with_warnings", [selector], [*checked, "selectors.body"])
    run("succeeded")  # a quiet night: no article page extracted, so nothing known of the selector
    assert len(receiver.received) == 1
    run("succeeded", checks=[*checked, "selectors.body"])
    titles = [m["title"] for m in receiver.received]
    assert titles == ["[muniarchive] gov: config looks wrong", "[muniarchive] gov recovered: config looks wrong"]
    assert "selectors.body 'div.x' matched none of 12 pages" in receiver.received[0]["message"]
    archive.close()
