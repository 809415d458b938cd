"""Streaming exports of the archive: JSONL, CSV (Excel-ready), Parquet, WARC.

Records are read in batches by id, so memory stays flat however large the archive. The
record layout is versioned (SCHEMA_VERSION, documented in docs/export.md) and carried in
every file: a field of each JSON/CSV record, the Parquet schema metadata, the WARC's
warcinfo record.

`since_last` names an export target: only article versions stored after that target's
last completed export are sent, and its cursor moves only once the output is complete
(written to a temporary file and renamed), so an interrupted export sends them again.
"""

from __future__ import annotations

import csv
import io
import json
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select

from archive.models import Article, ArticleVersion, Capture, ExportCursor, Site, utcnow, version_body
from archive.store import DOCUMENT_FIELDS, Archive

SCHEMA_VERSION = "2"
FORMATS = ("jsonl", "csv", "parquet", "warc")
FIELDS = ("schema_version", "article_id", "version", "site", "site_name", "region", "url", "canonical_url", "title",
          "original_title", "publish_time", "publish_time_precision", "source", "reporters", "photographers", "editors", "body",
          "story_id", "stored_at", "reason", "first_seen", "last_seen", *DOCUMENT_FIELDS)  # the last six: schema 2
BATCH = 1000


@dataclass
class Selection:
    site: str | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None
    versions: bool = False  # every version, not only each article's current one
    with_captures: bool = False  # read each version's raw capture along (WARC)
    after_version_id: int = 0  # since_last: only versions stored after this one
    upto_version_id: int | None = None  # the newest version when the export began


def _query(selection: Selection, after_id: int):
    version = ArticleVersion
    statement = (select(version, Article, Site.key, Site.name, Site.region,
                        Capture if selection.with_captures else version.capture_id)
                 .join(Article, Article.id == version.article_id).join(Site, Site.id == Article.site_id))
    if selection.with_captures:
        statement = statement.outerjoin(Capture, Capture.id == version.capture_id)
    conditions = [version.id > max(after_id, selection.after_version_id)]
    if selection.upto_version_id is not None:
        conditions.append(version.id <= selection.upto_version_id)
    if not selection.versions:
        conditions.append(version.version == Article.version)
    if selection.site:
        conditions.append(Site.key == selection.site)
    if selection.date_from:
        conditions.append(version.publish_time >= selection.date_from)
    if selection.date_to:
        conditions.append(version.publish_time < selection.date_to)
    return statement.where(and_(*conditions)).order_by(version.id).limit(BATCH)


def rows(archive: Archive, selection: Selection) -> Iterator[tuple[dict, Capture | int | None]]:
    """(record, its capture, or the capture's id unless with_captures) for every selected
    version, oldest stored first."""
    last = 0
    while True:
        with archive.session() as session:
            batch = session.execute(_query(selection, last)).all()
        if not batch:
            return
        for version, article, key, name, region, capture in batch:
            yield {
                "schema_version": SCHEMA_VERSION, "article_id": article.id, "version": version.version,
                "site": key, "site_name": name, "region": region, "url": article.url,
                "canonical_url": article.canonical_url, "title": version.title,
                "original_title": version.original_title, "publish_time": version.publish_time,
                "publish_time_precision": version.publish_time_precision, "source": version.source,
                "reporters": list(version.reporters or []), "photographers": list(version.photographers or []),
                "editors": list(version.editors or []),
                "body": version_body(version, article), "story_id": article.story_id, "stored_at": version.created_at,
                "reason": version.reason, "first_seen": article.first_seen, "last_seen": article.last_seen,
                **{name: getattr(version, name) for name in DOCUMENT_FIELDS},
            }, capture
        last = batch[-1][0].id


def newest_version_id(archive: Archive) -> int:
    with archive.session() as session:
        return session.scalar(select(func.max(ArticleVersion.id))) or 0


def cursor_of(archive: Archive, name: str) -> int:
    with archive.session() as session:
        cursor = session.get(ExportCursor, name)
        return cursor.last_version_id if cursor else 0


def advance_cursor(archive: Archive, name: str, version_id: int) -> None:
    def work(session):
        cursor = session.get(ExportCursor, name)
        if cursor is None:
            session.add(ExportCursor(name=name, last_version_id=version_id, exported_at=utcnow()))
        else:
            cursor.last_version_id, cursor.exported_at = max(cursor.last_version_id, version_id), utcnow()

    archive._write(work)


# ------------------------------------------------------------------ writers


TIMES = ("publish_time", "stored_at", "first_seen", "last_seen")
PEOPLE = ("reporters", "photographers", "editors")


def _with_iso_times(record: dict, tz: ZoneInfo) -> dict:
    """Times as ISO 8601 with the zone's offset (2026-09-18T11:20:00+08:00), for text formats."""
    for key in TIMES:
        record[key] = record[key].astimezone(tz).isoformat() if record[key] else None
    record["written_date"] = record["written_date"].isoformat() if record["written_date"] else None
    return record


def write_jsonl(records: Iterator[tuple[dict, int | None]], out: IO[bytes], tz: ZoneInfo) -> int:
    count = 0
    for record, _ in records:
        out.write(json.dumps(_with_iso_times(record, tz), ensure_ascii=False).encode("utf-8") + b"\n")
        count += 1
    return count


LIST_SEPARATOR = ";"


