"""Plan releases in the archive: detection over what is new since the last scan, and reads.

`scan_plans` runs after every crawl (scheduler/runner.py), import and reprocess. It reads
the article versions and attachments stored since its last scan (the `plan_watch` row),
classifies each with the detector its caller passes (the crawler's plan rules: this package
imports nothing of the crawler), and records releases: new the first time a region's
plan + stage appears, updated when the document that announced it gets a new version. The
scan and its cursor commit together, so a crash means the next scan reads them again.

The quiet baseline: a release first seen in what the archive held before it watched a site
(the site's first crawl, up to its first successful run, and anything imported) is recorded
as `baseline`: known, listed by `releases`, never announced (alerts, `plans --new`), not
even when its document changes later. With `baseline_days`, the publication date decides
instead: a release published more than that many days before it was first seen is baseline
whichever crawl finds it, one published within them is announced even from a first crawl.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Text, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from archive.models import (
    Article,
    ArticleVersion,
    Attachment,
    Capture,
    CrawlRun,
    PlanRelease,
    PlanWatch,
    Site,
    utcnow,
)
from archive.store import Archive

# words a plan document's title holds, in both scripts: the SQL filter before the rules
TITLE_WORDS = ("规划", "規劃", "纲要", "綱要", "远景目标", "遠景目標")
# how much of a body the detector is given: its title block, a few short lines
HEAD_CHARS = 400


@dataclass(frozen=True)
class PlanChange:
    release_id: int
    change: str  # new | updated
    title: str


# (title, *, text=None, region="") -> the plan release the document announces (stage, plan_key,
# plan_name, period, topic, kind, stage_label) or None
PlanDetector = Callable[..., Any]


def scan_plans(archive: Archive, detect_plan: PlanDetector, *, baseline_days: int | None = None) -> list[PlanChange]:
    def work(session: Session) -> list[PlanChange]:
        # a write first, so two scans finishing at once queue for the lock instead of both
        # reading the same cursor
        session.execute(update(PlanWatch).where(PlanWatch.id == 1)
                        .values(last_version_id=PlanWatch.last_version_id))
        watch = session.get(PlanWatch, 1)
        now = utcnow()
        first_success = dict(session.execute(select(CrawlRun.site_id, func.min(CrawlRun.id))
                                             .where(CrawlRun.status == "succeeded").group_by(CrawlRun.site_id)).all())

        def in_baseline(site_id: int, run_id: int | None, published_at: datetime | None) -> bool:
            if baseline_days is not None and published_at is not None:
                return published_at < now - timedelta(days=baseline_days)
            # stored before the site's first successful crawl ended, or not by a crawl at all
            return run_id is None or first_success.get(site_id) is None or run_id <= first_success[site_id]

        changes: list[PlanChange] = []
        head = func.substr(func.coalesce(ArticleVersion.body, Article.body), 1, HEAD_CHARS, type_=Text)
        versions = session.execute(
            select(ArticleVersion.id, ArticleVersion.article_id, ArticleVersion.title, ArticleVersion.content_hash,
                   ArticleVersion.publish_time, head.label("head"), Capture.run_id, Article.url, Article.site_id,
                   Site.region)
            .join(Article, Article.id == ArticleVersion.article_id).join(Site, Site.id == Article.site_id)
            .outerjoin(Capture, Capture.id == ArticleVersion.capture_id)
            .where(ArticleVersion.id > watch.last_version_id,
                   or_(*(column.contains(word) for word in TITLE_WORDS for column in (ArticleVersion.title, head))))
            .order_by(ArticleVersion.id)).all()
        for row in versions:
            if match := detect_plan(row.title, text=row.head, region=row.region):
                changes += _record(session, match, row.region, row.site_id, row.title, row.url, row.publish_time,
                                   row.content_hash, in_baseline(row.site_id, row.run_id, row.publish_time),
                                   article_id=row.article_id)
        page = aliased(Capture)  # a file that was not downloaded (too large) goes by its page's crawl
        attachments = session.execute(
            select(Attachment.id, Attachment.article_id, Attachment.link_text, Attachment.file_name,
                   Attachment.text, Attachment.url, Attachment.site_id, Attachment.sha256, Site.region,
                   Article.publish_time, func.coalesce(Capture.run_id, page.run_id).label("run_id"))
            .join(Site, Site.id == Attachment.site_id).outerjoin(Article, Article.id == Attachment.article_id)
            .outerjoin(Capture, Capture.id == Attachment.capture_id).outerjoin(page, page.id == Article.capture_id)
            .where(Attachment.id > watch.last_attachment_id).order_by(Attachment.id)).all()
        for row in attachments:
            title = row.link_text or row.file_name or ""
            if match := detect_plan(title, text=row.text, region=row.region):
                changes += _record(session, match, row.region, row.site_id, title, row.url, row.publish_time,
                                   row.sha256 or hashlib.sha256((row.text or "").encode()).hexdigest(),
                                   in_baseline(row.site_id, row.run_id, row.publish_time),
                                   article_id=row.article_id, attachment_id=row.id)
        # every version read (most had no plan word in their title), as of this transaction
        watch.last_version_id = session.scalar(select(func.max(ArticleVersion.id))) or watch.last_version_id
        watch.last_attachment_id = max([watch.last_attachment_id, *(row.id for row in attachments)])
        return changes

    return archive._write_retrying(work)


def _record(session: Session, match: Any, region: str, site_id: int, title: str, url: str,
            published_at: datetime | None, text_hash: str, baseline: bool, *, article_id: int | None,
            attachment_id: int | None = None) -> list[PlanChange]:
    release = session.scalar(select(PlanRelease).where(
        PlanRelease.region == region, PlanRelease.plan_key == match.plan_key, PlanRelease.stage == match.stage))
    if release is None:
        release = PlanRelease(
            region=region, plan_key=match.plan_key, plan_name=match.plan_name, period=match.period,
            topic=match.topic, kind=match.kind, stage=match.stage, stage_label=match.stage_label, title=title,
            url=url, site_id=site_id, article_id=article_id, attachment_id=attachment_id,
            published_at=published_at, first_seen=utcnow(), text_hash=text_hash, version=1, baseline=baseline)
        session.add(release)
        session.flush()
        return [PlanChange(release.id, "new", title)]
    # attachments are never versioned: only the article that announced a release can change it
    same_article = attachment_id is None and release.attachment_id is None and release.article_id == article_id
    if not same_article or release.text_hash == text_hash:
        return []  # another copy of a known release (its PDF, a re-post), or nothing changed
    release.text_hash, release.title, release.version = text_hash, title, release.version + 1
    release.updated_at, release.notified_at = utcnow(), None
    if published_at is not None:
        release.published_at = published_at
    return [PlanChange(release.id, "updated", title)]


def releases(archive: Archive, *, region: str | None = None, since: datetime | None = None,
             not_yet: str | None = None) -> list[PlanRelease]:
    """Plan releases, newest publication first. `since` compares the publication date, or
    when the archive first saw a release whose publication date is unknown. `not_yet`:
    only those to announce (not baseline) whose `notified_at` or `listed_at` is unset (see mark)."""
    query = select(PlanRelease)
    if region:
        query = query.where(PlanRelease.region.contains(region))
    if since is not None:
        query = query.where(or_(PlanRelease.published_at >= since,
                                PlanRelease.published_at.is_(None) & (PlanRelease.first_seen >= since)))
    if not_yet:
        query = query.where(getattr(PlanRelease, not_yet).is_(None), PlanRelease.baseline.is_(False))
    with archive.session() as session:
        return list(session.scalars(query.order_by(PlanRelease.published_at.desc().nulls_last(),
                                                   PlanRelease.id.desc())))


def mark(archive: Archive, release_ids: list[int], field: str) -> None:
    """Set notified_at or listed_at of these releases to now."""
    if release_ids:
        archive._write(lambda session: session.execute(
            update(PlanRelease).where(PlanRelease.id.in_(release_ids)).values({field: utcnow()})))


def release_record(release: PlanRelease) -> dict:
    """A release as a plain record (`muniarchive plans --json`, the demo's JSON)."""
    return {
        "id": release.id, "region": release.region, "plan_name": release.plan_name, "period": release.period,
        "topic": release.topic, "kind": release.kind, "stage": release.stage, "stage_label": release.stage_label,
        "title": release.title, "url": release.url, "published_at": release.published_at,
        "first_seen": release.first_seen, "updated_at": release.updated_at, "version": release.version,
        "baseline": release.baseline, "document": "attachment" if release.attachment_id else "article",
    }


def release_urn(release: PlanRelease) -> str:
    """Stable across archives: the same release crawled into another archive keeps its id."""
    identity = f"{release.region}|{release.plan_key}|{release.stage}".encode()
    return f"urn:muniarchive:plan-release:{hashlib.sha1(identity).hexdigest()}"


def write_feed(items: list[PlanRelease], path: Path, *, tz: str, title: str = "muniarchive: plan releases") -> None:
    """An Atom feed of these releases (feedgen), written atomically: a feed reader polling the
    file never sees half of it."""
    from feedgen.feed import FeedGenerator

    zone = ZoneInfo(tz)
    feed = FeedGenerator()
    feed.id("urn:muniarchive:plan-releases")
    feed.title(title)
    feed.link(href="https://github.com/muniarchive/muniarchive", rel="related")
    feed.language("zh-CN")
    feed.updated(max((r.updated_at or r.first_seen for r in items), default=utcnow()).astimezone(zone))
    for release in reversed(items):  # feedgen puts the last added entry first
        entry = feed.add_entry()
        entry.id(release_urn(release))
        entry.title(f"{release.plan_name}（{release.stage_label}）")
        entry.link(href=release.url)
        entry.published((release.published_at or release.first_seen).astimezone(zone))
        entry.updated((release.updated_at or release.first_seen).astimezone(zone))
        entry.category(term=release.stage, label=release.stage_label)
        entry.category(term=release.period or "-", label=release.period or "无期限")
        entry.summary(f"{release.region} · {release.title}")
    partial = path.with_name(path.name + ".partial")
    feed.atom_file(str(partial), pretty=True)
    partial.replace(path)
