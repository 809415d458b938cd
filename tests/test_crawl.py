"""End to end: real sample sites on 127.0.0.1, real crawl subprocesses, a real archive (SQLite, or
PostgreSQL: tests/postgres.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import yaml
from sqlalchemy import func, select

from archive.models import Article, ArticleVersion, Attachment, Capture, CrawlRun
from scheduler.runner import run_crawl
from tests.helpers import articles_by_url, local_time_text, snapshot, wait_for

BOILERPLATE = ["热线", "熱線", "责任编辑", "責任編輯", "编辑：", "分享到", "分享至", "打印本页", "关闭窗口",
               "字体：", "字号：", "读者须知", "版权所有", "ICP备", "网站标识码", "扫一扫", "原标题", "原標題",
               "本文轉自", "来源：", "來源：", "Produced By", "(jiàn", "(zāi", "浏览次数"]


def crawl_all(config, archive):
    return {site.key: run_crawl(config, site.key, archive) for site in config.sites}


def test_crawl_archives_every_sample_article_correctly(sample_sites, config, archive):
    results = crawl_all(config, archive)
    assert {key: r.status for key, r in results.items()} == dict.fromkeys(results, "succeeded")

    stored = articles_by_url(archive)
    expected = sample_sites.expected()
    assert sorted(stored) == sorted(e["url"] for e in expected)
    for e in expected:
        article = stored[e["url"]]
        assert article.title == e["title"], e["url"]
        assert article.body == e["body"], e["url"]
        assert local_time_text(article) == e["publish_time"], e["url"]
        assert article.source == e["source"], e["url"]
        assert article.reporters == e["reporters"], e["url"]
        assert article.editors == e["editors"], e["url"]
        assert article.original_title == e["original_title"], e["url"]
        for fragment in BOILERPLATE:
            assert fragment not in article.body, (e["url"], fragment)

    # GBK-only characters in names survive a page that declares gb2312
    bylines = {name for a in stored.values() for name in a.reporters}
    assert {"李镕", "王堃", "张喆", "陈珺"} <= bylines
    # the UTF-8 reprint that declares gb2312 is decoded as UTF-8, not as mojibake
    reprint = next(a for a in stored.values() if a.title == "市政府與濱河大學簽署戰略合作協議")
    assert reprint.quality["encoding"] == "utf-8"
    # every attachment was fetched once, linked to its article, with its bytes kept
    with archive.session() as session:
        attachments = session.scalars(select(Attachment)).all()
        assert sorted(a.url for a in attachments) == sorted(u for e in expected for u in e["attachments"])
        for attachment in attachments:
            assert attachment.status == "fetched" and attachment.article_id is not None
            assert attachment.sha256 and session.get(Capture, attachment.capture_id).body_size == attachment.size


def test_second_crawl_stores_nothing_and_reads_only_first_list_pages(sample_sites, config, archive):
    results = crawl_all(config, archive)
    assert all(r.stats["extraction_workers_started"] >= 1 and r.stats["worker_peak_rss_mb"] for r in results.values())
    before = snapshot(archive)
    sample_sites.take_requests()

    results = crawl_all(config, archive)

    assert snapshot(archive) == before
    assert all(r.status == "succeeded" and r.stats["articles_new"] == 0 for r in results.values())
    # no article page came, so no extraction worker was started (nor any memory reported for one)
    assert all(r.stats["extraction_workers_started"] == 0 and r.stats["worker_peak_rss_mb"] is None
               for r in results.values())
    first_pages = {(key, path) for key, site in sample_sites.sites.items()
                   for path in ["/robots.txt"] + [u.url.split(str(sample_sites.ports[key]), 1)[1]
                                                  for u in config.site(key).start_urls]}
    assert sorted(sample_sites.take_requests()) == sorted(first_pages)

    released = sample_sites.publish(3)
    results = crawl_all(config, archive)
    assert sum(r.stats["articles_new"] for r in results.values()) == 3
    stored = articles_by_url(archive)
    assert len(stored) == len(before["articles"]) + 3
    assert {a.title for a in released} <= {a.title for a in stored.values()}


def test_a_crawl_process_imports_neither_the_migrations_nor_what_it_does_not_use(sample_sites, config, archive):
    """What `python -X importtime` shows of a crawl process (the archive already at head):
    no Alembic, no aiohttp (Scrapy's remote control), and with nothing new no extractor."""
    run_crawl(config, "binhe-gov", archive)
    command = [sys.executable, "-X", "importtime", "-P", "-m", "crawler", "crawl", "binhe-gov",
               "--config", str(config.path), "--log-level", "WARNING"]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr[-2000:]
    imported = {line.split("|")[-1].strip() for line in finished.stderr.splitlines() if line.startswith("import time:")}
    assert "scrapy.crawler" in imported and "sqlalchemy" in imported  # the listing is what it says
    assert not {name for name in imported if name.split(".")[0] in ("alembic", "aiohttp", "tldextract")}
    assert "crawler.extract.article" not in imported and "multiprocessing.resource_tracker" not in imported


def test_site_down_or_failing_is_a_failed_run_and_the_archive_is_untouched(sample_sites, config, archive):
    crawl_all(config, archive)
    before = snapshot(archive)

    sample_sites.take_down("binhe-gov")
    down = run_crawl(config, "binhe-gov", archive)
    assert down.status == "failed" and down.exit_code == 1
    assert "refused" in down.error.lower() and config.site("binhe-gov").start_urls[0].url in down.error

    sample_sites.bring_up("binhe-gov")
    sample_sites.sites["changning-gov"].fault = "500"
    broken = run_crawl(config, "changning-gov", archive)
    assert broken.status == "failed" and "HTTP 500" in broken.error

    assert snapshot(archive) == before
    with archive.session() as session:
        failed = session.scalars(select(CrawlRun).where(CrawlRun.status == "failed")).all()
        assert {r.id for r in failed} == {down.run_id, broken.run_id}


def test_killed_crawl_leaves_no_duplicate_or_half_record_and_a_rerun_completes(
        sample_sites, config, tmp_path, archive_url, archive):
    site = "binhe-gov"
    # three articles answer, the other eleven hang: the crawl is killed with all of them in flight
    sample_site = sample_sites.sites[site]
    paths = [sample_site.article_path(article) for article in sample_site.live()]
    assert len(paths) == 14
    sample_site.stalled_paths.update(paths[3:])
    sample_sites.stall_seconds = 300
    waiting = tmp_path / "waiting.yaml"
    document = sample_sites.config(archive_url, concurrency_per_domain=16, download_timeout=120, retry_times=0)
    waiting.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    site_id = archive.ensure_site(site, "x", "http://x")
    run_id = archive.start_run(site_id)
    process = subprocess.Popen([sys.executable, "-m", "crawler", "crawl", site, "--config", str(waiting),
                                "--run-id", str(run_id)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    wait_for(lambda: len(articles_by_url(archive)) == 3, 60, "the three articles that answer, stored")
    assert process.poll() is None, "the crawl ended before it was killed"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    partial = len(articles_by_url(archive))
    assert partial == 3
    sample_site.stalled_paths.clear()
    archive.update_run(run_id, status="failed", error="killed by the test")

    rerun = run_crawl(config, site, archive)
    assert rerun.status == "succeeded"
    assert rerun.stats["articles_new"] == 14 - partial

    with archive.session() as session:
        assert session.scalar(select(func.count(Article.id))) == 14
        assert session.scalar(select(func.count(func.distinct(Article.canonical_url)))) == 14
        for article in session.scalars(select(Article)):
            assert article.capture_id is not None and article.version == 1
            assert session.scalar(select(func.count()).select_from(ArticleVersion)
                                  .where(ArticleVersion.article_id == article.id)) == 1


def test_after_an_incomplete_run_the_next_run_pages_past_known_articles(sample_sites, config, archive):
    """Incremental paging must not strand articles on list pages a failed run never reached."""
    district = sample_sites.sites["changning-gov"]
    district.failing_paths.add("/module/web/jpage/dataproxy.jsp")  # list pages 2 and 3 fail
    first = run_crawl(config, "changning-gov", archive)
    assert first.stats["articles_new"] == 4 and first.stats["errors"] == 1
    assert first.stats["complete"] is False

    district.failing_paths.clear()
    second = run_crawl(config, "changning-gov", archive)  # page 1 is all known, yet it goes on
    assert second.stats["articles_new"] == 5 and second.stats["list_pages"] == 3

    third = run_crawl(config, "changning-gov", archive)  # after a complete run: first page only
    assert third.stats["list_pages"] == 1 and third.stats["articles_new"] == 0


def test_archive_refusing_writes_fails_the_run_and_keeps_what_was_stored(sample_sites, config, archive):
    """A full disk mid-crawl: the crawl stops, the run says why, stored records stay whole."""
    postgresql = archive.engine.dialect.name == "postgresql"
    with archive.engine.begin() as connection:  # stands in for a disk that fills after 3 pages
        if postgresql:  # the error a full disk raises there (SQLSTATE 53100), with SQLite's words
            connection.exec_driver_sql(
                "CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF (SELECT count(*) FROM capture) >= 3 THEN "
                "RAISE EXCEPTION USING ERRCODE = 'disk_full', MESSAGE = 'database or disk is full'; END IF; "
                "RETURN NEW; END $$")
            connection.exec_driver_sql("CREATE TRIGGER disk_full BEFORE INSERT ON capture FOR EACH ROW "
                                       "EXECUTE FUNCTION disk_full()")
        else:
            connection.exec_driver_sql(
                "CREATE TRIGGER disk_full BEFORE INSERT ON capture WHEN (SELECT count(*) FROM capture) >= 3 "
                "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
    refused = run_crawl(config, "binhe-gov", archive)
    assert refused.status == "failed" and "database or disk is full" in refused.error

    with archive.session() as session:  # the 3 captures that fit may include an attachment's
        stored = session.scalars(select(Article)).all()
        assert 1 <= len(stored) <= 3
        assert all(a.capture_id and a.version == 1 for a in stored)
        assert session.scalar(select(func.count(ArticleVersion.id))) == len(stored)
        assert session.scalar(select(func.count(Capture.id))) == 3

    with archive.engine.begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER disk_full" + (" ON capture" if postgresql else ""))
    assert run_crawl(config, "binhe-gov", archive).stats["articles_new"] == 14 - len(stored)
    assert len(articles_by_url(archive)) == 14
