"""Extraction without fetching: re-running extract/clean over stored captures (`muniarchive
reprocess`) and archiving legacy text dumps (`muniarchive import-text`), with the same
code and per-site options the crawl uses.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from archive import Archive, ArticleData, CaptureData
from archive.dedup import fingerprint as fingerprint_of
from archive.models import Article, Capture, Site
from archive.store import NEW, UNCHANGED, UPDATED
from crawler.config import Config, SiteConfig
from crawler.extract import ExtractOptions, extract_article, extract_from_text
from crawler.extract.article import Article as Extracted
from crawler.extraction_worker import article_fields, flag_truncated, options_of
from crawler.settings import EXTRACT_MAX_BYTES
from crawler.workers import parsed_part, site_options


def extract_options(site: SiteConfig, collect_links: bool = False) -> ExtractOptions:
    return options_of(site_options(site, collect_links))


def article_data(extracted: Extracted, fingerprint=None, text=None) -> ArticleData:
    return ArticleData(**article_fields(extracted, fingerprint, text))


@dataclass
class Tally:
    counts: dict[str, int] = field(default_factory=lambda: {NEW: 0, UPDATED: 0, UNCHANGED: 0, "duplicate": 0,
                                                             "failed": 0})
    failures: list[str] = field(default_factory=list)


def reprocess(config: Config, archive: Archive, site_keys: list[str],
              progress: Callable[[int], None] = lambda n: None) -> dict[str, Tally]:
    """Extract every stored article of these sites again from its capture, with the current
    rules; a changed result becomes a new version with reason `reprocess`. Nothing is fetched."""
    results = {}
    for key in site_keys:
        site = config.site(key)
        site_id = archive.ensure_site(**site.archive_fields())
        options = extract_options(site)
        tally = results[key] = Tally()
        for url, stored_body, capture in _captures(archive, site_id):
            content_type = capture.headers.get("Content-Type") or capture.headers.get("content-type") or ""
            page_options = replace(options, fetched_at=capture.fetched_at)  # relative dates: as when fetched
            try:
                body = zlib.decompress(capture.body_zlib)
                if content_type.startswith("text/plain"):  # an imported text dump
                    extracted = extract_from_text(body.decode("utf-8-sig"), url, page_options)
                else:  # a huge page: its first part, as the crawl parsed it
                    parsed = parsed_part(body, EXTRACT_MAX_BYTES)
                    extracted = extract_article(parsed, url, content_type, page_options)
                    flag_truncated(extracted, len(parsed), len(body))
            except Exception as exc:  # one bad capture must not stop the others
                tally.counts["failed"] += 1
                tally.failures.append(f"{url}: {exc}")
                continue
            if extracted.body is None and stored_body:  # the current rules lose the text: keep what is stored
                tally.counts["failed"] += 1
                tally.failures.append(f"{url}: no body with the current rules; the stored version is kept")
                continue
            outcome = archive.store_article(site_id, None, None, article_data(extracted), reason="reprocess", url=url,
                                            capture_id=capture.id)
            tally.counts[outcome] += 1
            progress(1)
    return results


def _captures(archive: Archive, site_id: int, batch: int = 200) -> Iterator[tuple[str, str | None, Capture]]:
    """(URL, stored body, capture of the current version) of the site's articles, in batches:
    memory stays flat however large the archive."""
    last_id = 0
    while True:
        with archive.session() as session:
            rows = session.execute(select(Article.id, Article.url, Article.body, Capture)
                                   .join(Capture, Capture.id == Article.capture_id)
                                   .where(Article.site_id == site_id, Article.id > last_id)
                                   .order_by(Article.id).limit(batch)).all()
        if not rows:
            return
        for _, url, body, capture in rows:
            yield url, body, capture
        last_id = rows[-1][0]


def count_articles(archive: Archive, site_keys: list[str]) -> int:
    with archive.session() as session:
        return session.scalar(select(func.count()).select_from(Article).join(Site).where(Site.key.in_(site_keys)))


def import_text(config: Config, archive: Archive, folder: Path, site_key: str,
                progress: Callable[[int], None] = lambda n: None) -> Tally:
    """Clean and archive every .txt dump under `folder` as articles of `site_key`. A dump whose
    text the archive already holds (any site, any URL) is counted as a duplicate, not stored."""
    site = config.site(site_key)
    site_id = archive.ensure_site(**site.archive_fields())
    options = extract_options(site)
    tally = Tally()
    for path in sorted(folder.rglob("*.txt")):
        raw = path.read_bytes()
        url = path.resolve().as_uri()
        fetched_at = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            tally.counts["failed"] += 1
            tally.failures.append(f"{path}: not UTF-8 text")
            continue
        extracted = extract_from_text(text, url, replace(options, fetched_at=fetched_at))
        fingerprint = fingerprint_of(extracted.body)
        if fingerprint is not None and archive.holds_text(fingerprint.text_hash, except_url=url, site_id=site_id):
            tally.counts["duplicate"] += 1
            progress(1)
            continue
        capture = CaptureData(url=url, http_status=0, headers={"Content-Type": "text/plain; charset=utf-8",
                                                               "X-Imported-From": str(path)},
                              body=raw, fetched_at=fetched_at, encoding="utf-8", encoding_step="import")
        outcome = archive.store_article(site_id, None, capture, article_data(extracted, fingerprint), reason="import")
        tally.counts[outcome] += 1
        progress(1)
    return tally
