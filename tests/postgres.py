"""A real PostgreSQL server for the tests, and the one switch that puts the archive tests on it.

MUNIARCHIVE_TEST_DB=postgresql runs every test that takes `archive_url` (and the `config`
and `archive` fixtures built on it) against PostgreSQL; the default is SQLite. The server is
Debian's `postgresql` package (apt-get install postgresql), started once per test session on
a free port on 127.0.0.1 in a temporary folder and stopped at the end; each test gets a new
empty database. MUNIARCHIVE_TEST_PG=postgresql+psycopg://user@host:port/ uses a server
that is already running instead (its user must be allowed to create databases).
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

BACKEND = os.environ.get("MUNIARCHIVE_TEST_DB", "sqlite").lower()
if BACKEND not in ("sqlite", "postgresql"):
    raise pytest.UsageError(f"MUNIARCHIVE_TEST_DB={BACKEND!r}: use sqlite or postgresql")
TEMPLATE = "muniarchive_template"
SQLITE_ONLY = pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite only: about the archive file itself")


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))  # Debian keeps them off PATH
    initdb = found[-1] if found else shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """A throwaway cluster: trust authentication on 127.0.0.1, durability off (test data)."""

    def __init__(self, bin_dir: Path):
        self.bin_dir = bin_dir
        self.folder = Path(tempfile.mkdtemp(prefix="muniarchive-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        # initdb refuses to run as root: the cluster then belongs to the postgres user
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.folder, "postgres")

    def _run(self, *args: str) -> None:
        result = subprocess.run([*self.as_user, *args], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {result.stderr.strip() or result.stdout.strip()}")

    def start(self) -> URL:
        self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--locale=C.UTF-8")
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.folder} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "server.log"),
                  "-o", options, "-w", "start")
        return make_url(f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres")

    def stop(self) -> None:
        try:
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server():
    """The URL of a PostgreSQL server's maintenance database, with an empty template database
    that has pg_trgm (creating an extension needs a superuser, as a deployment's DBA would)."""
    server = None
    if given := os.environ.get("MUNIARCHIVE_TEST_PG"):
        url = make_url(given)
    else:
        bin_dir = _binaries()
        if bin_dir is None:
            reason = "PostgreSQL is not installed (apt-get install postgresql)"
            if BACKEND == "postgresql":
                pytest.fail(f"MUNIARCHIVE_TEST_DB=postgresql: {reason}")
            pytest.skip(reason)
        server = Server(bin_dir)
        url = server.start()
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {TEMPLATE}"))
        connection.execute(text(f"CREATE DATABASE {TEMPLATE}"))
    template = create_engine(url.set(database=TEMPLATE))
    with template.begin() as connection:
        connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    template.dispose()
    yield admin
    admin.dispose()
    if server is not None:
        server.stop()


_numbers = itertools.count()


@pytest.fixture
def postgres_url(postgres_server):
    """A new empty PostgreSQL database for this test; dropped after it."""
    name = f"test_{os.getpid()}_{next(_numbers)}"
    with postgres_server.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
    yield postgres_server.url.set(database=name).render_as_string(hide_password=False)
    with postgres_server.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture
def archive_url(request, tmp_path):
    """Where this test's archive lives: a new SQLite file, or a new PostgreSQL database under
    MUNIARCHIVE_TEST_DB=postgresql."""
    if BACKEND == "postgresql":
        return request.getfixturevalue("postgres_url")
    return f"sqlite:///{tmp_path / 'archive.db'}"
