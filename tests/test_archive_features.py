"""The archive as people use it: versions and history, reprint clusters, search in either
script, reprocessing, importing text dumps, upgrading an old archive, concurrent writers.
All against crawls of the sample sites into real SQLite files."""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import MetaData, Table, func, insert, select

from archive import Archive
from archive.db import current_revision, head_revision
from archive.models import Article, ArticleVersion, Capture, Site, version_body
from archive.queries import history, search, stories
from archive.urls import canonical
from crawler.config import load_config
from scheduler.runner import run_crawl
from tests.conftest import SHARED
from tests.helpers import archive_at_revision
from tests.postgres import SQLITE_ONLY

MUNIARCHIVE = [sys.executable, "-m", "scheduler.cli"]
ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*MUNIARCHIVE, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def crawl_all(config, archive) -> None:
    for site in config.sites:
        assert run_crawl(config, site.key, archive).status == "succeeded"


@pytest.fixture
def revisit_config(tmp_path, sample_sites, archive_url):
    path = tmp_path / "config.yaml"
    document = sample_sites.config(archive_url, revisit_days=30)
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return load_config(path)


def test_two_corrected_articles_make_exactly_two_new_versions_and_the_old_text_stays(
        sample_sites, revisit_config, tmp_path):
    archive = Archive(revisit_config.database_url)
    crawl_all(revisit_config, archive)
    gov, news = sample_sites.sites["binhe-gov"], sample_sites.sites["binhe-news"]
    gov_article, news_article = gov.live()[0], news.live()[-1]
    gov.revise(gov_article.article_id, [*gov_article.paragraphs, "（本文于10月30日更正：研究院名称已更新。）"])
    news.revise(news_article.article_id, news_article.paragraphs[:-1])
    crawl_all(revisit_config, archive)

    with archive.session() as session:
        assert session.scalar(select(func.count()).select_from(ArticleVersion).where(ArticleVersion.version > 1)) == 2
        changed = session.scalars(select(Article).where(Article.version == 2)).all()
    assert sorted(a.url for a in changed) == sorted([sample_sites.base_url("binhe-gov") + gov.article_path(gov_article),
                                                     sample_sites.base_url("binhe-news") + news.article_path(news_article)])
    gov_url = sample_sites.base_url("binhe-gov") + gov.article_path(gov_article)
    record = history(archive, gov_url)
    assert [v["version"] for v in record["versions"]] == [1, 2]
    with archive.session() as session:
        first = session.scalar(select(ArticleVersion.body).join(Article).where(
            Article.url == gov_url, ArticleVersion.version == 1))
    assert first == gov_article.body  # the earlier text is still readable
    assert any("更正" in line and line.startswith("+") for line in record["versions"][1]["diff"])

    out = cli("history", gov_url, "--config", str(revisit_config.path))
    assert out.returncode == 0 and "version 2" in out.stdout and "更正" in out.stdout
    archive.close()


def test_the_traditional_reprint_joins_its_original_and_nothing_else_clusters(sample_sites, config, archive):
    crawl_all(config, archive)
    clusters = stories(archive)
    assert len(clusters) == 1
    members = clusters[0]["articles"]
    assert sorted(m["site"] for m in members) == ["binhe-gov", "binhe-news"]
    assert {m["title"] for m in members} == {"市政府与滨河大学签署战略合作协议", "市政府與濱河大學簽署戰略合作協議"}
    listed = json.loads(cli("stories", "--site", "binhe-news", "--json", "--config", str(config.path)).stdout)
    assert [s["story"] for s in listed] == [clusters[0]["story"]]


def test_search_finds_either_script_with_either_script(sample_sites, config, archive):
    crawl_all(config, archive)
    for query in ("十四五规划", "十四五規劃"):
        hits = search(archive, query)
        assert {h["title"] for h in hits} == {"市政府与滨河大学签署战略合作协议", "市政府與濱河大學簽署戰略合作協議",
                                              "我市“十四五”规划目标任务全面完成 “十五五”开局蓄势待发",
                                              # 第十四个五年规划: the same plan, spelled out
                                              "滨河市人民政府关于印发滨河市国民经济和社会发展第十四个五年规划和"
                                              "二〇三五年远景目标纲要的通知"}, query
        reprint = next(h for h in hits if h["site"] == "binhe-news" and h["title"].startswith("市政府與"))
        start, end = reprint["highlights"][0]
        assert reprint["snippet"][start:end] == "十四五”規劃"  # the page's own text and script
    assert search(archive, "十四五", site="binhe-gov")[0]["site"] == "binhe-gov"
    assert search(archive, "十四五", date_from=datetime(2026, 9, 20, tzinfo=UTC))[0]["site"] == "binhe-news"
    assert search(archive, "规划 海洋") and search(archive, "不存在的词语") == []
    out = cli("search", "十四五規劃", "--json", "--config", str(config.path))
    assert len(json.loads(out.stdout)) == 4


