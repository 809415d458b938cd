"""Streaming exports of the archive: JSONL, CSV (Excel-ready), Parquet, WARC.

Two kinds of records: articles (in JSONL and Parquet each carries its attachments) and
attachments (the PDFs and DOCX files articles link to, with their extracted text). A WARC
holds the raw captures behind them, each capture once. Records are read in batches by id,
so memory stays flat however large the archive. The record layout is versioned
(SCHEMA_VERSION, documented in docs/export.md) and carried in every file: a field of each
JSONL/CSV record, the Parquet schema metadata, the WARC's warcinfo record.

`since_last` names an export target: only article versions and attachments stored after
that target's last completed export are sent, and its cursors move only once the output is
complete (written to a temporary file and renamed), so an interrupted export sends them
again. Each kind has its own cursor, so that exporting one kind does not use up the other.
"""

from __future__ import annotations

import csv
import io
import json
import os
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import aliased

from archive.models import (
    Article,
    ArticleVersion,
    Attachment,
    Capture,
    ExportCursor,
    Site,
    utcnow,
    version_body,
)
from archive.store import DOCUMENT_FIELDS, Archive

SCHEMA_VERSION = "3"
FORMATS = ("jsonl", "csv", "parquet", "warc")
KINDS = ("articles", "attachments")
WHATS = (*KINDS, "all")
# an article record's fields (the CSV's columns); JSONL and Parquet add `attachments`, a
# list of ATTACHMENT_OWN_FIELDS
ARTICLE_FIELDS = ("schema_version", "article_id", "version", "site", "site_name", "region", "url", "canonical_url",
                  "title", "original_title", "publish_time", "publish_time_precision", "source", "reporters",
                  "photographers", "editors", "body", "story_id", "stored_at", "reason", "first_seen", "last_seen",
                  *DOCUMENT_FIELDS)
ATTACHMENT_OWN_FIELDS = ("attachment_id", "url", "file_name", "link_text", "file_type", "size", "sha256", "status",
                         "error", "text", "text_note", "capture_id", "first_seen")
# an attachment record's fields: the attachment and the article that links to it
ATTACHMENT_FIELDS = ("schema_version", "site", "article_id", "article_url", *ATTACHMENT_OWN_FIELDS)
TIMES = ("publish_time", "stored_at", "first_seen", "last_seen")
BATCH = 1000
ATTACHMENT_BATCH = 50  # attachments, or articles with theirs, at a time: each may carry a long document's text
# the attachments cursor of target NAME is the export_cursor row NAME#attachments, whose
# last_version_id holds the newest attachment id sent
ATTACHMENTS_CURSOR = "#attachments"


@dataclass
class Selection:
    site: str | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None
    versions: bool = False  # every version, not only each article's current one
    after_version_id: int = 0  # since_last: only versions stored after this one
    upto_version_id: int | None = None  # the newest version when the export began
    after_attachment_id: int = 0  # the same for attachments
    upto_attachment_id: int | None = None


def _conditions(selection: Selection, kind: str, after_id: int):
    """What selects article versions or attachments; an attachment by the publish time of the
    article linking to it (it has none of its own)."""
    if kind == "articles":
        ids, after, upto, published = (ArticleVersion.id, selection.after_version_id, selection.upto_version_id,
                                       ArticleVersion.publish_time)
    else:
        ids, after, upto, published = (Attachment.id, selection.after_attachment_id, selection.upto_attachment_id,
                                       Article.publish_time)
    conditions = [ids > max(after_id, after)]
    if upto is not None:
        conditions.append(ids <= upto)
    if kind == "articles" and not selection.versions:
        conditions.append(ArticleVersion.version == Article.version)
    if selection.site:
        conditions.append(Site.key == selection.site)
    if selection.date_from:
        conditions.append(published >= selection.date_from)
    if selection.date_to:
        conditions.append(published < selection.date_to)
    return and_(*conditions)


def _versions(*columns):
    return (select(ArticleVersion.id, *columns).join(Article, Article.id == ArticleVersion.article_id)
            .join(Site, Site.id == Article.site_id).order_by(ArticleVersion.id))


