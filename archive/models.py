"""The archive's tables (SQLAlchemy 2.0). Schema changes go through archive/migrations."""

from __future__ import annotations

import os
import socket
from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy import text as sql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class AwareDateTime(TypeDecorator):
    """Timezone-aware datetimes on every backend: stored as UTC, read back as UTC-aware.

    SQLite has no time zone type and would hand back naive values otherwise.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the archive stores timezone-aware times only")
        return value.astimezone(UTC).replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Site(Base):
    __tablename__ = "site"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    base_url: Mapped[str] = mapped_column(String(500))
    region: Mapped[str] = mapped_column(String(100), default="")
    config_hash: Mapped[str] = mapped_column(String(32), default="")
    # the site answers the same page on http and https / on dir/ and dir/index.html
    fold_scheme: Mapped[bool] = mapped_column(Boolean, default=False)
    fold_index: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)


# the statuses of a run that fetched the site: for the scheduler's retries, `crawl`'s exit
# status, a site's last success and its failures in a row, both are a success
SUCCEEDED = ("succeeded", "succeeded_with_warnings")


class CrawlRun(Base):
    __tablename__ = "crawl_run"
    # one site, one run: a second run's row cannot be `running` (it is recorded `skipped`).
    # The runs still going (every command reconciles them) and each site's first success (plan
    # detection's baseline) are read from ix_crawl_run_status_site, not from every run of every
    # night; a site's last success (`status`) from its runs newest-finished first
    __table_args__ = (Index("ix_crawl_run_one_running", "site_id", unique=True,
                            sqlite_where=sql("status = 'running'"), postgresql_where=sql("status = 'running'")),
                      Index("ix_crawl_run_status_site", "status", "site_id"),
                      Index("ix_crawl_run_site_finished", "site_id", "finished_at"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    # running | succeeded | succeeded_with_warnings | failed | interrupted | timed_out | skipped
    # (skipped: not started, another run of the site was going; `error` says which)
    # (with warnings: fetched, but the run's health checks say the site's config looks wrong;
    # `error` holds the reasons)
    status: Mapped[str] = mapped_column(String(40), default="running")
    exit_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    stats: Mapped[dict] = mapped_column(JSON, default=dict)
    log_path: Mapped[str | None] = mapped_column(String(500))
    pid: Mapped[int | None] = mapped_column(Integer)
    # what started it: manual (`muniarchive crawl`, the demo), schedule, or retry (of a failed scheduled run)
    trigger: Mapped[str] = mapped_column(String(20), default="manual")
    # the machine and process that made the row and watch it (the runner, or a crawl run alone):
    # a run still `running` when both it and `pid` are gone was killed (scheduler.runner.reconcile_runs)
    host: Mapped[str | None] = mapped_column(String(200), default=lambda: socket.gethostname())
    owner_pid: Mapped[int | None] = mapped_column(Integer, default=lambda: os.getpid())


class CrawlLog(Base):
    """A run's log, kept in the archive so that every machine sharing it can read it (the file
    is on the disk of the machine that ran the crawl). A long log keeps its end: `size` is the
    whole log's, in bytes."""

    __tablename__ = "crawl_log"
    run_id: Mapped[int] = mapped_column(ForeignKey("crawl_run.id"), primary_key=True, autoincrement=False)
    text_zlib: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    stored_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)


class Capture(Base):
    """One HTTP response as received: the source for reprocessing and WARC export."""

    __tablename__ = "capture"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_run.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    fetched_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    http_status: Mapped[int] = mapped_column(Integer)
    headers: Mapped[dict] = mapped_column(JSON, default=dict)
    declared_encoding: Mapped[dict] = mapped_column(JSON, default=dict)
    encoding: Mapped[str | None] = mapped_column(String(40))
    encoding_step: Mapped[str | None] = mapped_column(String(20))
    body_zlib: Mapped[bytes] = mapped_column(LargeBinary)
    body_size: Mapped[int] = mapped_column(Integer)
    content_digest: Mapped[str] = mapped_column(String(64))


