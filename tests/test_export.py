"""Exports read back by each format's own reader (and by pandas) give the archive's records,
attachments with their text included; the WARC holds every capture once; --since-last sends
each record once and never loses one to an interrupted export."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import zlib
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from warcio.archiveiterator import ArchiveIterator

from archive import export as export_module
from archive.export import ARTICLE_FIELDS, ATTACHMENT_FIELDS, ATTACHMENT_OWN_FIELDS, Selection, cursor_of
from archive.models import Article, Attachment, Capture
from archive.store import ArticleData
from crawler.offline import import_text
from crawler.samplesites.content import SampleArticle
from crawler.samplesites.server import make_docx, make_pdf
from scheduler.runner import run_crawl

MUNIARCHIVE = [sys.executable, "-m", "scheduler.cli"]
ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*MUNIARCHIVE, *args], cwd=ROOT, capture_output=True, timeout=300)


def notice_with_files(article_id: int, title: str, names: list[str]) -> SampleArticle:
    return SampleArticle("zwdt", article_id, "2026-10-22 10:30", title, "市政府办公室", ("有关文件附后。",),
                         attachments=tuple((name, f"附件{i}") for i, name in enumerate(names, 1)))


@pytest.fixture
def crawled(sample_sites, config, archive, tmp_path):
    """The demo's sites, plus a notice whose attachments are a DOCX, a file no extractor reads
    and one PDF under two names, plus an imported text dump: every kind of capture."""
    city = sample_sites.sites["binhe-gov"]
    plan = make_pdf(["滨河市城乡供水保障三年行动方案（2026—2028年）", "一、总体要求"])
    files = {"P0301.docx": make_docx(["滨河市老旧小区改造项目清单", "第一批共十二个小区"]),
             "P0302.doc": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1500),
             "P0303.pdf": plan, "P0304.pdf": plan}
    city.files.update(files)
    city.articles.append(notice_with_files(100301, "关于印发滨河市城乡供水保障三年行动方案的通知", list(files)))
    for site in config.sites:
        assert run_crawl(config, site.key, archive).status == "succeeded"
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    (dumps / "drill.txt").write_text("长宁区开展秋季消防演练\n区消防救援大队组织辖区单位开展消防演练，提升应急处置能力。\n",
                                     encoding="utf-8")
    assert import_text(config, archive, dumps, "changning-gov").counts["new"] == 1
    with archive.session() as session:
        return {a.id: a for a in session.scalars(select(Article))}


def attachments_in(archive) -> dict[int, Attachment]:
    with archive.session() as session:
        return {a.id: a for a in session.scalars(select(Attachment))}


def same_as_archive(records: list[dict], articles: dict, attachments: dict[int, Attachment] | None = None) -> None:
    """The article records are the archive's; with `attachments`, each carries its own."""
    assert sorted(r["article_id"] for r in records) == sorted(articles)
    for record in records:
        article = articles[record["article_id"]]
        assert (record["title"], record["body"], record["url"]) == (article.title, article.body, article.url)
        assert record["reporters"] == article.reporters and record["editors"] == article.editors
        published = record["publish_time"]
        if isinstance(published, str):
            published = datetime.fromisoformat(published)
        assert published == article.publish_time
        assert record["schema_version"] == "3"
        if attachments is not None:
            same_attachments(record["attachments"], [a for a in attachments.values() if a.article_id == article.id])


def same_attachments(records: list[dict], attachments: list[Attachment]) -> None:
    assert [r["attachment_id"] for r in records] == [a.id for a in attachments]
    for record, attachment in zip(records, attachments, strict=True):
        for name in ATTACHMENT_OWN_FIELDS[1:-1]:
            assert record[name] == getattr(attachment, name), name
        first_seen = record["first_seen"]
        assert (datetime.fromisoformat(first_seen) if isinstance(first_seen, str) else first_seen) == attachment.first_seen


