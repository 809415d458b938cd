"""Exports read back by each format's own reader give the archive's records; --since-last
sends each record once and never loses one to an interrupted export."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import zlib
from datetime import datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator

from archive import export as export_module
from archive.export import FIELDS, Selection, cursor_of
from archive.models import Article, Capture
from scheduler.runner import run_crawl

MUNIARCHIVE = [sys.executable, "-m", "scheduler.cli"]
ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*MUNIARCHIVE, *args], cwd=ROOT, capture_output=True, timeout=300)


@pytest.fixture
def crawled(sample_sites, config, archive):
    for site in config.sites:
        assert run_crawl(config, site.key, archive).status == "succeeded"
    with archive.session() as session:
        articles = {a.id: a for a in session.scalars(select(Article))}
    return articles


def same_as_archive(records: list[dict], articles: dict) -> None:
    assert sorted(r["article_id"] for r in records) == sorted(articles)
    for record in records:
        article = articles[record["article_id"]]
        assert (record["title"], record["body"], record["url"]) == (article.title, article.body, article.url)
        assert record["reporters"] == article.reporters and record["editors"] == article.editors
        published = record["publish_time"]
        if isinstance(published, str):
            published = datetime.fromisoformat(published)
        assert published == article.publish_time
        assert record["schema_version"] == "2"


def test_jsonl_csv_and_parquet_read_back_as_the_archive(crawled, config, tmp_path):
    out = cli("export", "--format", "jsonl", "--config", str(config.path))
    assert out.returncode == 0, out.stderr
    same_as_archive([json.loads(line) for line in out.stdout.decode("utf-8").splitlines()], crawled)

    assert cli("export", "--format", "csv", "--out", str(tmp_path / "a.csv"), "--config", str(config.path)).returncode == 0
    raw = (tmp_path / "a.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert list(rows[0]) == list(FIELDS)
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
    assert table.schema.metadata[b"muniarchive.schema_version"] == b"2"
    assert str(table.schema.field("publish_time").type) == "timestamp[us, tz=Asia/Shanghai]"
    assert str(table.schema.field("reporters").type) == "list<element: string>"
    same_as_archive(table.to_pylist(), crawled)


def test_warc_holds_every_capture_as_request_and_response(crawled, config, archive, tmp_path):
    assert cli("export", "--format", "warc", "--out", str(tmp_path / "a.warc.gz"),
               "--config", str(config.path)).returncode == 0
    responses, requests, info = {}, set(), 0
    with open(tmp_path / "a.warc.gz", "rb") as stream:
        for record in ArchiveIterator(stream):
            uri = record.rec_headers.get_header("WARC-Target-URI")
            if record.rec_type == "response":
                assert record.http_headers.get_statuscode() == "200"
                responses[uri] = record.content_stream().read()
            elif record.rec_type == "request":
                requests.add(uri)
            elif record.rec_type == "warcinfo":
                info += 1
    assert info == 1
    assert set(responses) == requests == {a.url for a in crawled.values()}
    with archive.session() as session:
        for article in crawled.values():
            capture = session.get(Capture, article.capture_id)
            assert responses[article.url] == zlib.decompress(capture.body_zlib)


def test_since_last_sends_each_record_once(crawled, sample_sites, config, archive):
    def export_to(name):
        out = cli("export", "--format", "jsonl", "--since-last", name, "--config", str(config.path))
        assert out.returncode == 0, out.stderr
        return [json.loads(line) for line in out.stdout.decode("utf-8").splitlines()]

    assert len(export_to("analysts")) == len(crawled)
    assert export_to("analysts") == []
    published = sample_sites.publish(1)[0]
    for site in config.sites:
        assert run_crawl(config, site.key, archive).status == "succeeded"
    new = export_to("analysts")
    assert [r["title"] for r in new] == [published.title]
    assert len(export_to("archivists")) == len(crawled) + 1  # another target has its own cursor


def test_an_interrupted_export_does_not_move_the_cursor(crawled, config, archive, tmp_path, monkeypatch):
    target = tmp_path / "out.jsonl"
    real_writer = export_module.write_jsonl

    def fails_half_way(records, out, tz):
        for count, _ in enumerate(records):
            if count == 5:
                raise OSError(28, "No space left on device")
            out.write(b"{}\n")
        return real_writer(records, out, tz)

    monkeypatch.setattr(export_module, "write_jsonl", fails_half_way)
    with pytest.raises(OSError, match="No space left"):
        export_module.export(archive, "jsonl", str(target), "Asia/Shanghai", Selection(), since_last="mirror")
    assert cursor_of(archive, "mirror") == 0
    assert not target.exists() and not list(tmp_path.glob("*.partial"))
    monkeypatch.setattr(export_module, "write_jsonl", real_writer)
    assert export_module.export(archive, "jsonl", str(target), "Asia/Shanghai", Selection(),
                                since_last="mirror") == len(crawled)