class Article(Base):
    __tablename__ = "article"
    # each index serves a command: listings newest first (all sites, one site), `status`'s
    # articles of the last days and a crawl's revisits (site, first seen), `show`/`history`
    # by URL whatever the site
    __table_args__ = (UniqueConstraint("site_id", "canonical_url"), Index("ix_article_publish_time", "publish_time"),
                      Index("ix_article_site_publish_time", "site_id", "publish_time"),
                      Index("ix_article_site_first_seen", "site_id", "first_seen"),
                      Index("ix_article_canonical_url", "canonical_url"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    url: Mapped[str] = mapped_column(Text)
    canonical_url: Mapped[str] = mapped_column(String(1000))
    title: Mapped[str | None] = mapped_column(Text)
    original_title: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    publish_time: Mapped[datetime | None] = mapped_column(AwareDateTime)
    publish_time_precision: Mapped[str | None] = mapped_column(String(10))
    publish_time_origin: Mapped[str | None] = mapped_column(String(20))
    source: Mapped[str | None] = mapped_column(Text)
    reporters: Mapped[list] = mapped_column(JSON, default=list)
    photographers: Mapped[list] = mapped_column(JSON, default=list)
    editors: Mapped[list] = mapped_column(JSON, default=list)
    quality: Mapped[dict] = mapped_column(JSON, default=dict)
    # compared with a new version's when the article is read by URL: looked up by nothing
    content_hash: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    capture_id: Mapped[int | None] = mapped_column(ForeignKey("capture.id"))
    first_seen: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    modified: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    # sha256 of the normalised (simplified, punctuation-free) body: exact duplicates
    text_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    # the story cluster: this article and its reprints (other URLs, other sites)
    story_id: Mapped[int | None] = mapped_column(ForeignKey("story.id"), index=True)
    # a government document's 信息公开 fields (crawler/extract/govfields.py); 文号 is looked up
    index_number: Mapped[str | None] = mapped_column(Text)
    issuing_organ: Mapped[str | None] = mapped_column(Text)
    document_number: Mapped[str | None] = mapped_column(String(200), index=True)
    written_date: Mapped[date | None] = mapped_column(Date)
    subject: Mapped[str | None] = mapped_column(Text)
    validity: Mapped[str | None] = mapped_column(String(50))


class Story(Base):
    """Articles that carry the same text: reprints, duplicates under other URLs."""

    __tablename__ = "story"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)


class ArticleFingerprint(Base):
    """An article's MinHash signature (archive/dedup.py), compared with LSH candidates."""

    __tablename__ = "article_fingerprint"
    article_id: Mapped[int] = mapped_column(ForeignKey("article.id"), primary_key=True)
    signature: Mapped[bytes] = mapped_column(LargeBinary)


class LshBand(Base):
    """The LSH index in the database: one row per article and band, looked up by key. The
    cost of a lookup depends on how many articles share a key, not on how many are stored."""

    __tablename__ = "lsh_band"
    __table_args__ = ({"sqlite_with_rowid": False},)
    key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # no index of its own: an article's bands are found by the keys of its stored signature
    # (archive/index.py); it would take as much room as the bands (articles are never deleted)
    article_id: Mapped[int] = mapped_column(ForeignKey("article.id"), primary_key=True)


class IndexQueue(Base):
    """An article a crawl stored and has not indexed yet (see Archive.index_backlog): the
    crawl indexes after its fetching is done, so that indexing does not slow the fetching."""

    __tablename__ = "index_queue"
    article_id: Mapped[int] = mapped_column(ForeignKey("article.id"), primary_key=True, autoincrement=False)
    # the article was new when queued: nothing of it is indexed yet to be replaced
    fresh: Mapped[bool] = mapped_column(Boolean)
    # the MinHash signature its extraction made (None: too little text to fingerprint)
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)


