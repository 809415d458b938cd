"""What an article costs on disk: the page compressed once, the text once, a search index
that keeps no copy; and archives made before that upgrade with nothing lost."""

from __future__ import annotations

import os
import random
import zlib
from datetime import UTC, datetime

from sqlalchemy import func, select

from archive import Archive, ArticleData, CaptureData
from archive.index import index_article
from archive.models import Article, ArticleVersion, Capture
from archive.queries import history, search
from crawler.extract import extract_article
from crawler.extraction_worker import parsed_part
from crawler.samplesites.faulty import big_page
from crawler.settings import EXTRACT_MAX_BYTES
from tests.helpers import archive_at_revision
from tests.postgres import SQLITE_ONLY

URL = "http://x.gov.cn/a/1.html"


def capture(body: bytes) -> CaptureData:
    return CaptureData(url=URL, http_status=200, headers={"Content-Type": "text/html; charset=utf-8"}, body=body,
                       fetched_at=datetime.now(UTC))


def file_size(archive: Archive, path) -> int:
    with archive.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return os.path.getsize(path)


@SQLITE_ONLY
def test_a_40_mb_page_is_stored_once_compressed(tmp_path):
    page = big_page(40 * 2**20, 3)
    extracted = extract_article(parsed_part(page, EXTRACT_MAX_BYTES), URL, "text/html; charset=utf-8")
    text_bytes = len(extracted.body.encode())
    path = tmp_path / "a.db"
    archive = Archive(f"sqlite:///{path}")
    site = archive.ensure_site("s", "S", "http://x.gov.cn")
    empty = file_size(archive, path)

    archive.store_article(site, None, capture(page), ArticleData(extracted.title, extracted.body))

    with archive.session() as session:
        stored = session.scalars(select(Capture)).one()
        assert stored.body_size == len(page) and zlib.decompress(stored.body_zlib) == page
        compressed = len(stored.body_zlib)
        assert compressed < len(page) / 4
        assert session.scalars(select(Article.body)).one() == extracted.body
        assert session.scalars(select(ArticleVersion.body)).one() is None  # the article row holds it
    with archive.engine.connect() as connection:  # the search index keeps no copy of the text
        tables = {row[0] for row in connection.exec_driver_sql("SELECT name FROM sqlite_master")}
        assert "article_fts_content" not in tables
    grown = file_size(archive, path) - empty
    # the page once (compressed), its text once, the index (about half the text's size) and
    # a little more: three copies of the text would not fit
    assert grown < compressed + 2 * text_bytes, (grown, compressed, text_bytes)
    assert [hit["url"] for hit in search(archive, "安全生产工作推进会")] == [URL]


def test_search_follows_a_changed_text_and_history_keeps_every_version(archive_url):
    archive = Archive(archive_url)
    site = archive.ensure_site("s", "S", "http://x.gov.cn")
    page = b"<html></html>"
    archive.store_article(site, None, capture(page), ArticleData("滨河港口通航", "滨河港口今日恢复通航，船舶有序进出。"))
    archive.store_article(site, None, capture(page), ArticleData("滨河港口通航", "滨河港口今日恢复通航，客轮航线同步恢复。"))
    archive.store_article(site, None, None, ArticleData("滨河港口通航", "滨河港口恢复通航，客轮航线恢复。"),
                          reason="reprocess", url=URL)
    assert search(archive, "船舶有序") == [] and search(archive, "客轮航线同步") == []
    assert [hit["url"] for hit in search(archive, "客轮航线恢复")] == [URL]
    assert [hit["url"] for hit in search(archive, "客轮")] == [URL]  # too short for the index
    versions = history(archive, URL)["versions"]
    assert [v["version"] for v in versions] == [1, 2, 3]
    assert any("船舶有序" in line for line in versions[1]["diff"])
    assert any("同步" in line for line in versions[2]["diff"])
    if archive.engine.dialect.name == "sqlite":
        with archive.engine.connect() as connection:  # raises if the index lost track of the text
            connection.exec_driver_sql("INSERT INTO article_fts (article_fts) VALUES ('integrity-check')")


