"""A whole archive copied to another database: SQLite to PostgreSQL, back, or SQLite to SQLite
(`muniarchive copy`); and the SQLite snapshot `serve` browses a PostgreSQL archive through.

Every table of the schema is copied with its primary keys, in foreign-key order, each in
primary-key order, a batch per transaction (one executemany). The engines' own search tables
(SQLite's FTS5 article_fts, PostgreSQL's article_search) are not copied: each batch of articles
gets its search rows on the target from archive.index, in the batch's transaction, so a copy
stopped anywhere holds search rows for exactly the articles it holds. Stopped and started
again, a copy goes on in each table after the last key the target holds.

Rows are read and written through the models' column types, so times (stored UTC), JSON and
bytes come out alike from both engines and can be compared: the copy ends by checking each
table's row count and a checksum of its rows in key order (string keys in byte order on both:
COLLATE "C" on PostgreSQL, SQLite's default). The source is read in one transaction (a
snapshot on PostgreSQL, REPEATABLE READ), so a copy of a live archive is of one moment.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache

from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    event,
    func,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from archive.db import (
    ArchiveError,
    create_archive_engine,
    migrate,
    newest_revision,
    sqlite_path,
    stored_revision,
)
from archive.index import index_search
from archive.masking import mask_url
from archive.models import Article, Base, IndexQueue

BATCH = 1000
# made on the target by its own indexing step, never copied (FTS5's shadow tables share the prefix)
SEARCH_TABLES = ("article_fts", "article_search")
NOT_COPIED = ("alembic_version",)
# progress lines within a long table: at most one per this many seconds
PROGRESS_SECONDS = 2.0


@dataclass
class TableCopy:
    table: str
    source_rows: int = 0
    target_rows: int = 0
    copied: int = 0  # by this run; the rest were there from an earlier, stopped one
    source_checksum: str | None = None
    target_checksum: str | None = None

    @property
    def matches(self) -> bool:
        return self.source_rows == self.target_rows and self.source_checksum == self.target_checksum


@dataclass
class CopyReport:
    source: str
    target: str
    revision: str
    tables: list[TableCopy] = field(default_factory=list)
    verified: bool = False

    @property
    def mismatched(self) -> list[TableCopy]:
        return [table for table in self.tables if not table.matches] if self.verified else []

    def as_dict(self) -> dict:
        return {"from": self.source, "to": self.target, "revision": self.revision, "verified": self.verified,
                "identical": self.verified and not self.mismatched, "tables": [asdict(t) for t in self.tables]}


def _normal(value):
    """A value as both engines give it back: times UTC ISO 8601, bytes hex, JSON sorted."""
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    if isinstance(value, Decimal):
        return str(value)
    return value


def _row_text(row) -> str:
    return json.dumps([_normal(value) for value in row], ensure_ascii=False, default=str)


def _keys(table: Table, dialect: str) -> list:
    """The primary key's columns in an order both engines agree on: strings byte by byte."""
    return [column.collate("C") if dialect == "postgresql" and isinstance(column.type, String) else column
            for column in table.primary_key.columns]


def _after(table: Table, dialect: str, last: tuple | None):
    if last is None:
        return true()
    keys = _keys(table, dialect)
    return keys[0] > last[0] if len(keys) == 1 else tuple_(*keys) > tuple_(*last)


def _at(table: Table, key: tuple):
    return and_(*(column == value for column, value in zip(table.primary_key.columns, key, strict=True)))


def _key_of(table: Table, row) -> tuple:
    return tuple(row._mapping[column.name] for column in table.primary_key.columns)


def _batches(connection: Connection, table: Table, last: tuple | None, size: int) -> Iterator[list]:
    """The table's rows after `last` in key order, `size` at a time (keyset paging: each batch
    is one indexed range read, however far into the table)."""
    dialect = connection.dialect.name
    query = select(table).order_by(*_keys(table, dialect)).limit(size)
    while rows := connection.execute(query.where(_after(table, dialect, last))).all():
        yield rows
        if len(rows) < size:
            return
        last = _key_of(table, rows[-1])


def _last_key(connection: Connection, table: Table) -> tuple | None:
    keys = _keys(table, connection.dialect.name)
    row = connection.execute(select(*table.primary_key.columns).order_by(*(k.desc() for k in keys)).limit(1)).first()
    return tuple(row) if row is not None else None


def _count(connection: Connection, table: Table, where=None) -> int:
    query = select(func.count()).select_from(table)
    return connection.execute(query if where is None else query.where(where)).scalar_one()


def checksum(connection: Connection, table: Table, size: int = BATCH) -> tuple[int, str]:
    """(rows, sha256 of the rows' normalised values in key order)."""
    digest, rows = hashlib.sha256(), 0
    for batch in _batches(connection, table, None, size):
        for row in batch:
            digest.update(_row_text(row).encode() + b"\n")
        rows += len(batch)
    return rows, digest.hexdigest()


