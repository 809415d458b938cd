"""Engine set-up and schema migration. SQLite runs in WAL mode with a busy timeout so
crawls, exports and the CLI can share one archive file."""

from __future__ import annotations

import fcntl
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, SQLAlchemyError

from archive.masking import mask_url

WRITER_CACHE_KIB = 128 * 1024
# a new archive's page size (an existing one keeps the size it was made with)
PAGE_SIZE = 8192
BUSY_TIMEOUT_MS = 30_000


class ArchiveError(Exception):
    """The archive cannot be used; str() is the one-line message for the user."""


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def create_archive_engine(url: str, cache_kib: int = WRITER_CACHE_KIB) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ArchiveError(f"archive URL {mask_url(url)!r} is not a database URL (e.g. sqlite:///data/muniarchive.db)") from None
    path = sqlite_path(url)
    if path is not None:
        if not path.parent.is_dir():  # a mistyped path: not a new empty archive somewhere
            raise ArchiveError(f"archive {path}: the folder {path.parent} does not exist "
                               "(create it, or correct archive.url / $MUNIARCHIVE_DB)")
        engine = create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            # Rows of one to three KB (an article, a compressed page) fill 4 KB pages badly:
            # 8 KB ones take ~0.3 KB an article less (benchmarks/archive.py). Only an empty
            # file takes it, so it comes before WAL mode, which writes the file's header.
            cursor.execute(f"PRAGMA page_size={PAGE_SIZE}")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # The LSH band index takes 32 rows per article at random keys; with SQLite's 2 MB
            # default cache each insert past ~100k articles reads its leaf pages back from the
            # OS, and the per-article cost creeps up. 128 MiB keeps the inner pages resident.
            # (A reader that streams through the archive once, like export, passes less.)
            cursor.execute(f"PRAGMA cache_size=-{cache_kib}")
            cursor.close()

        return engine
    return create_engine(parsed, pool_pre_ping=True)


def _alembic_config():
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(resources.files("archive") / "migrations"))
    return config


# pg_advisory_lock's key for migrating: any fixed number, the same in every process
MIGRATION_LOCK_KEY = 0x6D756E69  # "muni"


@contextmanager
def _migration_lock(engine: Engine):
    """Two processes opening a new archive at once must not both create its tables: a file lock
    beside a SQLite archive, a session-level advisory lock on PostgreSQL (held on a connection
    of its own until the migration is done; released by the server if the process dies)."""
    path = sqlite_path(str(engine.url))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})")
            try:
                yield
            finally:
                connection.exec_driver_sql(f"SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})")
        return
    if path is None:
        yield
        return
    with open(f"{path}.migrate.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def newest_revision() -> str:
    """The head revision, from the migration files' names (NNNN_name.py, chained in that
    order): what head_revision() says, without importing Alembic (tests hold them equal)."""
    versions = resources.files("archive") / "migrations" / "versions"
    return max(name.split("_", 1)[0] for name in (entry.name for entry in versions.iterdir())
               if name.endswith(".py") and name[:4].isdigit())


def stored_revision(engine: Engine) -> str | None:
    """The archive's schema revision, read with plain SQL (None: no schema yet)."""
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:  # no such table: a new archive
        return None


def check_revision(engine: Engine) -> None:
    """For a process that must not migrate (a crawl on a Scrapyd node): the archive is at the
    newest revision, or an ArchiveError says what to run. Neither Alembic nor the migrations
    are imported (the migration files' names are read from the package, inside an egg too)."""
    url = mask_url(str(engine.url))
    try:
        with engine.connect() as connection:
            stored = (connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
                      if inspect(connection).has_table("alembic_version") else None)
    except SQLAlchemyError as exc:
        raise ArchiveError(f"archive {url}: {getattr(exc, 'orig', None) or str(exc).splitlines()[0]}") from None
    newest = newest_revision()
    if stored is None:
        raise ArchiveError(f"archive {url} has no tables yet: run `muniarchive migrate` first")
    if stored > newest:
        raise ArchiveError(f"archive {url} is at revision {stored}, newer than this muniarchive's newest "
                           f"({newest}): upgrade muniarchive on this machine")
    if stored != newest:
        raise ArchiveError(f"archive {url} is at revision {stored}, not the newest ({newest}): "
                           "run `muniarchive migrate` first")


def pending_revisions(engine: Engine) -> list[str]:
    """The migrations the archive still lacks, oldest first (empty at head). An archive whose
    revision this code does not know (made by a newer muniarchive) is one clear line."""
    from alembic.script import ScriptDirectory
    from alembic.script.revision import RevisionError

    script = ScriptDirectory.from_config(_alembic_config())
    current = current_revision(engine)
    try:
        return [r.revision for r in reversed(list(script.iterate_revisions("head", current)))]
    except RevisionError:  # a revision it has no file for
        raise ArchiveError(f"archive {mask_url(str(engine.url))} is at revision {current}, which this "
                           f"muniarchive does not know (its newest is {script.get_current_head()}): "
                           "upgrade muniarchive") from None


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (a no-op when it is there already).

    An archive at the newest revision is recognised with one query and without Alembic, so
    that a crawl process (one per site, thousands a night) never imports the migrations."""
    url = mask_url(str(engine.url))
    try:
        if stored_revision(engine) == newest_revision():
            return
        from alembic import command

        with _migration_lock(engine):
            if current_revision(engine) == head_revision():
                return
            config = _alembic_config()
            sqlite = engine.dialect.name == "sqlite"
            with engine.connect() as connection:
                # SQLite alters a table by copying it: foreign keys must be off while the old
                # one is dropped (they cannot change inside a transaction), and checked after
                if sqlite:
                    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                    connection.commit()
                with connection.begin():
                    config.attributes["connection"] = connection
                    command.upgrade(config, "head")
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                    connection.commit()
                    if broken:
                        raise ArchiveError(f"archive {url}: after migrating, {len(broken)} rows point at rows "
                                           f"that do not exist (first: {tuple(broken[0])})")
    except OperationalError as exc:
        raise ArchiveError(f"archive {url}: {exc.orig}") from None
    except OSError as exc:
        raise ArchiveError(f"archive {url}: {exc.strerror or exc}") from None
    except SQLAlchemyError as exc:
        raise ArchiveError(f"archive {url}: {str(exc).splitlines()[0]}") from None

