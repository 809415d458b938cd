"""What the spider hands to the pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from crawler.workers import WorkerFault

if TYPE_CHECKING:  # the extraction worker imports describe_exception: no SQLAlchemy there
    from archive import ArticleData, CaptureData

# how many failed URLs and extraction errors a run's stats list (all are counted)
MAX_RECORDED_FAILURES = 200

# exceptions whose message is empty (str() == ""): what they mean, for the run's errors
QUIET_FAULTS = {
    "DownloadCancelledError": "download cancelled (over the size limit, or the crawl was stopping)",
    "CancelledError": "download cancelled (over the size limit, or the crawl was stopping)",
    "ResponseDataLossError": "the connection closed before the whole body arrived (truncated response)",
    "ConnectionLost": "the connection was lost",
    "DownloadTimeoutError": "no answer within the download timeout",
    "TimeoutError": "no answer within the download timeout",
}


def describe_exception(exc: BaseException, message: str | None = None) -> str:
    """`Class: message`, never empty: an exception without a message says what it means.
    A page the extraction worker failed on has the worker's own description."""
    if isinstance(exc, WorkerFault):
        return exc.description
    name = type(exc).__name__
    message = (str(exc) if message is None else message).strip()
    if not message:
        doc = (type(exc).__doc__ or "").strip().splitlines()
        message = QUIET_FAULTS.get(name) or (doc[0] if doc else "no message")
    return f"{name}: {message}"


@dataclass
class ArticleItem:
    capture: CaptureData
    article: ArticleData
    extraction_failed: bool
    clears_failure: str | None = None  # a failed URL this fetch of it made good (archive.FailedUrl)


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
    clears_failure: str | None = None


@dataclass
class FailedUrlItem:
    """A fetch that failed, remembered (archive.FailedUrl): dead, or to be tried by a later run."""

    kind: str  # article | attachment
    url: str
    reason: str
    permanent: bool  # 404/410, robots.txt, an off-site redirect: no retry
    article_url: str | None = None
    link_text: str | None = None


def failed_article(error: str) -> ArticleData:
    """The record of a page whose extraction raised: no fields, the error in its quality;
    `muniarchive reprocess` tries it again from the stored capture."""
    from archive import ArticleData

    return ArticleData(title=None, body=None, quality={"extraction_error": error})