def _attachments(*columns):
    return (select(Attachment.id, *columns).join(Site, Site.id == Attachment.site_id)
            .outerjoin(Article, Article.id == Attachment.article_id).order_by(Attachment.id))


def _in_batches(archive: Archive, query: Callable[[int], object]) -> Iterator[list]:
    """The rows of query(after_id) (the id first in each row) batch by batch, each read in a
    short session: a long read would hold back SQLite's checkpoints."""
    last = 0
    while True:
        with archive.session() as session:
            batch = session.execute(query(last)).all()
        if not batch:
            return
        yield batch
        last = batch[-1][0]


def _attachment_fields(attachment: Attachment) -> dict:
    return {"attachment_id": attachment.id,
            **{name: getattr(attachment, name) for name in ATTACHMENT_OWN_FIELDS[1:]}}


def article_records(archive: Archive, selection: Selection) -> Iterator[dict]:
    """Every selected version, oldest stored first, with its article's attachments (those
    stored when the export began: attachments are not versioned)."""
    query = _versions(ArticleVersion, Article, Site.key, Site.name, Site.region)
    for rows in _in_batches(archive, lambda after: query.where(_conditions(selection, "articles", after)).limit(BATCH)):
        for start in range(0, len(rows), ATTACHMENT_BATCH):
            batch = rows[start:start + ATTACHMENT_BATCH]
            files = (select(Attachment).where(Attachment.article_id.in_({row[2].id for row in batch}))
                     .order_by(Attachment.id))
            if selection.upto_attachment_id is not None:
                files = files.where(Attachment.id <= selection.upto_attachment_id)
            attachments = defaultdict(list)
            with archive.session() as session:
                for attachment in session.scalars(files):
                    attachments[attachment.article_id].append(_attachment_fields(attachment))
            for _, version, article, key, name, region in batch:
                yield {
                    "schema_version": SCHEMA_VERSION, "article_id": article.id, "version": version.version,
                    "site": key, "site_name": name, "region": region, "url": article.url,
                    "canonical_url": article.canonical_url, "title": version.title,
                    "original_title": version.original_title, "publish_time": version.publish_time,
                    "publish_time_precision": version.publish_time_precision, "source": version.source,
                    "reporters": list(version.reporters or []),
                    "photographers": list(version.photographers or []), "editors": list(version.editors or []),
                    "body": version_body(version, article), "story_id": article.story_id,
                    "stored_at": version.created_at, "reason": version.reason, "first_seen": article.first_seen,
                    "last_seen": article.last_seen, **{name: getattr(version, name) for name in DOCUMENT_FIELDS},
                    "attachments": attachments.get(article.id, []),
                }


def attachment_records(archive: Archive, selection: Selection) -> Iterator[dict]:
    """Every selected attachment (fetched, failed or too large), oldest stored first."""
    query = _attachments(Attachment, Site.key, Article.url)
    for batch in _in_batches(
            archive, lambda after: query.where(_conditions(selection, "attachments", after)).limit(ATTACHMENT_BATCH)):
        for _, attachment, key, article_url in batch:
            yield {"schema_version": SCHEMA_VERSION, "site": key, "article_id": attachment.article_id,
                   "article_url": article_url, **_attachment_fields(attachment)}


RECORDS = {"articles": article_records, "attachments": attachment_records}


def captures(archive: Archive, selection: Selection, kinds: tuple[str, ...]) -> Iterator[Capture]:
    """The raw captures behind the selected records, each once: with the record that stored
    it (the version that fetched it, not a later one re-extracted from it; the first attachment
    with those bytes, not one found later with the same sha256), so that a since_last target
    is not sent again a capture it has."""
    if "articles" in kinds:
        earlier = aliased(ArticleVersion)
        pages = _versions(Capture).join(Capture, Capture.id == ArticleVersion.capture_id).where(~exists().where(
            earlier.article_id == ArticleVersion.article_id, earlier.capture_id == ArticleVersion.capture_id,
            earlier.id < ArticleVersion.id))
        for batch in _in_batches(archive, lambda after: pages.where(_conditions(selection, "articles", after)).limit(BATCH)):
            for _, capture in batch:
                yield capture
    if "attachments" in kinds:
        earlier = aliased(Attachment)
        files = _attachments(Attachment.capture_id).where(Attachment.capture_id.is_not(None), ~exists().where(
            earlier.sha256 == Attachment.sha256, earlier.capture_id == Attachment.capture_id,
            earlier.id < Attachment.id))
        for batch in _in_batches(archive, lambda after: files.where(_conditions(selection, "attachments", after)).limit(BATCH)):
            for _, capture_id in batch:
                with archive.session() as session:  # one at a time: a file may be tens of megabytes
                    capture = session.get(Capture, capture_id)
                yield capture