def test_article_records_read_back_as_the_archive_with_their_attachments(crawled, config, archive, tmp_path):
    attachments = attachments_in(archive)
    assert {"P0301.docx", "P0302.doc", "P0303.pdf", "P0304.pdf"} < {a.file_name for a in attachments.values()}

    out = cli("export", "--format", "jsonl", "--config", str(config.path))
    assert out.returncode == 0, out.stderr
    same_as_archive([json.loads(line) for line in out.stdout.decode("utf-8").splitlines()], crawled, attachments)

    assert cli("export", "--format", "csv", "--out", str(tmp_path / "a.csv"), "--config", str(config.path)).returncode == 0
    raw = (tmp_path / "a.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert list(rows[0]) == list(ARTICLE_FIELDS)
    for row in rows:
        row["article_id"] = int(row["article_id"])
        row["reporters"] = row["reporters"].split(";") if row["reporters"] else []
        row["editors"] = row["editors"].split(";") if row["editors"] else []
        row["publish_time"] = row["publish_time"] or None
        row["original_title"] = row["original_title"] or None
    same_as_archive(rows, crawled)

    assert cli("export", "--format", "parquet", "--out", str(tmp_path / "a.parquet"),
               "--config", str(config.path)).returncode == 0
    table = pq.read_table(tmp_path / "a.parquet")
    assert table.schema.metadata[b"muniarchive.schema_version"] == b"3"
    assert str(table.schema.field("publish_time").type) == "timestamp[us, tz=Asia/Shanghai]"
    assert str(table.schema.field("reporters").type) == "list<element: string>"
    files = table.schema.field("attachments").type.value_type
    assert [files.field(i).name for i in range(files.num_fields)] == list(ATTACHMENT_OWN_FIELDS)
    assert str(files.field("size").type) == "int64" and str(files.field("text").type) == "string"
    same_as_archive(table.to_pylist(), crawled, attachments)


def blank(value) -> str:
    """None, NaN (pandas' JSON null) and CSV's empty cell alike."""
    return "" if pd.isna(value) else value


def test_every_attachment_and_its_text_in_every_format_as_pandas_reads_it(crawled, config, archive, tmp_path):
    attachments = attachments_in(archive)
    readers = {"jsonl": lambda path: pd.read_json(path, lines=True, dtype=False),
               "csv": lambda path: pd.read_csv(path, dtype=str, keep_default_na=False),
               "parquet": pd.read_parquet}
    for fmt, read in readers.items():
        out = cli("export", "--format", fmt, "--what", "all", "--out", str(tmp_path / f"all.{fmt}"),
                  "--config", str(config.path))
        assert out.returncode == 0, out.stderr
        assert f"exported {len(crawled)} articles, {len(attachments)} attachments" in out.stderr.decode()
        articles, files = read(tmp_path / f"all.{fmt}"), read(tmp_path / f"all.attachments.{fmt}")
        assert sorted(articles["article_id"].astype(int)) == sorted(crawled)
        assert list(files.columns) == list(ATTACHMENT_FIELDS)
        assert list(files["attachment_id"].astype(int)) == list(attachments)
        for row in files.itertuples():
            attachment = attachments[int(row.attachment_id)]
            assert (row.url, row.file_name, row.file_type, row.sha256) == (
                attachment.url, attachment.file_name, attachment.file_type, attachment.sha256)
            assert int(row.size) == attachment.size and int(row.capture_id) == attachment.capture_id
            assert blank(row.text) == (attachment.text or "") and blank(row.text_note) == (attachment.text_note or "")
            assert int(row.article_id) == attachment.article_id
            assert row.article_url == crawled[attachment.article_id].url
    by_name = {a.file_name: a for a in attachments.values()}
    assert "老旧小区改造项目清单" in by_name["P0301.docx"].text
    assert by_name["P0302.doc"].text is None and by_name["P0302.doc"].text_note == "no text extractor for doc"
    assert by_name["P0303.pdf"].capture_id == by_name["P0304.pdf"].capture_id


def test_warc_holds_every_capture_once_with_its_content_type(crawled, config, archive, tmp_path):
    imported = next(a for a in crawled.values() if a.url.startswith("file:"))
    # a corrected dump imported again: a second capture of the same URL, kept as history
    Path(imported.url.removeprefix("file://")).write_text(
        "长宁区开展秋季消防演练\n区消防救援大队组织辖区单位开展消防演练，提升应急处置和疏散能力。\n", encoding="utf-8")
    assert import_text(config, archive, Path(imported.url.removeprefix("file://")).parent,
                       "changning-gov").counts["updated"] == 1
    # re-extracted from its stored capture under changed rules: a new version, no new capture
    page = next(a for a in crawled.values() if a.url.startswith("http"))
    assert archive.store_article(page.site_id, None, None, ArticleData(page.title, page.body + "\n（完）"),
                                 reason="reprocess", url=page.url, capture_id=page.capture_id) == "updated"

    assert cli("export", "--format", "warc", "--out", str(tmp_path / "a.warc.gz"),
               "--config", str(config.path)).returncode == 0
    captures, requests, info = {}, [], 0
    with open(tmp_path / "a.warc.gz", "rb") as stream:
        for record in ArchiveIterator(stream):
            record_id = record.rec_headers.get_header("WARC-Record-ID")
            if record.rec_type in ("response", "resource"):
                assert record_id not in captures
                captures[record_id] = record, record.content_stream().read()
            elif record.rec_type == "request":
                requests.append(record)
            elif record.rec_type == "warcinfo":
                info += 1
    assert info == 1
    with archive.session() as session:
        stored = {f"<urn:muniarchive:capture:{c.id}>": c for c in session.scalars(select(Capture))}
    files = {a.capture_id for a in attachments_in(archive).values() if a.capture_id}
    assert len(stored) == len(crawled) + len(files) + 1  # pages, files (shared bytes once), the corrected dump
    assert set(captures) == set(stored)
    for record_id, (record, body) in captures.items():
        capture = stored[record_id]
        assert record.rec_headers.get_header("WARC-Target-URI") == capture.url
        assert body == zlib.decompress(capture.body_zlib)
        if record.rec_type == "response":
            assert record.http_headers.get_statuscode() == "200"
            assert record.http_headers.get_header("Content-Type") == capture.headers["Content-Type"]
        else:
            assert capture.http_status == 0 and capture.url.startswith("file:")
    types = {record.http_headers.get_header("Content-Type") for record, _ in captures.values() if record.http_headers}
    assert {"application/pdf", "application/msword"} < types
    # each response is followed by its request, which names it
    assert sorted(r.rec_headers.get_header("WARC-Concurrent-To") for r in requests) == sorted(
        record_id for record_id, (record, _) in captures.items() if record.rec_type == "response")


def test_since_last_sends_each_record_and_capture_once(crawled, sample_sites, config, archive):
    def export_to(name, *options):
        out = cli("export", "--format", "jsonl", "--since-last", name, *options, "--config", str(config.path))
        assert out.returncode == 0, out.stderr
        return [json.loads(line) for line in out.stdout.decode("utf-8").splitlines()]

    def warc_to(name):
        out = cli("export", "--format", "warc", "--since-last", name, "--config", str(config.path))
        assert out.returncode == 0, out.stderr
        return [r.rec_headers.get_header("WARC-Target-URI") for r in ArchiveIterator(io.BytesIO(out.stdout))
                if r.rec_type in ("response", "resource")]

    attachments = attachments_in(archive)
    with archive.session() as session:
        captures = session.scalar(select(func.count()).select_from(Capture))
    assert len(export_to("analysts")) == len(crawled)
    assert export_to("analysts") == []
    assert len(export_to("analysts", "--what", "attachments")) == len(attachments)  # a cursor of their own
    assert export_to("analysts", "--what", "attachments") == []
    assert len(warc_to("replay")) == captures
    assert warc_to("replay") == []

    published = sample_sites.publish(1)[0]
    city = sample_sites.sites["binhe-gov"]
    city.files["P0305.pdf"] = make_pdf(["滨河市城市更新专项规划（2026—2035年）（草案）"])
    city.articles.append(notice_with_files(100302, "滨河市城市更新专项规划草案公示", ["P0305.pdf"]))
    for site in config.sites:
        assert run_crawl(config, site.key, archive).status == "succeeded"
    new = export_to("analysts")
    assert sorted(r["title"] for r in new) == sorted([published.title, "滨河市城市更新专项规划草案公示"])
    new_files = export_to("analysts", "--what", "attachments")
    assert [r["file_name"] for r in new_files] == ["P0305.pdf"] and "城市更新专项规划" in new_files[0]["text"]
    assert sorted(warc_to("replay")) == sorted([*(r["url"] for r in new), new_files[0]["url"]])
    assert len(export_to("archivists")) == len(crawled) + 2  # another target has its own cursors


def test_an_interrupted_export_moves_no_cursor_and_leaves_no_file(crawled, config, archive, tmp_path, monkeypatch):
    target, files = tmp_path / "out.jsonl", attachments_in(archive)
    real_writer = export_module.write_jsonl
    calls = []

    def fails_in_the_attachments(records, out, tz):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_writer(records, out, tz)

    monkeypatch.setattr(export_module, "write_jsonl", fails_in_the_attachments)
    with pytest.raises(OSError, match="No space left"):
        export_module.export(archive, "jsonl", str(target), "Asia/Shanghai", Selection(), since_last="mirror",
                             what="all")
    assert cursor_of(archive, "mirror") == cursor_of(archive, "mirror#attachments") == 0
    assert list(tmp_path.glob("out*")) == []
    monkeypatch.setattr(export_module, "write_jsonl", real_writer)
    assert export_module.export(archive, "jsonl", str(target), "Asia/Shanghai", Selection(), since_last="mirror",
                                what="all") == {"articles": len(crawled), "attachments": len(files)}
    assert len(target.read_text(encoding="utf-8").splitlines()) == len(crawled)
    assert len((tmp_path / "out.attachments.jsonl").read_text(encoding="utf-8").splitlines()) == len(files)


def test_all_to_stdout_is_refused_in_one_line(tmp_path):
    out = cli("export", "--format", "csv", "--what", "all", "--config", str(tmp_path / "config.yaml"))
    assert out.returncode == 2 and b"--what all (two files) needs a file: give --out PATH" in out.stderr
    assert b"Traceback" not in out.stderr and out.stdout == b""


def test_duckdb_reads_every_format_and_joins_attachments_to_their_articles(crawled, config, archive, tmp_path):
    import duckdb

    attachments = attachments_in(archive)
    for fmt, reader in (("parquet", "read_parquet"), ("jsonl", "read_json_auto"), ("csv", "read_csv_auto")):
        out = cli("export", "--format", fmt, "--what", "all", "--out", str(tmp_path / f"all.{fmt}"),
                  "--config", str(config.path))
        assert out.returncode == 0, out.stderr
        articles, files = f"{reader}('{tmp_path}/all.{fmt}')", f"{reader}('{tmp_path}/all.attachments.{fmt}')"
        with duckdb.connect() as db:
            assert db.execute(f"select count(*) from {articles}").fetchall() == [(len(crawled),)], fmt
            joined = db.execute(f"select f.attachment_id, f.text, a.title from {files} f "
                            f"join {articles} a on a.article_id = f.article_id").fetchall()
        assert sorted(int(row[0]) for row in joined) == sorted(attachments), fmt
        for attachment_id, text, title in joined:
            attachment = attachments[int(attachment_id)]
            assert (text or "") == (attachment.text or "") and title == crawled[attachment.article_id].title, fmt
