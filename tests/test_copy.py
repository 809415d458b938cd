"""`muniarchive copy`: an archive of the sample sites moved SQLite -> PostgreSQL -> SQLite gives
the same exports and search results on all three; a copy killed part way goes on when run
again; another archive at the target is refused; a copy that differs says where."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text

from archive import Archive, ArticleData
from archive.export import Selection, export
from archive.models import AlertDelivery, AlertIncident, ExportCursor, FailedUrl
from archive.queries import search
from crawler.config import load_config
from crawler.samplesites import SampleSites
from scheduler.runner import run_crawl

ROOT = Path(__file__).resolve().parents[1]
TZ = "Asia/Shanghai"
QUEUED = "尚未索引的通知"
# what the sample sites hold: every kind of record the exports and the reader show
FILLED = {"site", "crawl_run", "capture", "article", "article_version", "attachment", "story",
          "article_fingerprint", "lsh_band", "plan_release", "plan_watch", "alert_incident", "alert_delivery",
          "scheduler_lease", "failed_url", "export_cursor", "index_queue", "apscheduler_jobs"}


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scheduler.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def copy(source: str, target: str, *args: str) -> dict:
    result = cli("copy", "--from", source, "--to", target, "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def counts(url: str, tables) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as connection:
        found = {name: connection.execute(text(f"SELECT count(*) FROM {name}")).scalar() for name in tables}
    engine.dispose()
    return found


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> str:
    """The sample sites crawled into SQLite, one article corrected and crawled again (a
    second version), one site failing once (an incident): the URL of the archive."""
    folder = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{folder / 'archive.db'}"
    with SampleSites() as sites:
        path = folder / "config.yaml"
        path.write_text(yaml.safe_dump(sites.config(url, retry_times=1, download_timeout=5, revisit_days=30),
                                       allow_unicode=True), encoding="utf-8")
        config = load_config(path)
        archive = Archive(url)
        for site in config.sites:
            assert run_crawl(config, site.key, archive).status == "succeeded"
        gov = sites.sites["binhe-gov"]
        article = gov.articles[0]
        gov.revise(article.article_id, [*article.paragraphs, "（本文于11月1日更正。）"])
        assert run_crawl(config, "binhe-gov", archive).status == "succeeded"
        fill_the_other_tables(archive, url)
        archive.close()
    return url


def fill_the_other_tables(archive: Archive, url: str) -> None:
    """A row in each table a crawl of healthy sites leaves empty: the scheduler's lease and
    job, an incident and its alert, a failed URL, an export target's cursor, and an article a
    crawl stored and has not indexed yet (searched for nowhere, on any engine)."""
    site_id = archive.site_id("binhe-gov")
    now = datetime(2026, 11, 30, 18, 0, 0, 123456, tzinfo=UTC)
    assert archive.acquire_lease("scheduler", "a-holder", "node-1", 4242, stale=lambda row: True) is None
    with archive.session() as session:
        incident = AlertIncident(site_id=site_id, kind="empty", reason="no articles", opened_at=now)
        session.add_all([incident, ExportCursor(name="weekly", last_version_id=3, exported_at=now),
                         FailedUrl(site_id=site_id, kind="article", url="http://127.0.0.1:9/gone.html",
                                   canonical_url="http://127.0.0.1:9/gone.html", state="dead", reason="404",
                                   first_seen=now, last_seen=now)])
        session.flush()
        session.add(AlertDelivery(subject=f"incident:{incident.id}:opened", target="ab12", delivered_at=now))
        session.execute(text("INSERT INTO apscheduler_jobs (id, next_run_time, job_state) VALUES (:id, :at, :state)"),
                        {"id": "crawl:binhe-gov", "at": now.timestamp(), "state": bytes(range(256))})
        session.commit()
    archive.defer_index = True
    assert archive.store_article(site_id, None, None, ArticleData(title=QUEUED, body="这篇通知尚未索引。" * 10),
                                 url="http://127.0.0.1:9/queued.html") == "new"


def exports(url: str, folder: Path) -> dict[str, bytes | list]:
    """Every export the CLI makes of the archive: each record format of articles (current and
    every version) and attachments, the WARC as its records (each WARC names itself and its
    request records with new ids and the time it was written), and what is new since the
    last export to a named target (which moves its cursor: the last export made here)."""
    from warcio.archiveiterator import ArchiveIterator

    folder.mkdir()
    archive = Archive(url)
    made = {}
    for fmt in ("jsonl", "csv", "parquet"):
        for what in ("articles", "attachments"):
            for versions in (False, True):
                out = folder / f"{what}-{versions}.{fmt}"
                export(archive, fmt, str(out), TZ, Selection(versions=versions), what=what)
                made[out.name] = out.read_bytes()
    export(archive, "warc", str(folder / "all.warc.gz"), TZ, Selection())
    # an export target's cursor came along: what is new to it is the same everywhere
    export(archive, "jsonl", str(folder / "since.jsonl"), TZ, Selection(), since_last="weekly")
    made["since.jsonl"] = (folder / "since.jsonl").read_bytes()
    archive.close()
    records = []
    with open(folder / "all.warc.gz", "rb") as stream:
        for record in ArchiveIterator(stream):
            headers = [(k, v) for k, v in record.rec_headers.headers
                       if not (k == "WARC-Record-ID" and v.startswith("<urn:uuid:"))
                       and not (k == "WARC-Date" and record.rec_type == "warcinfo")]
            records.append((headers, record.content_stream().read()))
    made["warc"] = records
    return made


QUERIES = ("十四五", "规划", "滨河 规划", "十四五規劃", "征求意见稿", "“十五五”", "尚未索引")


def searches(url: str, *, ranked: bool = True) -> dict[str, list]:
    """Each query's hits; not `ranked`: as a set, without scores (BM25 on SQLite's FTS5 and its
    counterpart on PostgreSQL score alike hits differently, and order ties differently)."""
    archive = Archive(url)
    try:
        found = {query: search(archive, query, limit=50) for query in QUERIES}
    finally:
        archive.close()
    if ranked:
        return found
    return {query: sorted((hit["id"], hit["url"], hit["title"], hit["snippet"], hit["highlights"],
                           hit["publish_time"].astimezone(UTC).isoformat()) for hit in hits)
            for query, hits in found.items()}


def test_sqlite_to_postgresql_to_sqlite_keeps_every_export_and_search_result(demo, postgres_url, tmp_path):
    back = f"sqlite:///{tmp_path / 'back.db'}"
    there = copy(demo, postgres_url)
    again = copy(postgres_url, back)
    for report in (there, again):
        assert report["identical"] and report["verified"]
        tables = {row["table"]: row for row in report["tables"]}
        assert all(tables[name]["target_rows"] > 0 for name in FILLED), tables
        assert not any(name.startswith(("article_fts", "article_search", "alembic")) for name in tables)
    # the same values in every table, whichever engine they were read from
    assert [(t["table"], t["target_rows"], t["target_checksum"]) for t in there["tables"]] == \
        [(t["table"], t["target_rows"], t["target_checksum"]) for t in again["tables"]]

    made = {url: exports(url, tmp_path / name) for name, url in (("sqlite", demo), ("pg", postgres_url),
                                                                  ("back", back))}
    assert made[demo]["warc"] and all(len(data) > 200 for name, data in made[demo].items() if name != "warc")
    assert made[demo] == made[postgres_url] == made[back]

    found = searches(demo)
    assert all(found[query] for query in QUERIES if query != "尚未索引") and not found["尚未索引"]
    assert searches(back) == found
    assert searches(postgres_url, ranked=False) == searches(demo, ranked=False)
    # the article still queued is indexed on the copy as on the source, by the crawl's step
    copied = Archive(postgres_url)
    assert copied.index_backlog() == 1
    assert [hit["title"] for hit in search(copied, "尚未索引")] == [QUEUED]
    copied.close()


def test_the_copy_takes_new_ids_after_the_copied_ones(demo, postgres_url):
    copy(demo, postgres_url)
    archive = Archive(postgres_url)
    site_id = archive.ensure_site("after-copy", "After the copy", "http://127.0.0.1:9/")
    run_id = archive.start_run(site_id)
    archive.close()
    highest = counts(demo, ["site", "crawl_run"])  # ids are 1..n in the sample archive
    assert (site_id, run_id) == (highest["site"] + 1, highest["crawl_run"] + 1)


def test_a_copy_killed_after_its_first_progress_line_goes_on_when_run_again(demo, postgres_url, tmp_path):
    Archive(postgres_url).close()  # the schema first, so that a table the copy writes later can be held
    source = copy(demo, f"sqlite:///{tmp_path / 'reference.db'}")  # what a copy that was never stopped holds
    engine = create_engine(postgres_url)
    with engine.connect() as holder:
        # the copy blocks when it reaches the articles: killed before them, whatever the machine's speed
        holder.exec_driver_sql("LOCK TABLE article IN EXCLUSIVE MODE")
        process = subprocess.Popen([sys.executable, "-m", "scheduler.cli", "copy", "--from", demo, "--to",
                                    postgres_url, "--batch", "10"], cwd=ROOT, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)
        first = process.stderr.readline()
        assert first.split(":")[0] in {row["table"] for row in source["tables"]}, first
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        holder.rollback()
    engine.dispose()
    tables = [row["table"] for row in source["tables"]]
    before = counts(postgres_url, tables)
    assert before["article"] == 0 and before["article_version"] == 0

    result = copy(demo, postgres_url)
    assert result["identical"]
    assert [(t["table"], t["target_rows"], t["target_checksum"]) for t in result["tables"]] == \
        [(t["table"], t["target_rows"], t["target_checksum"]) for t in source["tables"]]
    # what the killed run had stored was kept, not copied twice (plan_watch's one row is a new
    # archive's, written by its migrations, until the source's replaces it)
    assert {t["table"]: t["copied"] for t in result["tables"] if t["table"] != "plan_watch"} == \
        {t["table"]: t["target_rows"] - before[t["table"]] for t in source["tables"] if t["table"] != "plan_watch"}
    assert sum(before.values()) > 1  # it had stored something
    assert searches(postgres_url, ranked=False) == searches(demo, ranked=False)


def test_a_copy_stopped_inside_a_table_goes_on_after_its_last_row(demo, tmp_path):
    """A batch is one transaction, in key order: a stopped copy leaves each table's first rows.
    Here the last ones of two tables (one with a key of two columns) are taken away."""
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    full = copy(demo, target)
    engine = create_engine(target)
    with engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM article_version WHERE id > (SELECT max(id) - 3 FROM article_version)")
        connection.exec_driver_sql("DELETE FROM lsh_band WHERE (key, article_id) IN (SELECT key, article_id FROM lsh_band "
                                   "ORDER BY key DESC, article_id DESC LIMIT 40)")
    engine.dispose()
    again = copy(demo, target, "--batch", "7")
    assert {t["table"]: t["copied"] for t in again["tables"] if t["copied"]} == {"article_version": 3, "lsh_band": 40}
    assert again["identical"]
    assert [(t["table"], t["target_rows"], t["target_checksum"]) for t in again["tables"]] == \
        [(t["table"], t["target_rows"], t["target_checksum"]) for t in full["tables"]]


def test_another_archive_at_the_target_is_refused_and_left_as_it_was(demo, postgres_url):
    other = Archive(postgres_url)
    other.ensure_site("elsewhere", "Elsewhere", "http://127.0.0.1:9/")
    other.close()
    result = cli("copy", "--from", demo, "--to", postgres_url)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Error: the target holds another archive: its table site has 1 rows that are not the source's "
        "(copy into an empty database, or into an earlier copy of this one)"]
    assert counts(postgres_url, ["site", "article"]) == {"site": 1, "article": 0}


def test_a_source_behind_the_newest_revision_is_refused(demo, tmp_path):
    old = tmp_path / "old.db"
    old.write_bytes(Path(demo.removeprefix("sqlite:///")).read_bytes())
    engine = create_engine(f"sqlite:///{old}")
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0015'")
    engine.dispose()
    result = cli("copy", "--from", f"sqlite:///{old}", "--to", f"sqlite:///{tmp_path / 'new.db'}")
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "is at revision 0015, not at the newest" in result.stderr and "muniarchive migrate" in result.stderr
    assert not (tmp_path / "new.db").exists()


def test_a_copy_that_differs_from_its_source_fails_naming_the_table(demo, tmp_path):
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    copy(demo, target)
    engine = create_engine(target)
    with engine.begin() as connection:  # a row in the middle: the copy's resume point still matches
        connection.exec_driver_sql("UPDATE article SET title = title || '!' WHERE id = 2")
    engine.dispose()
    result = cli("copy", "--from", demo, "--to", target)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(
        "Error: the copy differs from the source in table article (")
    assert "article: DIFFERS" in result.stderr and "site: verified" in result.stderr