def test_reprocess_applies_new_rules_to_stored_captures_as_new_versions(sample_sites, config_path, archive):
    config = load_config(config_path)
    crawl_all(config, archive)
    requests_before = len(sample_sites.take_requests())
    document = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    gov = next(s for s in document["sites"] if s["key"] == "binhe-gov")
    gov["boilerplate"] = [{"name": "agreement_detail", "pattern": "^根据协议", "action": "drop_line",
                           "example": "根据协议，滨河大学将在我市设立海洋装备研究院。"}]
    config_path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")

    result = cli("reprocess", "--site", "binhe-gov", "--json", "--config", str(config_path))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["binhe-gov"]["updated"] == 1
    assert sample_sites.take_requests() == [] and requests_before > 0  # nothing was fetched
    with archive.session() as session:
        version = session.scalars(select(ArticleVersion).where(ArticleVersion.reason == "reprocess")).one()
        current = version_body(version, session.get(Article, version.article_id))
        assert "根据协议" not in current and "十四五" in current
        original = session.scalar(select(ArticleVersion.body).where(
            ArticleVersion.article_id == version.article_id, ArticleVersion.version == 1))
        assert "根据协议" in original
    again = json.loads(cli("reprocess", "--json", "--config", str(config_path)).stdout)
    assert all(row["updated"] == 0 and row["failed"] == 0 for row in again.values())


def test_import_text_cleans_archives_and_skips_what_is_already_held(sample_sites, config, archive, tmp_path):
    crawl_all(config, archive)
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    original = sample_sites.sites["binhe-gov"].live()[0]
    # a legacy dump of an article the crawl already archived, in its own layout
    (dumps / "copy.txt").write_text(f"{original.title}\n来源：{original.source}\n{original.body}\n责任编辑：张三\n",
                                    encoding="utf-8")
    (dumps / "new.txt").write_text("滨河市召开防汛工作会议\n来源：滨河日报 2020-06-01 09:00\n"
                                   "会议要求各地各部门压实防汛责任，加强隐患排查，确保安全度汛。\n"
                                   "新闻热线：0536-1234567\n", encoding="utf-8")
    first = json.loads(cli("import-text", str(dumps), "--site", "binhe-news", "--json",
                           "--config", str(config.path)).stdout)
    assert (first["new"], first["duplicate"]) == (1, 1)
    again = json.loads(cli("import-text", str(dumps), "--site", "binhe-news", "--json",
                           "--config", str(config.path)).stdout)
    assert again["new"] == 0 and again["updated"] == 0
    with archive.session() as session:
        imported = session.scalars(select(Article).where(Article.url.like("file://%"))).one()
    assert imported.title == "滨河市召开防汛工作会议"
    assert imported.source == "滨河日报" and "热线" not in imported.body
    assert imported.publish_time.astimezone(UTC) == datetime(2020, 6, 1, 1, 0, tzinfo=UTC)


@pytest.mark.skipif(not (SHARED / "samples").is_dir(), reason="../shared/samples is not beside the project")
def test_import_of_the_legacy_samples_is_searchable_and_idempotent(config, archive):
    first = json.loads(cli("import-text", str(SHARED / "samples"), "--site", "binhe-news", "--json",
                           "--config", str(config.path)).stdout)
    assert first["new"] == 3 and first["failed"] == 0
    assert search(archive, "十四五规划")  # the dumps are Traditional script
    second = json.loads(cli("import-text", str(SHARED / "samples"), "--site", "binhe-news", "--json",
                            "--config", str(config.path)).stdout)
    assert second["new"] == 0 and second["updated"] == 0


@SQLITE_ONLY
def test_an_archive_made_by_the_walking_skeleton_upgrades_with_nothing_lost(tmp_path):
    url, engine = archive_at_revision(tmp_path / "old.db", "0001")
    now = datetime(2026, 1, 5, tzinfo=UTC)
    tables = {name: Table(name, MetaData(), autoload_with=engine)
              for name in ("site", "capture", "article", "article_version")}
    body = "滨河市召开“十四五”规划编制工作会议，研究部署规划纲要起草工作。会议要求各部门按时报送本领域专项规划思路。"
    tracked = "http://x.gov.cn/art/1.html?utm_source=weixin&id=1"
    with engine.begin() as connection:
        connection.execute(insert(tables["site"]).values(id=1, key="s", name="S", base_url="http://x.gov.cn",
                                                         region="", config_hash="", created_at=now))
        connection.execute(insert(tables["capture"]).values(
            id=1, site_id=1, url=tracked, fetched_at=now, http_status=200, headers={}, declared_encoding={},
            body_zlib=zlib.compress(body.encode()), body_size=len(body.encode()), content_digest="d"))
        connection.execute(insert(tables["article"]).values(
            id=1, site_id=1, url=tracked, canonical_url=tracked, title="旧标题", body=body, reporters=[], editors=[],
            quality={}, content_hash="h", version=1, capture_id=1, first_seen=now, last_seen=now, modified=now))
        connection.execute(insert(tables["article_version"]).values(
            id=1, article_id=1, version=1, content_hash="h", title="旧标题", body=body, reporters=[], editors=[],
            capture_id=1, created_at=now, reason="crawl"))
    engine.dispose()

    archive = Archive(url)  # upgrades on open
    assert current_revision(archive.engine) == head_revision()
    with archive.session() as session:
        article = session.get(Article, 1)
        assert (article.title, article.body, article.first_seen) == ("旧标题", body, now)
        assert article.canonical_url == "http://x.gov.cn/art/1.html?id=1"
        assert article.text_hash is not None
        assert session.get(Capture, 1).body_size == len(body.encode())
        assert session.scalar(select(func.count()).select_from(ArticleVersion)) == 1
        assert session.get(Site, 1).fold_scheme is False
    assert [h["title"] for h in search(archive, "十四五規劃")] == ["旧标题"]
    archive.close()