def write_csv(records: Iterator[tuple[dict, int | None]], out: IO[bytes], tz: ZoneInfo) -> int:
    """UTF-8 with a BOM (Excel on a Chinese-locale Windows reads it as UTF-8, not GBK);
    reporters, photographers and editors joined with ';'."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.DictWriter(text, FIELDS)
    writer.writeheader()
    count = 0
    for record, _ in records:
        _with_iso_times(record, tz)
        for people in PEOPLE:
            record[people] = LIST_SEPARATOR.join(record[people])
        writer.writerow(record)
        count += 1
    text.detach()
    return count


def parquet_schema(tz_name: str):
    import pyarrow as pa

    timestamp = pa.timestamp("us", tz=tz_name)
    types = {"article_id": pa.int64(), "version": pa.int32(), "story_id": pa.int64(),
             **{people: pa.list_(pa.string()) for people in PEOPLE}, "written_date": pa.date32(),
             **{name: timestamp for name in TIMES}}
    return pa.schema([pa.field(name, types.get(name, pa.string())) for name in FIELDS],
                     metadata={"muniarchive.schema_version": SCHEMA_VERSION})


def write_parquet(records: Iterator[tuple[dict, int | None]], out: IO[bytes], tz: ZoneInfo) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = parquet_schema(str(tz))
    count = 0
    with pq.ParquetWriter(out, schema, compression="zstd") as writer:
        batch: list[dict] = []
        for record, _ in records:
            batch.append(record)
            if len(batch) == 10_000:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                count, batch = count + len(batch), []
        if batch or count == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            count += len(batch)
    return count


_HOP_BY_HOP = {"content-encoding", "transfer-encoding", "content-length", "connection"}


def write_warc(records: Iterator[tuple[dict, Capture | None]], out: IO[bytes]) -> int:
    """The raw captures behind the records: a request and a response record per page (a
    resource record for imported text), readable by warcio and replayable by pywb."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    writer = WARCWriter(out, gzip=True)
    info = {"software": "muniarchive", "format": "WARC File Format 1.1",
            "muniarchive-schema-version": SCHEMA_VERSION}
    writer.write_record(writer.create_warcinfo_record("muniarchive.warc.gz", info))
    count = 0
    seen: set[int] = set()
    for _, capture in records:
        if capture is None or capture.id in seen:
            continue
        seen.add(capture.id)
        body = zlib.decompress(capture.body_zlib)
        date = capture.fetched_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        headers = {"WARC-Date": date, "WARC-Record-ID": f"<urn:muniarchive:capture:{capture.id}>"}
        if capture.http_status == 0:  # imported from a text dump: no HTTP exchange to replay
            writer.write_record(writer.create_warc_record(
                capture.url, "resource", payload=io.BytesIO(body), warc_content_type="text/plain; charset=utf-8",
                warc_headers_dict=headers))
        else:
            http_headers = [(k, v) for k, v in (capture.headers or {}).items() if k.lower() not in _HOP_BY_HOP]
            http_headers.append(("Content-Length", str(len(body))))
            status = StatusAndHeaders(f"{capture.http_status} {'OK' if capture.http_status == 200 else ''}".strip(),
                                      http_headers, protocol="HTTP/1.1")
            parts = urlsplit(capture.url)
            response = writer.create_warc_record(capture.url, "response", payload=io.BytesIO(body),
                                                 http_headers=status, warc_headers_dict=headers)
            request = writer.create_warc_record(
                capture.url, "request", payload=io.BytesIO(b""),
                http_headers=StatusAndHeaders(f"GET {_request_target(parts)} HTTP/1.1", [("Host", parts.netloc)],
                                              is_http_request=True),
                warc_headers_dict={"WARC-Date": date,
                                   "WARC-Concurrent-To": headers["WARC-Record-ID"]})
            writer.write_record(response)
            writer.write_record(request)
        count += 1
    return count


def _request_target(parts) -> str:
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


# ------------------------------------------------------------------ the export


@contextmanager
def _output(path: str | None):
    """stdout, or a temporary file beside `path` renamed into place only when complete."""
    if path in (None, "-"):
        with os.fdopen(os.dup(1), "wb") as stdout:
            yield stdout
        return
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    with open(partial, "wb") as handle:
        try:
            yield handle
        except BaseException:
            handle.close()
            partial.unlink(missing_ok=True)
            raise
    partial.replace(target)


def export(archive: Archive, fmt: str, out: str | None, tz_name: str, selection: Selection,
           since_last: str | None = None) -> int:
    """Write the selected records in `fmt` to `out` (a path, or stdout); returns how many."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    if since_last:
        selection.after_version_id = cursor_of(archive, since_last)
    selection.upto_version_id = newest_version_id(archive)  # what arrives meanwhile goes next time
    selection.with_captures = fmt == "warc"
    tz = ZoneInfo(tz_name)
    records = rows(archive, selection)
    with _output(out) as handle:
        if fmt == "jsonl":
            count = write_jsonl(records, handle, tz)
        elif fmt == "csv":
            count = write_csv(records, handle, tz)
        elif fmt == "parquet":
            count = write_parquet(records, handle, tz)
        else:
            count = write_warc(records, handle)
        handle.flush()
    if since_last:
        advance_cursor(archive, since_last, selection.upto_version_id)
    return count