@SQLITE_ONLY
def test_an_archive_of_revision_0006_upgrades_to_storing_text_once_with_nothing_lost(tmp_path):
    url, engine = archive_at_revision(tmp_path / "old.db", "0006")
    now = "2026-01-05 00:00:00"
    old, new = "我市“十四五”规划编制工作会议召开，研究部署纲要起草。", "我市“十四五”规划编制工作会议召开，研究部署纲要起草与专项规划。"
    with engine.begin() as connection:
        run = connection.exec_driver_sql
        run(f"INSERT INTO site (id, key, name, base_url, region, config_hash, fold_scheme, fold_index, created_at) "
            f"VALUES (1, 's', 'S', 'http://x.gov.cn', '', '', 0, 0, '{now}')")
        run("INSERT INTO capture (id, site_id, url, fetched_at, http_status, headers, declared_encoding, body_zlib, "
            f"body_size, content_digest) VALUES (1, 1, '{URL}', '{now}', 200, '{{}}', '{{}}', x'00', 1, 'd')")
        run("INSERT INTO article (id, site_id, url, canonical_url, title, body, reporters, editors, quality, "
            "content_hash, version, capture_id, first_seen, last_seen, modified) "
            f"VALUES (1, 1, '{URL}', '{URL}', '規劃會議', ?, '[]', '[]', '{{}}', 'h2', 2, 1, '{now}', '{now}', '{now}')",
            (new,))
        for version, body in ((1, old), (2, new)):
            run("INSERT INTO article_version (article_id, version, content_hash, title, body, reporters, editors, "
                f"capture_id, created_at, reason) VALUES (1, {version}, 'h{version}', '規劃會議', ?, '[]', '[]', 1, "
                f"'{now}', 'crawl')", (body,))
        index_article(connection, 1, "規劃會議", new, fresh=True)
    engine.dispose()

    archive = Archive(url)  # upgrades on open
    with archive.session() as session:
        article = session.get(Article, 1)
        assert article.body == new
        assert [v.body for v in session.scalars(select(ArticleVersion).order_by(ArticleVersion.version))] == [old, None]
        assert session.scalar(select(func.count()).select_from(ArticleVersion)) == 2
    assert [h["url"] for h in search(archive, "十四五規劃")] == [URL]  # indexed words kept: simplified, no quotes
    assert [h["url"] for h in search(archive, "规划会议")] == [URL]
    assert [v["characters"] for v in history(archive, URL)["versions"]] == [len(old), len(new)]
    # and the upgraded index follows the next change
    archive.store_article(1, None, None, ArticleData("規劃會議", "滨河市召开海洋经济发展大会。"), reason="reprocess", url=URL)
    assert search(archive, "专项规划") == [] and [h["url"] for h in search(archive, "海洋经济")] == [URL]


def fts_sql_and_bytes(archive: Archive) -> tuple[str, int]:
    with archive.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        sql = connection.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'article_fts'").scalar()
        size = connection.exec_driver_sql("SELECT sum(pgsize) FROM dbstat WHERE name = 'article_fts_data'").scalar()
    return sql, size