def newest_ids(archive: Archive) -> tuple[int, int]:
    """The newest article version's and attachment's ids."""
    with archive.session() as session:
        return (session.scalar(select(func.max(ArticleVersion.id))) or 0,
                session.scalar(select(func.max(Attachment.id))) or 0)


def cursor_of(archive: Archive, name: str) -> int:
    with archive.session() as session:
        cursor = session.get(ExportCursor, name)
        return cursor.last_version_id if cursor else 0


def advance_cursor(archive: Archive, name: str, last_id: int) -> None:
    def work(session):
        cursor = session.get(ExportCursor, name)
        if cursor is None:
            session.add(ExportCursor(name=name, last_version_id=last_id, exported_at=utcnow()))
        else:
            cursor.last_version_id, cursor.exported_at = max(cursor.last_version_id, last_id), utcnow()

    archive._write(work)


# ------------------------------------------------------------------ writers


def _iso(value: date, tz: ZoneInfo) -> str:
    """Times as ISO 8601 with the zone's offset (2026-09-18T11:20:00+08:00), days as YYYY-MM-DD."""
    return value.astimezone(tz).isoformat() if isinstance(value, datetime) else value.isoformat()


def write_jsonl(records: Iterator[dict], out: IO[bytes], tz: ZoneInfo) -> int:
    def encode(value):
        if isinstance(value, date):
            return _iso(value, tz)
        raise TypeError(f"{type(value).__name__} is not JSON")

    count = 0
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False, default=encode).encode("utf-8") + b"\n")
        count += 1
    return count


LIST_SEPARATOR = ";"


def write_csv(records: Iterator[dict], out: IO[bytes], tz: ZoneInfo, kind: str = "articles") -> int:
    """UTF-8 with a BOM (Excel on a Chinese-locale Windows reads it as UTF-8, not GBK); times
    as in JSONL; reporters, photographers and editors joined with ';'; an article's
    attachments left out (they are the attachments export)."""
    def cell(value):
        if isinstance(value, date):
            return _iso(value, tz)
        return LIST_SEPARATOR.join(value) if isinstance(value, list) else value

    fields = ARTICLE_FIELDS if kind == "articles" else ATTACHMENT_FIELDS
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow(fields)
    count = 0
    for record in records:
        writer.writerow([cell(record[name]) for name in fields])
        count += 1
    text.detach()
    return count


def parquet_schema(kind: str, tz_name: str):
    import pyarrow as pa

    timestamp = pa.timestamp("us", tz=tz_name)
    types = {"article_id": pa.int64(), "version": pa.int32(), "story_id": pa.int64(), "attachment_id": pa.int64(),
             "size": pa.int64(), "capture_id": pa.int64(),
             **{people: pa.list_(pa.string()) for people in ("reporters", "photographers", "editors")},
             "written_date": pa.date32(),
             **{name: timestamp for name in TIMES}}

    def fields(names):
        return [pa.field(name, types.get(name, pa.string())) for name in names]

    if kind == "articles":
        columns = [*fields(ARTICLE_FIELDS), pa.field("attachments", pa.list_(pa.struct(fields(ATTACHMENT_OWN_FIELDS))))]
    else:
        columns = fields(ATTACHMENT_FIELDS)
    return pa.schema(columns, metadata={"muniarchive.schema_version": SCHEMA_VERSION, "muniarchive.records": kind})


ROW_GROUP_RECORDS = 10_000
# a row group's text, held until written: as Python strings, their UTF-8 copies (which
# CPython keeps once asked for) and Arrow's, about 12 bytes a character
ROW_GROUP_CHARS = 2 * 2**20