def test_two_crawls_an_import_and_exports_at_once_on_one_sqlite_archive(sample_sites, config_path, config):
    for site in sample_sites.sites.values():
        site.delay = 0.05
    commands = [[sys.executable, "-m", "crawler", "crawl", key, "--config", str(config_path)]
                for key in ("binhe-gov", "binhe-news")]
    commands.append([*MUNIARCHIVE, "import-text", str(config_path.parent), "--site", "changning-gov",
                     "--config", str(config_path)])
    (config_path.parent / "dump.txt").write_text("滨河市长宁区开展消防演练\n区消防救援大队组织辖区单位开展消防演练，提升应急处置能力。\n",
                                                 encoding="utf-8")
    processes = [subprocess.Popen(c, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for c in commands]
    readers = []
    while any(p.poll() is None for p in processes):
        readers.append(cli("export", "--format", "jsonl", "--since-last", "mirror", "--config", str(config_path)))
        readers.append(cli("search", "滨河", "--json", "--config", str(config_path)))
    readers.append(cli("export", "--format", "jsonl", "--since-last", "mirror", "--config", str(config_path)))
    outputs = [p.communicate(timeout=300)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], outputs
    assert all(r.returncode == 0 for r in readers), [r.stderr for r in readers]
    assert not any("database is locked" in o for o in outputs + [r.stderr for r in readers])
    exported = [json.loads(line)["canonical_url"] for r in readers if "--since-last" in r.args
                for line in r.stdout.splitlines()]
    assert len(exported) == len(set(exported)) == 14 + 12 + 1  # each record sent to "mirror" exactly once
    archive = Archive(config.database_url)
    with archive.session() as session:
        urls = session.scalars(select(Article.canonical_url)).all()
    assert len(urls) == len(set(urls)) == 14 + 12 + 1
    archive.close()


def test_canonical_urls_drop_tracking_and_fold_where_the_site_says():
    assert canonical("http://a.cn/art/1.html?spm=1.2&id=7&utm_medium=x#top") == "http://a.cn/art/1.html?id=7"
    assert canonical("https://mp.weixin.qq.com/s?__biz=M&mid=2&from=timeline&isappinstalled=0") == \
        "https://mp.weixin.qq.com/s?__biz=M&mid=2"
    assert canonical("http://a.cn/list.html?from=rss") == "http://a.cn/list.html?from=rss"
    assert canonical("https://a.cn/col/index.html") == "https://a.cn/col/index.html"
    assert canonical("https://a.cn/col/index.html", fold_scheme=True, fold_index=True) == "http://a.cn/col/"


def test_a_crawl_indexes_after_fetching_and_a_stopped_one_is_indexed_later(archive_url):
    """Articles written with defer_index (as a crawl writes them) are found by search and
    joined into stories only once the backlog is indexed: by the crawl at its end, or by the
    next process to look, if the crawl was killed first."""
    from archive.dedup import fingerprint as make_fingerprint
    from archive.store import ArticleData
    from crawler.samplesites.content import CITY, NEWS

    original = next(a for a in CITY if a.article_id == 100106)
    reprint = next(a for a in NEWS if a.extra.get("reprint_of") == 100106)
    crawl = Archive(archive_url)
    crawl.defer_index = True
    site_id = crawl.ensure_site("s", "s", "http://s")
    for n, sample in enumerate([original, reprint]):
        crawl.store_article(site_id, None, None, ArticleData(sample.title, sample.body,
                                                             fingerprint=make_fingerprint(sample.body)),
                            url=f"http://s/{n}.html")
    assert search(crawl, "十四五") == [] and stories(crawl) == []
    crawl.close()  # killed before indexing

    later = Archive(archive_url)
    assert later.index_backlog() == 2 and later.index_backlog() == 0
    assert {hit["title"] for hit in search(later, "十四五规划")} == {original.title, reprint.title}
    assert [len(story["articles"]) for story in stories(later)] == [2]
    later.close()
