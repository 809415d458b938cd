"""What the spider hands to the pipeline."""

from __future__ import annotations

from dataclasses import dataclass

from archive import ArticleData, CaptureData


@dataclass
class ArticleItem:
    capture: CaptureData
    article: ArticleData
    extraction_failed: bool


@dataclass
class AttachmentItem:
    url: str
    article_url: str | None
    link_text: str | None
    capture: CaptureData | None  # None when the download failed
    status: str  # fetched | failed | too_large
    error: str | None = None
    file_name: str | None = None
    file_type: str | None = None
    text: str | None = None  # PDF/DOCX text
    text_note: str | None = None  # "extracted", or why there is no text
