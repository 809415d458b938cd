"""The archive database: models, migrations and the store."""

from archive.db import ArchiveError
from archive.store import Archive, ArticleData, CaptureData, canonical

__all__ = ["Archive", "ArchiveError", "ArticleData", "CaptureData", "canonical"]