@cache
def _seed_rows() -> dict[str, list[str]]:
    """The rows a new archive's migrations write (plan_watch's one row), by table: a table
    holding just these holds nothing of an archive yet."""
    engine = create_archive_engine("sqlite://")
    try:
        migrate(engine)
        with engine.connect() as connection:
            seeds = {table.name: [_row_text(row) for row in connection.execute(select(table))]
                     for table in Base.metadata.sorted_tables}
    finally:
        engine.dispose()
    return {name: rows for name, rows in seeds.items() if rows}


def _tables(source: Connection, target: Connection, skip: tuple[str, ...]) -> list[tuple[Table, Table]]:
    """(as read from the source, as written to the target) for every table to copy, in
    foreign-key order: the models' tables, and those only migrations know (APScheduler's)."""
    def copied(name: str, _metadata=None) -> bool:
        return not name.startswith(SEARCH_TABLES) and name not in NOT_COPIED

    reflected = {}
    for side, connection in (("source", source), ("target", target)):
        metadata = MetaData()
        metadata.reflect(connection, only=copied)
        reflected[side] = metadata
    missing = set(reflected["target"].tables) ^ set(reflected["source"].tables)
    if missing:
        raise ArchiveError(f"the source and the target differ in their tables ({', '.join(sorted(missing))}) "
                           "though at the same revision")
    return [(Base.metadata.tables.get(table.name, reflected["source"].tables[table.name]),
             Base.metadata.tables.get(table.name, table)) for table in reflected["target"].sorted_tables
            if table.name not in skip]


def _resume_point(source: Connection, target: Connection, read: Table, written: Table) -> tuple[int, tuple | None]:
    """(rows the target already holds, the last key among them) when they are the source's
    first rows, as a stopped copy leaves them; (0, None) when the target holds only what its
    migrations wrote. Anything else is another archive: refused before anything is written."""
    held = _count(target, written)
    if not held:
        return 0, None
    seeds = _seed_rows().get(written.name)
    if seeds and held == len(seeds) and [_row_text(r) for r in target.execute(select(written))] == seeds:
        return 0, None
    last = _last_key(target, written)
    dialect = source.dialect.name
    theirs = source.execute(select(read).where(_at(read, last))).first()
    ours = target.execute(select(written).where(_at(written, last))).first()
    if (theirs is None or _row_text(theirs) != _row_text(ours)
            or _count(source, read, ~_after(read, dialect, last)) != held):
        raise ArchiveError(f"the target holds another archive: its table {written.name} has {held} rows that are "
                           "not the source's (copy into an empty database, or into an earlier copy of this one)")
    return held, last


def _writer(table: Table, dialect: str, replace: bool):
    """The insert for a batch; `replace`: over the rows a new archive's migrations wrote."""
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    if not replace:
        return statement
    keys = [column.name for column in table.primary_key.columns]
    others = {column.name: statement.excluded[column.name] for column in table.columns if not column.primary_key}
    return statement.on_conflict_do_update(index_elements=keys, set_=others) if others \
        else statement.on_conflict_do_nothing()


def _copy_table(source: Connection, target_engine: Engine, read: Table, written: Table, start: tuple[int, tuple | None],
                *, batch: int, search: bool, progress: Callable[[str], None]) -> TableCopy:
    held, last = start
    result = TableCopy(written.name, target_rows=held)
    dialect = target_engine.dialect.name
    insert = _writer(written, dialect, replace=not held and written.name in _seed_rows())
    names = [column.name for column in read.columns]
    if held:
        progress(f"{written.name}: {held} rows there from an earlier copy, going on after {last}")
    shown = time.monotonic()
    for rows in _batches(source, read, last, batch):
        params = [dict(zip(names, row, strict=True)) for row in rows]
        with target_engine.begin() as target:
            target.execute(insert, params)
            if search and written.name == Article.__tablename__:
                ids = [row.id for row in rows]
                # an article a crawl queued is indexed by the next index_backlog, on the target too
                queued = set(source.scalars(select(IndexQueue.article_id).where(IndexQueue.article_id.in_(ids))))
                index_search(target, [(row.id, row.title, row.body) for row in rows if row.id not in queued])
        result.copied += len(rows)
        result.target_rows += len(rows)
        if time.monotonic() - shown >= PROGRESS_SECONDS:
            progress(f"{written.name}: {result.target_rows} rows so far")
            shown = time.monotonic()
    progress(f"{written.name}: {result.target_rows} rows ({result.copied} copied now)")
    return result