def _text_length(record: dict) -> int:
    return (len(record.get("body") or "") + len(record.get("text") or "")
            + sum(len(attachment["text"] or "") for attachment in record.get("attachments", ())))


def write_parquet(records: Iterator[dict], out: IO[bytes], tz: ZoneInfo, kind: str = "articles") -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = parquet_schema(kind, str(tz))
    count, batch, chars = 0, [], 0
    with pq.ParquetWriter(out, schema, compression="zstd") as writer:
        for record in records:
            batch.append(record)
            chars += _text_length(record)
            if len(batch) == ROW_GROUP_RECORDS or chars >= ROW_GROUP_CHARS:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                count, batch, chars = count + len(batch), [], 0
        if batch or count == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            count += len(batch)
    return count


_HOP_BY_HOP = {"content-encoding", "transfer-encoding", "content-length", "connection"}


def write_warc(captures: Iterator[Capture], out: IO[bytes]) -> int:
    """Each capture as a response record followed by its request record (a resource record
    for imported text), readable by warcio and replayable by pywb. The response's record id
    is <urn:muniarchive:capture:ID>, the capture_id of the records it stands behind."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    writer = WARCWriter(out, gzip=True)
    info = {"software": "muniarchive", "format": "WARC File Format 1.1",
            "muniarchive-schema-version": SCHEMA_VERSION}
    writer.write_record(writer.create_warcinfo_record("muniarchive.warc.gz", info))
    count = 0
    for capture in captures:
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
            stdout.flush()
        return
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    with open(partial, "wb") as handle:
        try:
            yield handle
            handle.flush()  # a full disk shows here, before the rename
        except BaseException:
            handle.close()
            partial.unlink(missing_ok=True)
            raise
    partial.replace(target)


def companion_path(path: str) -> str:
    """Where an export of all records writes the attachments beside `path`:
    archive.csv -> archive.attachments.csv."""
    target = Path(path)
    return str(target.with_name(f"{target.stem}.attachments{target.suffix}"))


def export(archive: Archive, fmt: str, out: str | None, tz_name: str, selection: Selection,
           since_last: str | None = None, what: str | None = None) -> dict[str, int]:
    """Write the selected records in `fmt` to `out` (a path, or stdout); returns how many of
    each kind ({"articles": 35}, or {"captures": 39} for a WARC).

    `what`: articles (the default for the record formats), attachments, or all: in a WARC
    (its default) every capture, pages and files; in the record formats the articles to
    `out` and the attachments to its companion_path.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    what = what or ("all" if fmt == "warc" else "articles")
    if what not in WHATS:
        raise ValueError(f"{what!r} is not one of {', '.join(WHATS)}")
    kinds = KINDS if what == "all" else (what,)
    if fmt != "warc" and len(kinds) > 1 and out in (None, "-"):
        raise ValueError("articles and attachments go to two files: give a path")
    cursors = {"articles": since_last, "attachments": f"{since_last}{ATTACHMENTS_CURSOR}"} if since_last else {}
    if since_last:
        selection.after_version_id = cursor_of(archive, cursors["articles"])
        selection.after_attachment_id = cursor_of(archive, cursors["attachments"])
    # what arrives meanwhile goes next time
    selection.upto_version_id, selection.upto_attachment_id = newest_ids(archive)
    tz = ZoneInfo(tz_name)
    with ExitStack() as outputs:
        if fmt == "warc":
            selection.versions = True  # a WARC keeps the history: every version's capture
            counts = {"captures": write_warc(captures(archive, selection, kinds), outputs.enter_context(_output(out)))}
        else:
            counts = {}
            for kind in kinds:
                handle = outputs.enter_context(_output(out if kind == kinds[0] else companion_path(out)))
                records = RECORDS[kind](archive, selection)
                if fmt == "jsonl":
                    counts[kind] = write_jsonl(records, handle, tz)
                elif fmt == "csv":
                    counts[kind] = write_csv(records, handle, tz, kind)
                else:
                    counts[kind] = write_parquet(records, handle, tz, kind)
    newest = {"articles": selection.upto_version_id, "attachments": selection.upto_attachment_id}
    for kind in kinds if since_last else ():
        advance_cursor(archive, cursors[kind], newest[kind])
    return counts