class ArticleVersion(Base):
    """Every distinct content an article has had; the article row mirrors the newest.

    The body is stored once: the current version's is the article row's (its `body` here is
    NULL), and it moves here when a newer version supersedes it (see version_body).
    """

    __tablename__ = "article_version"
    __table_args__ = (UniqueConstraint("article_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("article.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(Text)
    original_title: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    publish_time: Mapped[datetime | None] = mapped_column(AwareDateTime)
    publish_time_precision: Mapped[str | None] = mapped_column(String(10))
    source: Mapped[str | None] = mapped_column(Text)
    reporters: Mapped[list] = mapped_column(JSON, default=list)
    photographers: Mapped[list] = mapped_column(JSON, default=list)
    editors: Mapped[list] = mapped_column(JSON, default=list)
    capture_id: Mapped[int | None] = mapped_column(ForeignKey("capture.id"))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(String(20), default="crawl")
    index_number: Mapped[str | None] = mapped_column(Text)
    issuing_organ: Mapped[str | None] = mapped_column(Text)
    document_number: Mapped[str | None] = mapped_column(String(200))
    written_date: Mapped[date | None] = mapped_column(Date)
    subject: Mapped[str | None] = mapped_column(Text)
    validity: Mapped[str | None] = mapped_column(String(50))


def version_body(version: ArticleVersion, article: Article) -> str | None:
    """A version's body: its own, or the article's while it is the current version."""
    return article.body if version.version == article.version else version.body


class Attachment(Base):
    __tablename__ = "attachment"
    __table_args__ = (UniqueConstraint("site_id", "canonical_url"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    article_id: Mapped[int | None] = mapped_column(ForeignKey("article.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    canonical_url: Mapped[str] = mapped_column(String(1000))
    file_name: Mapped[str | None] = mapped_column(Text)
    link_text: Mapped[str | None] = mapped_column(Text)
    file_type: Mapped[str | None] = mapped_column(String(20))
    size: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    capture_id: Mapped[int | None] = mapped_column(ForeignKey("capture.id"))
    # fetched | failed | too_large
    status: Mapped[str] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(Text)
    first_seen: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    # PDF and DOCX text (crawler/extract/documents.py); text_note says why there is none
    text: Mapped[str | None] = mapped_column(Text)
    text_note: Mapped[str | None] = mapped_column(Text)


class FailedUrl(Base):
    """An article or attachment URL whose fetch failed: `dead` when the failure is permanent
    (404/410, robots.txt, an off-site redirect) or a transient one (5xx, timeout, reset) came
    back on every one of its attempts; else `retrying`, tried again by the first run after
    `next_attempt_at`. Either way it does not make a run incomplete, and a list page showing
    it does not count it as new. The row goes when a later fetch succeeds."""

    __tablename__ = "failed_url"
    # `show URL` looks a URL up whatever its site
    __table_args__ = (UniqueConstraint("site_id", "kind", "canonical_url"),
                      Index("ix_failed_url_canonical_url", "canonical_url"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    kind: Mapped[str] = mapped_column(String(20))  # article | attachment
    url: Mapped[str] = mapped_column(Text)
    canonical_url: Mapped[str] = mapped_column(String(1000))
    state: Mapped[str] = mapped_column(String(20))  # retrying | dead
    reason: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    first_seen: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_run.id"), index=True)
    # an attachment: the page that links it, and the link's text (what a retry stores with it)
    article_url: Mapped[str | None] = mapped_column(Text)
    link_text: Mapped[str | None] = mapped_column(Text)


class SchedulerLease(Base):
    """Who runs the scheduler on this archive: one row while a scheduler lives, kept fresh
    by its heartbeat. A second scheduler on the same job store would run every crawl twice."""

    __tablename__ = "scheduler_lease"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)


class AlertIncident(Base):
    """Something wrong with a site, open until a run shows it fixed. One alert when it opens
    and one when it closes, however many runs it lasts."""

    __tablename__ = "alert_incident"
    # a site's open incidents (closed_at NULL) without reading the closed ones of every year
    __table_args__ = (Index("ix_alert_incident_site_closed", "site_id", "closed_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    # failed | empty | extraction | missed | misconfigured
    kind: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_run.id"))
    opened_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    notified_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    closed_by_run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_run.id"))
    recovery_notified_at: Mapped[datetime | None] = mapped_column(AwareDateTime)


class ExportCursor(Base):
    """How far a named export target has read: the newest article_version it was sent."""

    __tablename__ = "export_cursor"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_version_id: Mapped[int] = mapped_column(Integer, default=0)
    exported_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)


class PlanRelease(Base):
    """A plan document at one stage in one region (crawler/plans): new the first time that
    plan + stage + region appears, updated when the document that announced it changes."""

    __tablename__ = "plan_release"
    __table_args__ = (UniqueConstraint("region", "plan_key", "stage"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region: Mapped[str] = mapped_column(String(100))
    plan_key: Mapped[str] = mapped_column(String(300))  # period|topic
    plan_name: Mapped[str] = mapped_column(Text)
    period: Mapped[str] = mapped_column(String(20))
    topic: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))  # general | special
    stage: Mapped[str] = mapped_column(String(20))
    stage_label: Mapped[str] = mapped_column(String(20))
    # the document that announced it: an article, or an attachment (then article_id is its page)
    title: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("article.id"))
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachment.id"))
    published_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    first_seen: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    text_hash: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    # first seen in the quiet baseline (archive/plans.py): known, never announced
    baseline: Mapped[bool] = mapped_column(Boolean, default=False)
    # handed to the alert targets (set without sending when none are configured, so adding a
    # target later does not replay the archive's history); cleared when the text changes
    notified_at: Mapped[datetime | None] = mapped_column(AwareDateTime)
    # shown by `muniarchive plans --new`
    listed_at: Mapped[datetime | None] = mapped_column(AwareDateTime)


class PlanWatch(Base):
    """How far plan detection has read: one row. Detection resumes from here after a crash."""

    __tablename__ = "plan_watch"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_version_id: Mapped[int] = mapped_column(Integer, default=0)
    last_attachment_id: Mapped[int] = mapped_column(Integer, default=0)


class AlertDelivery(Base):
    """One notification handed to one alert target: a target that was down is sent what it
    missed at the next run, and the others are not sent it again."""

    __tablename__ = "alert_delivery"
    # what was sent: incident:<id>:opened, incident:<id>:recovered, plan_release:<id>:v<version>
    subject: Mapped[str] = mapped_column(String(100), primary_key=True)
    # the target: a digest of its URL (the URL itself holds secrets)
    target: Mapped[str] = mapped_column(String(64), primary_key=True)
    delivered_at: Mapped[datetime] = mapped_column(AwareDateTime, default=utcnow)
