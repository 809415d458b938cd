"""The queries the reading commands make use indexes: none reads every article (or every run,
failed URL, incident) to answer. Checked with SQLite's EXPLAIN QUERY PLAN on a small real
archive, for each query the command's archive function makes: dropping an index these
queries need makes this fail. benchmarks/commands.py measures the same on 2k and 100k
articles."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select

from archive import Archive, ArticleData, CaptureData
from archive import store as archive_store
from archive.dedup import fingerprint
from archive.export import Selection, export
from archive.models import AlertIncident, LshBand
from archive.queries import article_record, articles, history, stories
from archive.status import runs, site_status
from scheduler.runner import reconcile_runs

# the tables that grow with the archive: nights of runs, their articles and what comes with them
GROWING = ("article", "article_version", "capture", "crawl_run", "failed_url", "alert_incident", "attachment",
           "lsh_band", "article_fingerprint")
NOW = datetime(2026, 11, 30, 18, tzinfo=UTC)


def _body(site: int, n: int) -> str:
    return f"第{site}站第{n}篇：" + "".join(f"本市推进第{i}项民生实事，群众满意度持续提升。" for i in range(n % 5 + 8))


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """Three sites, 12 nights of crawls: articles, a correction, a failed run with its dead URL
    and incident, stories. Made once: the tests only read it (but the last, which adds)."""
    with pytest.MonkeyPatch.context() as patch:
        clock = [NOW]
        patch.setattr(archive_store, "utcnow", lambda: clock[0])
        archive = _crawled_nights(tmp_path_factory.mktemp("nights") / "archive.db", clock)
    yield archive
    archive.close()


def _crawled_nights(path, clock) -> Archive:
    archive = Archive(f"sqlite:///{path}")
    sites = [archive.ensure_site(f"site{i}", f"站点{i}", f"http://site{i}.gov.cn") for i in range(3)]
    for night in range(12):
        clock[0] = NOW - timedelta(days=11 - night)
        for index, site_id in enumerate(sites):
            run_id = archive.start_run(site_id, trigger="schedule")
            if night == 5 and index == 1:
                archive.write_all([archive.failure_write(site_id, run_id, "article", "http://site1.gov.cn/gone.html",
                                                         "HTTP 404", permanent=True, max_attempts=3, retry_delay=60,
                                                         now=clock[0])])
                archive.update_run(run_id, status="failed", started_at=clock[0], finished_at=clock[0], error="503")
                with archive.sessions.begin() as session:
                    session.add(AlertIncident(site_id=site_id, kind="failed", reason="503", run_id=run_id,
                                              opened_at=clock[0]))
                continue
            for n in range(night * 3, night * 3 + 3):
                # the first article of each night is reprinted by the next site
                text = _body(index - 1, night * 3) if n == night * 3 and index else _body(index, n)
                url = f"http://site{index}.gov.cn/art/t{n}.html"
                archive.store_article(site_id, run_id, CaptureData(url, 200, {}, text.encode(), clock[0]),
                                      ArticleData(f"标题{index}-{n}", text, publish_time=clock[0]))
            archive.update_run(run_id, status="succeeded", started_at=clock[0], finished_at=clock[0], stats={})
    url = "http://site2.gov.cn/art/t4.html"  # corrected the night after
    archive.store_article(sites[2], None, CaptureData(url, 200, {}, b"x", clock[0]),
                          ArticleData("标题2-4", _body(2, 4) + "（更正）"))
    return archive


def query_plans(archive: Archive, read) -> list[tuple[str, list[str]]]:
    """(statement, its plan lines) of every SELECT that read(archive) makes."""
    statements = []

    def record(_connection, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(archive.engine, "before_cursor_execute", record)
    try:
        read(archive)
    finally:
        event.remove(archive.engine, "before_cursor_execute", record)
    with archive.engine.connect() as connection:
        return [(statement, [row[3] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement,
                                                                            parameters)])
                for statement, parameters in statements]


def reads_everything(statement: str, plan: list[str]) -> list[str]:
    """The plan lines that read more than the query shows: a scan of a growing table, unless
    the query walks it in the order asked and stops at its LIMIT; a sort under a LIMIT (every
    matching row is read to keep the first few)."""
    limited = re.search(r"\bLIMIT\b", statement)
    sorts = [line for line in plan if "TEMP B-TREE" in line]
    scans = [line for line in plan if re.match(rf"SCAN ({'|'.join(GROWING)})\b", line)]
    if limited and not sorts:  # an ordered walk, stopping at the limit
        return []
    return scans + (sorts if limited else [])


READS = {
    "status": lambda a: site_status(a, "site1", NOW),
    "runs": lambda a: runs(a),
    "runs --site": lambda a: runs(a, site="site1"),
    "runs still going (every command)": reconcile_runs,
    "articles": lambda a: articles(a),
    "articles --site": lambda a: articles(a, site="site1"),
    "articles --site --since": lambda a: articles(a, site="site1", since=NOW - timedelta(days=3)),
    "show": lambda a: (article_record(a, url="http://site2.gov.cn/art/t4.html"),
                       a.failed_urls(urls=["http://site2.gov.cn/art/t4.html"])),
    "history": lambda a: history(a, "http://site2.gov.cn/art/t4.html"),
    "stories": lambda a: stories(a),
}


@pytest.mark.parametrize("command", READS)
def test_no_reading_command_reads_a_whole_table(nights, command):
    plans = query_plans(nights, READS[command])
    assert plans, "the command made no query"
    for statement, plan in plans:
        assert not reads_everything(statement, plan), f"{command}: {plan} for {' '.join(statement.split())}"


def test_status_reads_only_the_last_days_of_a_site(nights):
    """The 7-day count reads the site's recent articles only, and the last success is the
    newest-finished successful run, not the latest of all its runs compared."""
    status = site_status(nights, "site1", NOW)
    assert status["articles_last_7_days"] == 3 * 7 and status["last_success"] == NOW
    assert status["verdict"] == "warning: failed" and status["open_incidents"] == [
        {"kind": "failed", "since": NOW - timedelta(days=6), "reason": "503"}]
    lines = [line for _, plan in query_plans(nights, lambda a: site_status(a, "site1", NOW)) for line in plan]
    article_lines = [line for line in lines if re.search(r"\barticle\b", line)]
    assert article_lines and all("first_seen>" in line for line in article_lines), article_lines
    assert not any("TEMP B-TREE" in line for line in lines), lines


def test_a_changed_text_leaves_no_bands_of_the_old_one(nights):
    """The LSH bands of an article are found by its old signature's keys (no article_id index):
    after a correction only the new text's bands are left, and the old text finds no match."""
    url = "http://site2.gov.cn/art/t4.html"
    with nights.session() as session:
        article_id = session.scalar(select(LshBand.article_id).join_from(LshBand, archive_store.Article,
                                                                         archive_store.Article.id == LshBand.article_id)
                                    .where(archive_store.Article.url == url).limit(1))
        keys = set(session.scalars(select(LshBand.key).where(LshBand.article_id == article_id)))
    assert keys == set(fingerprint(_body(2, 4) + "（更正）").band_keys)


def test_export_since_last_reads_from_its_cursor(nights, tmp_path):
    export(nights, "jsonl", str(tmp_path / "all.jsonl"), "Asia/Shanghai", Selection(), "weekly")
    site = nights.site_id("site0")
    nights.store_article(site, None, CaptureData("http://site0.gov.cn/art/new.html", 200, {}, b"x", NOW),
                         ArticleData("新", _body(0, 99)))
    plans = query_plans(nights, lambda a: export(a, "jsonl", str(tmp_path / "new.jsonl"), "Asia/Shanghai",
                                                 Selection(), "weekly"))
    assert (tmp_path / "new.jsonl").read_text(encoding="utf-8").count("\n") == 1
    for statement, plan in plans:
        assert not reads_everything(statement, plan), f"{plan} for {' '.join(statement.split())}"
