import subprocess
import sys
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, inspect, select

from archive import Archive, ArchiveError, ArticleData, CaptureData
from archive.db import current_revision, head_revision, newest_revision, stored_revision
from archive.models import Article, ArticleVersion, version_body
from tests.helpers import archive_at_revision
from tests.postgres import SQLITE_ONLY


def capture(url="http://x.gov.cn/zwdt/202609/t20260901_1.html", body=b"<html>1</html>"):
    return CaptureData(url, 200, {"Content-Type": "text/html"}, body, datetime.now(UTC))


@SQLITE_ONLY
def test_new_archive_is_migrated_to_head_in_wal_mode(tmp_path):
    archive = Archive(f"sqlite:///{tmp_path / 'a.db'}")
    assert current_revision(archive.engine) == head_revision()
    assert {"site", "crawl_run", "capture", "article", "article_version", "attachment"} <= set(
        inspect(archive.engine).get_table_names())
    with archive.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA page_size").scalar() == 8192  # rows of 1-3 KB fit it better


@SQLITE_ONLY
def test_the_head_revision_known_without_alembic_is_alembics_and_an_older_archive_is_upgraded(tmp_path):
    # opening an archive compares its stored revision with the newest migration file's: that
    # must be the head of Alembic's chain, or an archive at head would be migrated every time
    # (or one behind never)
    assert newest_revision() == head_revision()
    url, engine = archive_at_revision(tmp_path / "a.db", "0012")  # as an archive written by an older release
    assert stored_revision(engine) == "0012"
    archive = Archive(url)
    assert stored_revision(archive.engine) == head_revision()
    assert "ix_article_site_publish_time" in {i["name"] for i in inspect(archive.engine).get_indexes("article")}
    assert stored_revision(Archive(f"sqlite:///{tmp_path / 'b.db'}", upgrade=False).engine) is None


def test_upsert_is_idempotent_and_a_change_is_a_new_version(archive_url):
    archive = Archive(archive_url)
    site = archive.ensure_site("s", "S", "http://x.gov.cn")
    assert archive.store_article(site, None, capture(), ArticleData("标题", "正文")) == "new"
    assert archive.store_article(site, None, capture(), ArticleData("标题", "正文")) == "unchanged"
    # the same URL with a tracking fragment and reordered query is the same record
    assert archive.store_article(site, None, capture(url="http://x.gov.cn/zwdt/202609/t20260901_1.html#top"),
                                 ArticleData("标题", "正文")) == "unchanged"
    assert archive.store_article(site, None, capture(), ArticleData("标题", "正文，已更正")) == "updated"
    with archive.session() as session:
        assert session.scalar(select(func.count(Article.id))) == 1
        article = session.scalars(select(Article)).one()
        versions = session.scalars(select(ArticleVersion).order_by(ArticleVersion.version)).all()
        assert [version_body(v, article) for v in versions] == ["正文", "正文，已更正"]
        # the text is stored once: the current version's is the article row's
        assert [v.body for v in versions] == ["正文", None] and article.body == "正文，已更正"


def test_naive_times_are_refused(archive_url):
    archive = Archive(archive_url)
    site = archive.ensure_site("s", "S", "http://x")
    with pytest.raises(Exception, match="naive datetime"):
        archive.store_article(site, None, capture(), ArticleData("t", "b", publish_time=datetime(2026, 1, 1)))


def test_unusable_archive_location_is_one_clear_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ArchiveError, match="does not exist"):
        Archive(f"sqlite:///{blocker / 'sub' / 'a.db'}")
    with pytest.raises(ArchiveError, match="is not a database URL"):
        Archive("not a url")


WRITER = """
import sys
from datetime import UTC, datetime
from archive import Archive, ArticleData, CaptureData
archive = Archive(sys.argv[1])
site = archive.ensure_site("s", "S", "http://x")
for i in range(60):
    url = f"http://x/{i}.html"
    archive.store_article(site, None, CaptureData(url, 200, {}, b"x", datetime.now(UTC)), ArticleData(str(i), "b"))
"""


def test_two_processes_writing_the_same_urls_store_each_once(archive_url):
    url = archive_url
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, url], stderr=subprocess.PIPE) for _ in range(2)]
    for writer in writers:
        assert writer.wait(60) == 0, writer.stderr.read().decode()
    archive = Archive(url)
    with archive.session() as session:
        assert session.scalar(select(func.count(Article.id))) == 60
        assert session.scalar(select(func.count(ArticleVersion.id))) == 60