def _set_sequences(target: Connection, tables: list[Table]) -> None:
    """PostgreSQL hands out ids from sequences the copy's explicit keys did not move: set past
    the largest id, so the next row stored gets a new one."""
    for table in tables:
        keys = list(table.primary_key.columns)
        if len(keys) == 1 and isinstance(keys[0].type, Integer):
            target.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', '{keys[0].name}'), "
                f"COALESCE(MAX(\"{keys[0].name}\"), 0) + 1, false) FROM \"{table.name}\"")


def _same_database(source_url: str, target_url: str) -> bool:
    paths = sqlite_path(source_url), sqlite_path(target_url)
    if paths[0] is not None and paths[1] is not None:
        return paths[0].resolve() == paths[1].resolve()
    return source_url == target_url


def _connected(url: str, what: str) -> Engine:
    """An engine on `url` whose server answers (a server down or a wrong password is said as
    such, not taken for a database without an archive)."""
    engine = create_archive_engine(url)
    try:
        engine.connect().close()
    except OperationalError as exc:
        engine.dispose()
        raise ArchiveError(f"{what} {mask_url(url)}: {str(exc.orig).strip().splitlines()[0]}") from None
    return engine


def _open_source(url: str) -> Engine:
    path = sqlite_path(url)
    if path is not None and not path.is_file():
        raise ArchiveError(f"source archive {path}: no such file")
    engine = _connected(url, "source archive")
    revision, newest = stored_revision(engine), newest_revision()
    if revision != newest:
        engine.dispose()
        state = f"at revision {revision}" if revision else "not an archive (no schema)"
        raise ArchiveError(f"source archive {mask_url(url)} is {state}, not at the newest ({newest}): "
                           "run `muniarchive migrate` on it first")
    return engine


def _open_target(url: str, revision: str, foreign_keys: bool) -> Engine:
    engine = _connected(url, "target")
    if not foreign_keys and engine.dialect.name == "sqlite":  # a partial copy: rows point at tables left out
        event.listen(engine, "connect", lambda connection, _record: connection.execute("PRAGMA foreign_keys=OFF"))
    held = stored_revision(engine)
    if held not in (None, revision):
        engine.dispose()
        raise ArchiveError(f"target {mask_url(url)} holds an archive at revision {held}: copy into an empty "
                           "database, or into an earlier copy of this archive")
    migrate(engine)
    engine.dispose()  # migrating turned foreign keys back on in the connection it pooled
    return engine


def copy_archive(source_url: str, target_url: str, *, batch: int = BATCH, verify: bool = True,
                 skip: tuple[str, ...] = (), search: bool = True,
                 progress: Callable[[str], None] = lambda line: None) -> CopyReport:
    """Copy the archive at source_url into target_url (created and migrated when new; an
    earlier copy stopped part way is continued). `skip`: tables left empty (a snapshot's);
    `search`: make the target's search rows. Progress lines go to `progress`."""
    if _same_database(source_url, target_url):
        raise ArchiveError(f"{mask_url(source_url)}: the source and the target are the same database")
    source_engine = _open_source(source_url)
    report = CopyReport(mask_url(source_url), mask_url(target_url), newest_revision())
    target_engine = None
    table = "the schema"
    try:
        target_engine = _open_target(target_url, report.revision, foreign_keys=not skip)
        # one consistent view of the source for the whole copy: a snapshot on PostgreSQL; on
        # SQLite one read transaction (the driver would run each SELECT in one of its own)
        with source_engine.connect() as source:
            if source_engine.dialect.name == "postgresql":
                source = source.execution_options(isolation_level="REPEATABLE READ")
            else:
                source.exec_driver_sql("BEGIN")
            with target_engine.connect() as target:
                tables = _tables(source, target, skip)
                # every table checked before anything is written: another archive is left as it was
                starts = []
                for read, written in tables:
                    table = written.name
                    starts.append(_resume_point(source, target, read, written))
            for (read, written), start in zip(tables, starts, strict=True):
                table = written.name
                report.tables.append(_copy_table(source, target_engine, read, written, start, batch=batch,
                                                 search=search, progress=progress))
            table = "the sequences"
            if target_engine.dialect.name == "postgresql":
                with target_engine.begin() as target:
                    _set_sequences(target, [written for _, written in tables])
            if verify:
                for (read, written), result in zip(tables, report.tables, strict=True):
                    table = written.name
                    result.source_rows, result.source_checksum = checksum(source, read, batch)
                    with target_engine.connect() as target:
                        result.target_rows, result.target_checksum = checksum(target, written, batch)
                    progress(f"{table}: {'verified' if result.matches else 'DIFFERS'}")
                report.verified = True
    except SQLAlchemyError as exc:
        message = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise ArchiveError(f"copy to {mask_url(target_url)}, {table}: {message}") from None
    finally:
        source_engine.dispose()
        if target_engine is not None:
            target_engine.dispose()
    return report
