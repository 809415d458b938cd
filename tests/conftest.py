"""Fixtures: the sample sites on 127.0.0.1, a config for them, and a real archive (SQLite, or
PostgreSQL with MUNIARCHIVE_TEST_DB=postgresql: tests/postgres.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from archive import Archive
from crawler.config import load_config
from crawler.samplesites import SampleSites

pytest_plugins = ["tests.postgres", "tests.scrapyd"]

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture
def sample_sites():
    with SampleSites() as sites:
        yield sites


@pytest.fixture
def config_path(tmp_path: Path, sample_sites: SampleSites, archive_url: str) -> Path:
    path = tmp_path / "config.yaml"
    document = sample_sites.config(archive_url, retry_times=1, download_timeout=5)
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def config(config_path: Path):
    return load_config(config_path)


@pytest.fixture
def archive(config):
    store = Archive(config.database_url)
    yield store
    store.close()
