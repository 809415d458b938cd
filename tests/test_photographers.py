"""Photographers credited on a page reach the archive, its versions and every export format."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq

from archive import Archive, CaptureData
from archive.export import Selection, article_records, write_csv, write_jsonl, write_parquet
from crawler.extract import extract_article
from crawler.offline import article_data

PAGE = """<html><head><title>滨河湿地迎来越冬候鸟_滨河新闻网</title></head><body>
<h1>滨河湿地迎来越冬候鸟</h1><div id="zoom">
<p>本报讯（记者 周岚）近日，数千只越冬候鸟陆续飞抵滨河国家湿地公园，在浅滩觅食嬉戏。</p>
<p>湿地管理处介绍，今年监测到的候鸟种类比去年增加了十二种，其中包括国家一级保护动物东方白鹳。</p>
<p>韩晓松 摄</p>
<p>责任编辑：林雨</p></div></body></html>"""


def test_a_photographer_is_stored_versioned_and_exported(tmp_path, archive_url):
    url = "http://www.binhe-news.cn/sh/202611/t20261120_9.html"
    extracted = extract_article(PAGE.encode(), url)
    assert extracted.photographers == ["韩晓松"] and extracted.reporters == ["周岚"]
    assert "摄" not in extracted.body

    archive = Archive(archive_url)
    site = archive.ensure_site("binhe-news", "滨河新闻网", "http://www.binhe-news.cn/")
    capture = CaptureData(url, 200, {"Content-Type": "text/html"}, PAGE.encode(), datetime.now(UTC))
    assert archive.store_article(site, None, capture, article_data(extracted)) == "new"

    tz = ZoneInfo("Asia/Shanghai")
    out = io.BytesIO()
    write_jsonl(article_records(archive, Selection(versions=True)), out, tz)
    record = json.loads(out.getvalue().decode().splitlines()[0])
    assert record["photographers"] == ["韩晓松"] and record["editors"] == ["林雨"]

    out = io.BytesIO()
    write_csv(article_records(archive, Selection()), out, tz)
    assert next(csv.DictReader(io.StringIO(out.getvalue().decode("utf-8-sig"))))["photographers"] == "韩晓松"

    path = tmp_path / "a.parquet"
    with open(path, "wb") as handle:
        write_parquet(article_records(archive, Selection()), handle, tz)
    assert pq.read_table(path).column("photographers").to_pylist() == [["韩晓松"]]
