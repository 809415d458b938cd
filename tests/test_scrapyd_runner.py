"""The scheduler's scrapyd runner: crawls sent to real Scrapyd nodes on 127.0.0.1 by a real
`muniarchive scheduler start`, into one real PostgreSQL archive."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from archive import Archive
from archive.models import AlertIncident, Article, ArticleVersion, CrawlRun, Site
from crawler.config import ConfigError, load_config
from crawler.samplesites import SampleSites
from crawler.samplesites.content import CITY, DISTRICT, NEWS, PLATFORM
from crawler.samplesites.server import HanwebSite, NewsSite, PlatformSite, TrsSite
from crawler.samplesites.synthetic import SyntheticTrsSite, synthetic_articles
from scheduler import scrapyd
from scheduler.runner import reconcile_runs
from scheduler.scrapyd import Node, job_id, remote_job
from tests.helpers import table_count, wait_for
from tests.scrapyd import ScrapydNode
from tests.test_scheduler import (  # noqa: F401 (a fixture)
    cli,
    daily_ten_minutes_ago,
    no_scheduler_outlives_its_test,
    restarted_down_since,
)


def config_error(tmp_path: Path, scheduler: dict) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"scheduler": scheduler}), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return str(caught.value)


@pytest.mark.parametrize(("scheduler", "message"), [
    ({"runner": "kubernetes"}, "scheduler.runner: 'kubernetes' is not one of local, scrapyd"),
    ({"runner": "scrapyd", "scrapyd": {"nodes": ["127.0.0.1:6800"]}},
     "scheduler.scrapyd.nodes[0].url: '127.0.0.1:6800' is not an http(s) URL of a Scrapyd node"),
    ({"scrapyd": {"nodes": ["http://bob:hunter2@10.0.0.5:6800"]}},
     "scheduler.scrapyd.nodes[0].url: credentials do not belong in the URL; set MUNIARCHIVE_SCRAPYD_USERNAME "
     "and MUNIARCHIVE_SCRAPYD_PASSWORD"),
    ({"scrapyd": {"nodes": []}}, "scheduler.scrapyd.nodes: []: list should have at least 1 item after validation"),
    ({"scrapyd": {"nodes": [{"url": "http://a:6800", "max_proc": 0}]}}, "scheduler.scrapyd.nodes[0].max_proc: 0:"),
    ({"scrapyd": {"nodes": ["http://a:6800", "http://a:6800/"]}}, "nodes[1]: http://a:6800 is listed twice"),
    ({"scrapyd": {"poll_seconds": "soon"}}, "scheduler.scrapyd.poll_seconds: 'soon' is not a duration"),
])
def test_bad_scrapyd_settings_are_one_line_errors_that_name_the_key(tmp_path, scheduler, message):
    error = config_error(tmp_path, scheduler)
    assert message in error
    assert "\n" not in error and "hunter2" not in error


def test_nodes_as_urls_or_with_max_proc(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"scheduler": {"runner": "scrapyd", "scrapyd": {
        "nodes": ["http://10.0.0.5:6800/", {"url": "https://crawl2.example:6800", "max_proc": 12}],
        "poll_seconds": "2s"}}}), encoding="utf-8")
    settings = load_config(path).scheduler
    assert settings.runner == "scrapyd"
    assert [(n.url, n.max_proc) for n in settings.scrapyd.nodes] == [("http://10.0.0.5:6800", 4),
                                                                      ("https://crawl2.example:6800", 12)]
    assert settings.scrapyd.poll_seconds == 2


# ---------------------------------------------------------------------------- real nodes

CRAWL_TIMEOUT = 90  # from the job's start: room for a crawl on a loaded machine


def six_sites() -> SampleSites:
    """The four sample sites and two generated ones; `slow-gov` answers slowly enough to be
    caught mid-crawl."""
    def generated(key: str, count: int, seed: int) -> SyntheticTrsSite:
        site = SyntheticTrsSite(count)
        site.key = key
        site.articles = synthetic_articles(count, seed)
        return site

    slow = generated("slow-gov", 20, 11)
    slow.delay = 2.0
    return SampleSites([TrsSite(CITY), HanwebSite(DISTRICT), NewsSite(NEWS), PlatformSite(PLATFORM),
                        generated("quick-gov", 10, 12), slow])


def stored_urls(archive: Archive) -> list[str]:
    with archive.session() as session:
        return list(session.scalars(select(Article.url)))


def runs_of(archive: Archive) -> dict[str, list[CrawlRun]]:
    with archive.session() as session:
        rows = session.execute(select(Site.key, CrawlRun).join(CrawlRun, CrawlRun.site_id == Site.id)
                               .order_by(CrawlRun.id)).all()
    out: dict[str, list[CrawlRun]] = {}
    for key, run in rows:
        out.setdefault(key, []).append(run)
    return out


def node_of(run: CrawlRun) -> str | None:
    """The URL of the node a run was sent to (its host is the node's machine once the job starts)."""
    job = remote_job(run.log_path)
    return job and job.node


def job_state(node: ScrapydNode, job: str) -> str | None:
    found = node.job(job)
    return found[0] if found else None


def test_two_scrapyd_nodes_crawl_six_sites_with_a_timeout_and_a_node_lost_mid_way(
        tmp_path, postgres_url, scrapyd_egg, scrapyd_node):
    with six_sites() as sites:
        sites.stall_seconds = 300
        sites.sites["binhe-gov"].fault = "stall"  # stuck until its timeout; its retry finds it answering
        config_path = tmp_path / "config.yaml"
        document = sites.config(postgres_url, retry_times=0, download_timeout=120, crawl_timeout=CRAWL_TIMEOUT)
        node_env = {"MUNIARCHIVE_CONFIG": str(config_path), "MUNIARCHIVE_DB": postgres_url}
        nodes = [scrapyd_node(node_env, max_proc=3) for _ in range(2)]
        for node in nodes:
            node.deploy(scrapyd_egg)
        document["scheduler"] = {"jitter": 0, "run_retries": 3, "retry_delay": 3, "stop_grace": 5, "runner": "scrapyd",
                                 "scrapyd": {"nodes": [{"url": n.url, "max_proc": 3} for n in nodes],
                                             "poll_seconds": 0.5}}
        schedule, due = daily_ten_minutes_ago()
        for site in document["sites"]:
            site["schedule"] = schedule
        config_path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
        archive = Archive(postgres_url)
        try:
            scheduler = restarted_down_since(config_path, postgres_url, due)  # all due at once
            assert "crawl slots: 6 (the max_proc of 2 Scrapyd node(s)" in scheduler.out
            by_url = {node.url: node for node in nodes}

            def slow_run_mid_way():
                run = runs_of(archive).get("slow-gov", [None])[-1]
                if run is None or run.status != "running" or node_of(run) not in by_url:
                    return None
                node = by_url[node_of(run)]
                with archive.session() as session:
                    stored = session.scalar(select(func.count()).select_from(Article)
                                            .join(Site, Site.id == Article.site_id).where(Site.key == "slow-gov"))
                return job_state(node, job_id(run.id)) == "running" and stored > 0 and (run, node)

            lost_run, lost_node = wait_for(slow_run_mid_way, 150, "slow-gov crawling mid-way on a node")
            lost_node.kill()  # the machine goes down, with the crawl it was running
            survivor = next(node for node in nodes if node is not lost_node)

            def timed_out():
                return [r for r in runs_of(archive).get("binhe-gov", []) if r.status == "timed_out"]

            stuck = wait_for(timed_out, 150, "binhe-gov's stuck crawl to be cancelled")[0]
            sites.sites["binhe-gov"].fault = None
            expected = sorted(e["url"] for e in sites.expected())

            def all_succeeded():
                runs = runs_of(archive)
                return (len(runs) == 6 and all(site_runs[-1].status == "succeeded" for site_runs in runs.values())
                        and runs)

            runs = wait_for(all_succeeded, 150, "every site's last run to succeed")
            scheduler.stop()
            urls = stored_urls(archive)
            assert sorted(urls) == expected  # every article stored, once
            assert table_count(archive, ArticleVersion) == len(expected)

            lost = archive.get_run(lost_run.id)
            assert lost.status == "failed" and lost_node.url in lost.error and "unreachable" in lost.error
            retried = runs["slow-gov"][-1]
            assert retried.trigger == "retry" and node_of(retried) == survivor.url
            assert stuck.error == f"cancelled on {node_of(stuck)} after the crawl timeout of {CRAWL_TIMEOUT} s"
            assert job_state(by_url[node_of(stuck)], job_id(stuck.id)) in ("finished", None)  # it was stopped

            for site_runs in runs.values():
                final = site_runs[-1]
                assert final.stats["finish_reason"] == "finished" and final.stats["complete"] is True
                assert final.log_path == f"{node_of(final)}/logs/muniarchive/site/{job_id(final.id)}.log"
                if node_of(final) == lost_node.url:
                    continue  # it ended as its node went down: the log went with the node
                shown = cli("log", str(final.id), "--config", str(config_path))
                assert shown.returncode == 0, shown.stderr
                assert "Spider closed (finished)" in shown.stdout
            assert "Received SIGTERM" in cli("log", str(stuck.id), "--config", str(config_path)).stdout
            with archive.session() as session:
                down = session.scalars(select(AlertIncident).where(AlertIncident.kind == "node_down")).all()
            assert down and all(lost_node.url in incident.reason for incident in down)
            assert all(incident.closed_at is not None for incident in down)  # closed by the successful retry
        finally:
            archive.close()


def test_reconcile_leaves_a_job_its_node_still_runs_and_clears_it_once_the_node_is_gone(
        tmp_path, postgres_url, scrapyd_egg, scrapyd_node):
    """No scheduler watches these runs (it died): only the node can say whether the crawl goes on."""
    with six_sites() as sites:
        sites.stall_seconds = 300
        sites.sites["binhe-gov"].fault = "stall"
        config_path = tmp_path / "config.yaml"
        document = sites.config(postgres_url, retry_times=0, download_timeout=120)
        config_path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
        config = load_config(config_path)
        node = scrapyd_node({"MUNIARCHIVE_CONFIG": str(config_path), "MUNIARCHIVE_DB": postgres_url})
        node.deploy(scrapyd_egg)
        archive = Archive(postgres_url)
        try:
            site = config.site("binhe-gov")
            run_id = archive.start_run(archive.ensure_site(**site.archive_fields()), trigger="schedule")
            remote = Node(node.url)
            archive.update_run(run_id, host=node.url, log_path=remote.log_url("muniarchive", job_id(run_id)))
            remote.schedule("muniarchive", job_id(run_id), site="binhe-gov", run_id=str(run_id))
            wait_for(lambda: job_state(node, job_id(run_id)) == "running"
                     and archive.get_run(run_id).pid is not None, 60, "the job to adopt its run")

            assert reconcile_runs(archive) == []
            assert archive.get_run(run_id).status == "running"

            node.kill()
            assert reconcile_runs(archive) == [run_id]
            run = archive.get_run(run_id)
            assert run.status == "interrupted"
            assert run.error.startswith(f"Scrapyd node {node.url} unreachable")
            assert run.error.endswith(f"no scheduler watches job {job_id(run_id)} there")
        finally:
            archive.close()


def test_a_scheduler_stopping_cancels_its_job_and_records_the_run_interrupted(
        tmp_path, sample_sites, postgres_url, scrapyd_egg, scrapyd_node):
    sample_sites.stall_seconds = 300
    sample_sites.sites["binhe-gov"].fault = "stall"
    config_path = tmp_path / "config.yaml"
    node = scrapyd_node({"MUNIARCHIVE_CONFIG": str(config_path), "MUNIARCHIVE_DB": postgres_url})
    node.deploy(scrapyd_egg)
    document = sample_sites.config(postgres_url, retry_times=0, download_timeout=120)
    document["scheduler"] = {"runner": "scrapyd", "scrapyd": {"nodes": [node.url], "poll_seconds": 0.5}}
    config_path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    config = load_config(config_path)
    archive = Archive(postgres_url)
    stop, results = threading.Event(), []
    crawl = threading.Thread(target=lambda: results.append(
        scrapyd.run_crawl(config, "binhe-gov", archive, trigger="schedule", stop=stop)))
    try:
        crawl.start()
        wait_for(lambda: (run := runs_of(archive).get("binhe-gov", [None])[-1]) is not None
                 and run.pid is not None and job_state(node, job_id(run.id)) == "running", 90, "the job to start")
        stop.set()
        crawl.join(150)
        assert not crawl.is_alive(), "the runner did not return after its stop"
        (result,) = results
        assert (result.status, result.error) == ("interrupted", "stopped: the scheduler was shutting down")
        assert job_state(node, job_id(result.run_id)) in ("finished", None)
        assert "Received SIGTERM" in archive.run_log(result.run_id)
    finally:
        stop.set()
        crawl.join(150)
        archive.close()
