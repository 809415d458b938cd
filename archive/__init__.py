"""The archive database: models, migrations and the store.

Names are loaded on first use, so that `archive.dedup` (pure functions, imported by the
crawl's extraction worker) does not bring SQLAlchemy into that process.
"""

from importlib import import_module

__all__ = ["Archive", "ArchiveError", "ArticleData", "CaptureData", "RunGoing", "canonical"]
_WHERE = {"Archive": "archive.store", "ArticleData": "archive.store", "CaptureData": "archive.store",
          "ArchiveError": "archive.db", "RunGoing": "archive.store", "canonical": "archive.urls"}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'archive' has no attribute {name!r}")