@SQLITE_ONLY
def test_an_archive_of_revision_0016_gets_a_smaller_search_index_that_finds_and_ranks_the_same(tmp_path):
    url, engine = archive_at_revision(tmp_path / "old.db", "0016")
    engine.dispose()
    archive = Archive(url, upgrade=False)  # written as a release at 0016 wrote it
    site = archive.ensure_site("s", "S", "http://x.gov.cn")
    rng = random.Random(5)
    words = ["".join(rng.choice("滨河港口航线客轮海洋经济发展大会召开研究部署规划纲要专项起草安全生产推进") for _ in range(2))
             for _ in range(300)]
    for n in range(120):
        body = "，".join("".join(rng.choice(words) for _ in range(8)) for _ in range(rng.randint(2, 30))) + "。"
        if n % 3 == 0:
            body = "海洋經濟“十四五”規劃，" + body  # traditional script and quotation marks: indexed simplified
        archive.store_article(site, None, capture(b"<html></html>"), ArticleData(f"标题{n}", body),
                              url=f"http://x.gov.cn/a/{n}.html")
    archive.store_article(site, None, None, ArticleData("标题7", "滨河港口今日恢复通航，客轮航线恢复。"),
                          reason="reprocess", url="http://x.gov.cn/a/7.html")
    archive.defer_index = True  # a crawl's article not indexed yet: left to index_backlog
    archive.store_article(site, None, capture(b"<html></html>"), ArticleData("排队", "排队等待索引的海洋经济文章。"),
                          url="http://x.gov.cn/queued.html")
    queries = ["海洋经济", "十四五规划", "客轮航线", "港口 客輪", "标题7", "规划纲要 安全生产", "船舶有序", "排队等待"]
    before = {query: search(archive, query, limit=200) for query in queries}
    old_sql, old_size = fts_sql_and_bytes(archive)
    archive.close()

    archive = Archive(url)  # upgrades on open: the index is made again
    new_sql, new_size = fts_sql_and_bytes(archive)
    assert "fts5(title, body" in old_sql.replace("\n", " ") and "fts5(body, title" in new_sql.replace("\n", " ")
    assert new_size < 0.9 * old_size, (new_size, old_size)
    assert {query: search(archive, query, limit=200) for query in queries} == before
    assert len(before["海洋经济"]) == 40 and before["排队等待"] == [] and before["船舶有序"] == []
    assert len({hit["score"] for hit in before["海洋经济"]}) > 10  # ranked, not just found
    assert [hit["url"] for hit in before["客轮航线"]] == ["http://x.gov.cn/a/7.html"]
    with archive.engine.connect() as connection:  # raises if the index lost track of the text
        connection.exec_driver_sql("INSERT INTO article_fts (article_fts) VALUES ('integrity-check')")
    assert archive.index_backlog() == 1
    assert [hit["url"] for hit in search(archive, "排队等待")] == ["http://x.gov.cn/queued.html"]
    # and the remade index follows the next change
    archive.store_article(site, None, None, ArticleData("标题7", "滨河市召开海洋大会。"), reason="reprocess",
                          url="http://x.gov.cn/a/7.html")
    assert search(archive, "客轮航线") == [] and [h["url"] for h in search(archive, "召开海洋大会")] == [
        "http://x.gov.cn/a/7.html"]
    archive.close()


def test_compacting_the_search_index_after_many_small_writes_keeps_every_result_in_less_space(archive_url):
    archive = Archive(archive_url)
    site = archive.ensure_site("s", "S", "http://x.gov.cn")
    rng = random.Random(11)
    words = ["".join(rng.choice("滨河港口航线客轮海洋经济发展大会召开研究部署规划纲要专项起草安全生产推进") for _ in range(2))
             for _ in range(400)]
    bodies = ["".join(rng.choice(words) for _ in range(rng.randint(40, 120))) + "。" for _ in range(240)]
    for n, body in enumerate(bodies):  # one article a transaction, as a slow crawl writes them: a segment each
        archive.store_article(site, None, None, ArticleData(f"标题{n}", body), url=f"http://x.gov.cn/a/{n}.html")
    queries = [words[0], bodies[3][10:14], bodies[100][20:23], f"{words[5]} {words[9]}", "标题7"]
    before = {q: search(archive, q, limit=50) for q in queries}
    assert all(before.values())

    def index_bytes() -> int:
        with archive.engine.connect() as connection:
            return connection.exec_driver_sql("SELECT sum(length(block)) FROM article_fts_data").scalar()

    sqlite = archive.engine.dialect.name == "sqlite"
    size = index_bytes() if sqlite else None
    steps = archive.compact_search_index(pages=50)
    after = {q: search(archive, q, limit=50) for q in queries}
    assert after == before
    if sqlite:
        assert steps >= 1 and index_bytes() < size
    else:  # PostgreSQL's trigram index has no segments to merge
        assert steps == 0
    assert archive.compact_search_index(pages=50) == 0  # one segment: nothing left to do
    archive.close()
