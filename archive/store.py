"""The archive: idempotent, versioned writes of captures, articles and attachments.

Each article (capture + article + version rows) is written in one transaction, so a crawl
killed part way leaves either the whole record or nothing. The unique constraints on
(site, canonical URL) are the dedup authority: two writers racing on one URL end up with
one row.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, delete, func, literal_column, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from archive.db import WRITER_CACHE_KIB, ArchiveError, create_archive_engine, migrate
from archive.dedup import Fingerprint, band_keys, fingerprint
from archive.index import index_article, merge_search_segments, unindex_text
from archive.masking import mask_url
from archive.models import (
    Article,
    ArticleVersion,
    Attachment,
    AwareDateTime,
    Capture,
    CrawlLog,
    CrawlRun,
    FailedUrl,
    IndexQueue,
    PlanWatch,
    SchedulerLease,
    Site,
    utcnow,
)
from archive.urls import canonical
from textnorm import SearchText

NEW, UPDATED, UNCHANGED = "new", "updated", "unchanged"
# a run's log in the archive keeps its last 4 MiB: the end says how a run ended; a crawl
# logging more than that (a debug log level) keeps the whole on its machine's disk
RUN_LOG_KEEP_BYTES = 4 * 1024 * 1024
RETRYING, DEAD = "retrying", "dead"

# a government document's 信息公开 fields: on the article and on each version
DOCUMENT_FIELDS = ("index_number", "issuing_organ", "document_number", "written_date", "subject", "validity")
_ARTICLE_FIELDS = ("title", "body", "publish_time", "publish_time_precision", "publish_time_origin", "source",
                   "reporters", "photographers", "editors", "original_title", "quality", *DOCUMENT_FIELDS)
_article = Article.__table__
_INSERT_CAPTURE = Capture.__table__.insert()
_INSERT_ARTICLE = _article.insert()
_INSERT_VERSION = ArticleVersion.__table__.insert()
# an article written twice before it is indexed stays fresh if it was, with its newest signature
_QUEUE_INDEX = text("INSERT INTO index_queue (article_id, fresh, signature) VALUES (:article_id, :fresh, :signature) "
                    "ON CONFLICT (article_id) DO UPDATE SET signature = excluded.signature")
_LOCK_QUEUE = text("UPDATE index_queue SET fresh = fresh WHERE 1 = 0")
_SET_TEXT_HASH = text("UPDATE article SET text_hash = :text_hash WHERE id = :article_id")
_FIND_ARTICLE = select(_article.c.id, _article.c.content_hash, _article.c.version, _article.c.title,
                       _article.c.body).where(
    _article.c.site_id == bindparam("site_id"), _article.c.canonical_url == bindparam("canonical_url"))
# a version's text is kept in the article row while it is the current one (stored once):
# when a newer one comes, the text it had moves into its own version row
_KEEP_SUPERSEDED_BODY = text("UPDATE article_version SET body = :old_body "
                             "WHERE article_id = :article_id AND version = :old_version")
_QUEUED = text("SELECT 1 FROM index_queue WHERE article_id = :article_id")
_TOUCH_ARTICLE = _article.update().where(_article.c.id == bindparam("article_id")).values(
    last_seen=bindparam("last_seen"))
_UPDATE_ARTICLE = _article.update().where(_article.c.id == bindparam("article_id")).values(
    {name: bindparam(name) for name in (*_ARTICLE_FIELDS, "content_hash", "capture_id", "last_seen", "modified",
                                        "version")})


# the database's clock: every scheduler of an archive reads one time, whatever its machine's says
_DATABASE_NOW = literal_column("CURRENT_TIMESTAMP", AwareDateTime)


def _on_local_clock(row) -> SchedulerLease:
    """A lease row read with the database's now(), its times moved onto this machine's clock (a
    detached copy: nothing is written back)."""
    shift = utcnow() - row.now
    return SchedulerLease(name=row.name, holder=row.holder, host=row.host, pid=row.pid,
                          started_at=row.started_at + shift, heartbeat_at=row.heartbeat_at + shift)


def content_hash(title: str | None, body: str | None) -> str:
    text = re.sub(r"\s+", " ", f"{title or ''}\n{body or ''}").strip()
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class CaptureData:
    """An HTTP response as received, before it is stored."""

    url: str
    http_status: int
    headers: dict[str, str]
    body: bytes
    fetched_at: datetime
    declared_encoding: dict[str, str] = field(default_factory=dict)
    encoding: str | None = None
    encoding_step: str | None = None

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


@dataclass
class ArticleData:
    """Extracted fields of one article (see crawler.extract.Article.as_record)."""

    title: str | None
    body: str | None
    publish_time: datetime | None = None
    publish_time_precision: str | None = None
    publish_time_origin: str | None = None
    source: str | None = None
    reporters: list[str] = field(default_factory=list)
    photographers: list[str] = field(default_factory=list)
    editors: list[str] = field(default_factory=list)
    original_title: str | None = None
    quality: dict = field(default_factory=dict)
    index_number: str | None = None
    issuing_organ: str | None = None
    document_number: str | None = None
    written_date: date | None = None
    subject: str | None = None
    validity: str | None = None
    # computed where the text was extracted (the crawl's worker process), else by the store
    fingerprint: Fingerprint | None = None
    search_text: SearchText | None = None


class RunGoing(ArchiveError):
    """A run could not start: another run of its site is going. It was recorded `skipped`
    (run `skipped_run_id`); str() is the one-line reason."""

    def __init__(self, reason: str, skipped_run_id: int):
        super().__init__(reason)
        self.skipped_run_id = skipped_run_id


class Archive:
    def __init__(self, url: str, *, upgrade: bool = True, cache_kib: int = WRITER_CACHE_KIB):
        self.url = url
        self.engine = create_archive_engine(url, cache_kib)
        if upgrade:
            migrate(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._folding: dict[int, tuple[bool, bool]] = {}
        # a crawl sets this: articles are queued for indexing (index_backlog) instead of
        # indexed as they are written
        self.defer_index = False

    def close(self) -> None:
        self.engine.dispose()

    def session(self) -> Session:
        return self.sessions()

    def _write(self, work):
        """Run work(session) in one transaction; a full disk or a lock becomes one clear line."""
        try:
            with self.sessions.begin() as session:
                return work(session)
        except OperationalError as exc:
            raise ArchiveError(f"archive {mask_url(self.url)}: {exc.orig}") from None

    def _write_retrying(self, work):
        try:
            return self._write(work)
        except IntegrityError:  # a concurrent writer stored the same URL first: now it is an existing row
            return self._write(work)

    def write_all(self, works: list) -> list:
        """Several writes in one transaction: one commit instead of many when a crawl is busy.

        Each record is still all or nothing. If one collides with a concurrent writer, the
        batch is rolled back and every write is retried in a transaction of its own.
        """
        try:
            return self._write(lambda session: [work(session) for work in works])
        except IntegrityError:
            return [self._write_retrying(work) for work in works]

    # ---------------------------------------------------------------- sites and runs

    def ensure_site(self, key: str, name: str, base_url: str, region: str = "", config_hash: str = "", *,
                    fold_scheme: bool = False, fold_index: bool = False) -> int:
        def work(session: Session) -> int:
            site = session.scalar(select(Site).where(Site.key == key))
            if site is None:
                site = Site(key=key, name=name, base_url=base_url, region=region, config_hash=config_hash)
                session.add(site)
            site.name, site.base_url, site.region, site.config_hash = name, base_url, region, config_hash
            site.fold_scheme, site.fold_index = fold_scheme, fold_index
            session.flush()
            return site.id

        try:
            site_id = self._write(work)
        except IntegrityError:  # another process created it first
            site_id = self._write(work)
        self._folding.pop(site_id, None)
        return site_id

    def canonical(self, site_id: int, url: str) -> str:
        """The key `url` is stored under on this site (its URL folding settings applied)."""
        if site_id not in self._folding:
            with self.session() as session:
                row = session.execute(select(Site.fold_scheme, Site.fold_index).where(Site.id == site_id)).first()
            self._folding[site_id] = (bool(row.fold_scheme), bool(row.fold_index)) if row else (False, False)
        fold_scheme, fold_index = self._folding[site_id]
        return canonical(url, fold_scheme=fold_scheme, fold_index=fold_index)

    def site_id(self, key: str) -> int | None:
        with self.session() as session:
            return session.scalar(select(Site.id).where(Site.key == key))

    def start_run(self, site_id: int, pid: int | None = None, log_path: str | None = None,
                  trigger: str = "manual", *, reconcile: Callable[[], object] | None = None) -> int:
        """A new `running` run of the site; its id. While another run of the site is going
        (any machine, any trigger) this one is recorded `skipped` instead and RunGoing raised.
        `reconcile` is called first when a run is found going, to record runs of dead
        processes interrupted (scheduler.runner.reconcile_runs), so that a killed crawl does
        not block its site."""
        def work(session: Session) -> int:
            run = CrawlRun(site_id=site_id, status="running", stats={}, pid=pid, log_path=log_path, trigger=trigger)
            session.add(run)
            session.flush()
            return run.id

        for last_try in (reconcile is None, True):
            try:
                return self._write(work)
            except IntegrityError:  # the one-running-run-per-site index: a run of the site is going
                if last_try:
                    break
                reconcile()
        with self.session() as session:
            going, key = session.execute(select(CrawlRun, Site.key).join(Site).where(
                CrawlRun.site_id == site_id, CrawlRun.status == "running")).first() or (None, None)
        if going is None:  # it ended meanwhile
            return self._write(work)
        reason = (f"{key}: run {going.id} of this site is going ({going.trigger}, pid {going.owner_pid or going.pid} "
                  f"on {going.host or 'an unknown host'}, since {going.started_at:%Y-%m-%d %H:%M:%S} UTC); "
                  "this run is skipped")

        def skipped(session: Session) -> int:
            run = CrawlRun(site_id=site_id, status="skipped", stats={}, pid=pid, log_path=log_path, trigger=trigger,
                           finished_at=utcnow(), error=reason)
            session.add(run)
            session.flush()
            return run.id

        raise RunGoing(reason, self._write(skipped))

    def update_run(self, run_id: int, *, while_running: bool = False, **fields) -> None:
        """Set fields of a run; with `while_running`, only if it is still running (a crawl's
        stats so far must not overwrite its outcome)."""
        def work(session: Session) -> None:
            run = session.get(CrawlRun, run_id)
            if run is None:
                raise ArchiveError(f"archive {mask_url(self.url)}: no crawl run {run_id}")
            if while_running and run.status != "running":
                return
            for key, value in fields.items():
                setattr(run, key, value)

        self._write(work)

    def get_run(self, run_id: int) -> CrawlRun | None:
        with self.session() as session:
            return session.get(CrawlRun, run_id)

    def store_run_log(self, run_id: int, text: str) -> None:
        """Keep the run's log in the archive (replacing what was stored for it), so that every
        machine sharing the archive can read it. A log longer than RUN_LOG_KEEP_BYTES keeps its
        end, from a line's start, under a first line saying what was cut."""
        data = text.encode("utf-8", errors="replace")
        size = len(data)
        if size > RUN_LOG_KEEP_BYTES:
            tail = data[-RUN_LOG_KEEP_BYTES:]
            tail = tail[tail.find(b"\n") + 1:]
            data = (f"[muniarchive: log cut, the first {size - len(tail)} of its {size} bytes are not kept "
                    "in the archive]\n").encode() + tail
        row = {"text_zlib": zlib.compress(data, 6), "size": size, "stored_at": utcnow()}

        def work(session: Session) -> None:
            session.execute(delete(CrawlLog).where(CrawlLog.run_id == run_id))
            session.add(CrawlLog(run_id=run_id, **row))

        self._write_retrying(work)

    def run_log(self, run_id: int) -> str | None:
        """The run's log as stored by store_run_log; None when none was."""
        with self.session() as session:
            stored = session.scalar(select(CrawlLog.text_zlib).where(CrawlLog.run_id == run_id))
        return None if stored is None else zlib.decompress(stored).decode("utf-8", errors="replace")

    def previous_run(self, site_id: int, before_run: int) -> CrawlRun | None:
        """The site's last run before `before_run` that ended: not one still going, nor one skipped."""
        with self.session() as session:
            return session.scalar(select(CrawlRun).where(CrawlRun.site_id == site_id, CrawlRun.id < before_run,
                                                         CrawlRun.status.not_in(("running", "skipped")))
                                  .order_by(CrawlRun.id.desc()).limit(1))

    def last_run_seconds(self, site_key: str) -> float | None:
        """How long the site's last run that ran to an outcome took; None if it has none (the
        scheduler runs the longest first among runs due at once, so the night ends sooner)."""
        with self.session() as session:
            row = session.execute(select(CrawlRun.started_at, CrawlRun.finished_at).join(Site).where(
                Site.key == site_key, CrawlRun.finished_at.is_not(None),
                CrawlRun.status.not_in(("running", "skipped", "interrupted")))
                .order_by(CrawlRun.id.desc()).limit(1)).first()
        return (row.finished_at - row.started_at).total_seconds() if row else None

    # ---------------------------------------------------------------- the scheduler's lease

    def acquire_lease(self, name: str, holder: str, host: str, pid: int,
                      stale: Callable[[SchedulerLease], bool]) -> SchedulerLease | None:
        """Take the lease `name`; returns None when taken, else the row of its live holder.
        A row that `stale` judges dead (no heartbeat, process gone) is taken over.

        Times are the database's, so schedulers on machines whose clocks differ agree on a
        lease's age: `stale` is shown the row with its times moved onto this machine's clock.
        Taking over is a compare-and-set on the holder it saw: of two schedulers taking over
        one stale lease at once, the second's UPDATE matches no row."""
        lease_table = SchedulerLease.__table__
        with self.engine.connect() as connection:
            row = connection.execute(select(*lease_table.c, _DATABASE_NOW.label("now"))
                                     .where(lease_table.c.name == name)).first()
        if row is not None:
            seen = _on_local_clock(row)
            if not stale(seen):
                return seen
        values = {"holder": holder, "host": host, "pid": pid, "started_at": _DATABASE_NOW,
                  "heartbeat_at": _DATABASE_NOW}
        try:
            with self.engine.begin() as connection:
                if row is None:
                    connection.execute(lease_table.insert().values(name=name, **values))
                    return None
                taken = connection.execute(lease_table.update().values(**values).where(
                    lease_table.c.name == name, lease_table.c.holder == row.holder)).rowcount
                if taken == 1:
                    return None
        except IntegrityError:  # another scheduler inserted the row first
            pass
        except OperationalError as exc:
            raise ArchiveError(f"archive {mask_url(self.url)}: {exc.orig}") from None
        with self.engine.connect() as connection:  # another took it first: that one holds it
            row = connection.execute(select(*lease_table.c, _DATABASE_NOW.label("now"))
                                     .where(lease_table.c.name == name)).first()
        return _on_local_clock(row) if row is not None else self.acquire_lease(name, holder, host, pid, stale)

    def renew_lease(self, name: str, holder: str) -> bool:
        """The holder's heartbeat, on the database's clock; False when the lease is no longer its own."""
        lease_table = SchedulerLease.__table__

        def work(session: Session) -> bool:
            return session.execute(lease_table.update().values(heartbeat_at=_DATABASE_NOW).where(
                lease_table.c.name == name, lease_table.c.holder == holder)).rowcount == 1

        return self._write(work)

    def release_lease(self, name: str, holder: str) -> None:
        def work(session: Session) -> None:
            lease = session.get(SchedulerLease, name)
            if lease is not None and lease.holder == holder:
                session.delete(lease)

        self._write(work)

    # ---------------------------------------------------------------- lookups

    def known_urls(self, site_id: int, urls: Iterable[str], kind: str = "article") -> set[str]:
        """Which of these URLs (compared canonically) the archive already holds."""
        model = Article if kind == "article" else Attachment
        return set(self._lookup(site_id, urls, model.canonical_url, model.site_id == site_id))

    def failing_urls(self, site_id: int, urls: Iterable[str], kind: str = "article") -> dict[str, tuple[str, str]]:
        """Of these URLs, those whose fetch failed before (dead, or waiting for a retry): {url: (state, reason)}."""
        return self._lookup(site_id, urls, FailedUrl.canonical_url, FailedUrl.site_id == site_id,
                            FailedUrl.kind == kind, columns=(FailedUrl.state, FailedUrl.reason))

    def _lookup(self, site_id: int, urls: Iterable[str], key_column, *where, columns=()) -> dict:
        """{url: (columns…)} of the rows whose `key_column` holds one of these URLs' canonical forms."""
        by_canonical = {self.canonical(site_id, u): u for u in urls}
        keys = list(by_canonical)
        found: dict = {}
        with self.session() as session:
            for start in range(0, len(keys), 500):
                rows = session.execute(select(key_column, *columns).where(*where,
                                                                          key_column.in_(keys[start:start + 500])))
                found.update((by_canonical[row[0]], tuple(row[1:])) for row in rows)
        return found

    def recent_articles(self, site_id: int, days: int) -> list[tuple[str, dict]]:
        """(URL, {etag, last_modified} of its last capture) of the site's articles first archived
        in the last `days` days: what a crawl revisits."""
        since = utcnow() - timedelta(days=days)
        with self.session() as session:
            rows = session.execute(select(Article.url, Capture.headers)
                                   .outerjoin(Capture, Capture.id == Article.capture_id)
                                   .where(Article.site_id == site_id, Article.first_seen >= since)).all()
        out = []
        for url, headers in rows:
            lower = {k.lower(): v for k, v in (headers or {}).items()}
            out.append((url, {"etag": lower.get("etag"), "last_modified": lower.get("last-modified")}))
        return out

    # ---------------------------------------------------------------- writes

    def _add_capture(self, session: Session, site_id: int, run_id: int | None, capture: CaptureData) -> int:
        return session.connection().execute(_INSERT_CAPTURE, dict(
            site_id=site_id, run_id=run_id, url=capture.url, fetched_at=capture.fetched_at,
            http_status=capture.http_status, headers=capture.headers,
            declared_encoding=capture.declared_encoding, encoding=capture.encoding,
            encoding_step=capture.encoding_step, body_zlib=zlib.compress(capture.body, 6),
            body_size=len(capture.body), content_digest=capture.digest,
        )).inserted_primary_key[0]

    def store_article(self, site_id: int, run_id: int | None, capture: CaptureData | None, data: ArticleData,
                      **options) -> str:
        """Insert or version an article; returns new, updated or unchanged (see article_write)."""
        return self._write_retrying(self.article_write(site_id, run_id, capture, data, **options))

    def holds_text(self, text_hash: str, *, except_url: str, site_id: int) -> bool:
        """Whether an article other than the one stored under `except_url` has this normalised text."""
        with self.session() as session:
            return session.scalar(select(Article.id).where(
                Article.text_hash == text_hash,
                ~((Article.site_id == site_id) & (Article.canonical_url == self.canonical(site_id, except_url))))
                .limit(1)) is not None

    def article_write(self, site_id: int, run_id: int | None, capture: CaptureData | None, data: ArticleData, *,
                      reason: str = "crawl", url: str | None = None, capture_id: int | None = None):
        """The write of one article, as a function of a session (see write_all).

        A crawl passes the capture just fetched. Reprocessing passes no capture but the id of
        the stored one it re-read, and the reason `reprocess` (or `import` for text dumps).

        Constant Core statements with separate parameters rather than the ORM: this runs once
        per crawled page, and building statements per call cost more than the page's extraction.
        """
        url = url or capture.url
        url_key = self.canonical(site_id, url)
        digest = content_hash(data.title, data.body)

        def work(session: Session) -> str:
            connection = session.connection()
            existing = connection.execute(_FIND_ARTICLE, {"site_id": site_id, "canonical_url": url_key}).first()
            now = utcnow()
            if existing is not None and existing.content_hash == digest:
                if reason == "crawl":  # last_seen: when the site last served it
                    connection.execute(_TOUCH_ARTICLE, {"article_id": existing.id, "last_seen": now})
                return UNCHANGED
            stored_capture = capture_id if capture is None else self._add_capture(session, site_id, run_id, capture)
            fields = {name: getattr(data, name) for name in _ARTICLE_FIELDS}
            fields.update(content_hash=digest, capture_id=stored_capture, last_seen=now, modified=now)
            fp = data.fingerprint or fingerprint(data.body)
            if existing is None:
                version = 1
                article_id = connection.execute(_INSERT_ARTICLE, dict(
                    site_id=site_id, url=url, canonical_url=url_key, version=version, first_seen=now,
                    text_hash=fp.text_hash if fp else None, **fields)).inserted_primary_key[0]
            else:
                version, article_id = existing.version + 1, existing.id
                connection.execute(_KEEP_SUPERSEDED_BODY, {"article_id": article_id, "old_version": existing.version,
                                                           "old_body": existing.body})
                # the search index reads the article row: its old words go before the row changes
                # (an article still queued has none: never indexed, or removed when first queued)
                if connection.execute(_QUEUED, {"article_id": article_id}).first() is None:
                    unindex_text(connection, article_id, existing.title, existing.body)
                connection.execute(_UPDATE_ARTICLE, dict(article_id=article_id, version=version, **fields))
            connection.execute(_INSERT_VERSION, dict(
                article_id=article_id, version=version, content_hash=digest, title=data.title,
                original_title=data.original_title, body=None, publish_time=data.publish_time,
                publish_time_precision=data.publish_time_precision, source=data.source,
                reporters=data.reporters, photographers=data.photographers, editors=data.editors,
                capture_id=stored_capture, created_at=now,
                reason=reason, **{name: fields[name] for name in DOCUMENT_FIELDS},
            ))
            if self.defer_index:
                if existing is not None:
                    connection.execute(_SET_TEXT_HASH, {"article_id": article_id,
                                                        "text_hash": fp.text_hash if fp else None})
                connection.execute(_QUEUE_INDEX, {"article_id": article_id, "fresh": existing is None,
                                                  "signature": fp.signature if fp else None})
            else:
                index_article(connection, article_id, data.title, data.body, fp, fresh=existing is None,
                              text=data.search_text)
            return NEW if existing is None else UPDATED

        return work

    def index_backlog(self, batch: int = 500) -> int:
        """Index the articles crawls queued (search row, fingerprint bands, story), oldest
        first, in transactions of `batch`; returns how many. A crawl runs this when its
        fetching is done; the runner again after it, for a crawl that was killed first."""
        def work(session: Session) -> int:
            connection = session.connection()
            # a write first: two crawls ending together queue here instead of both reading
            # (and indexing) the same rows; on PostgreSQL, rows another holds are skipped
            connection.execute(_LOCK_QUEUE)
            rows = connection.execute(select(
                IndexQueue.article_id, IndexQueue.fresh, IndexQueue.signature, Article.title, Article.body,
                Article.text_hash).join(Article, Article.id == IndexQueue.article_id)
                .order_by(IndexQueue.article_id).limit(batch).with_for_update(skip_locked=True, of=IndexQueue)).all()
            for row in rows:
                fp = None  # made by the crawl's worker from this body, when it had enough text
                if row.signature is not None:
                    fp = Fingerprint(row.text_hash, row.signature, band_keys(array("I", row.signature)))
                index_article(connection, row.article_id, row.title, row.body, fp, fresh=row.fresh)
            connection.execute(IndexQueue.__table__.delete().where(
                IndexQueue.article_id.in_([row.article_id for row in rows])))
            return len(rows)

        done = 0
        while (indexed := self._write(work)) == batch:
            done += indexed
        return done + indexed

    def compact_search_index(self, pages: int = 1000) -> int:
        """Merge the search index's segments into one, a bounded step (`pages` leaf pages) per
        transaction, so a writer waits one step at most; returns the steps that did work.
        Crawls write the index in small batches, which FTS5 merges only in part: one segment
        is 8 % smaller (benchmarks/archive.py). The scheduler runs this when a night's queue
        has drained."""
        steps = 0
        while self._write(lambda session: merge_search_segments(session.connection(), pages)):
            steps += 1
        return steps

    def store_attachment(self, site_id: int, run_id: int | None, url: str, **fields) -> str:
        """Record an attachment once per canonical URL; returns new or unchanged."""
        return self._write_retrying(self.attachment_write(site_id, run_id, url, **fields))

    def attachment_write(self, site_id: int, run_id: int | None, url: str, *, article_url: str | None,
                         link_text: str | None, capture: CaptureData | None, status: str,
                         error: str | None = None, file_name: str | None = None, file_type: str | None = None,
                         text: str | None = None, text_note: str | None = None):
        """The write of one attachment, as a function of a session (see write_all).

        Bytes are kept once: an attachment whose sha256 the archive already holds (the same PDF
        linked from two articles, or two sites) points to the capture stored first.
        """
        url_key = self.canonical(site_id, url)
        digest = capture.digest if capture is not None else None

        def work(session: Session) -> str:
            stored = session.scalar(select(Attachment).where(Attachment.site_id == site_id,
                                                             Attachment.canonical_url == url_key))
            if stored is not None and (stored.status == "fetched" or capture is None):
                return UNCHANGED
            article_id = None
            if article_url:
                article_id = session.scalar(select(Article.id).where(
                    Article.site_id == site_id, Article.canonical_url == self.canonical(site_id, article_url)))
            capture_id = None
            if capture is not None:
                capture_id = session.scalar(select(Attachment.capture_id).where(
                    Attachment.sha256 == digest, Attachment.capture_id.is_not(None)).limit(1))
                capture_id = capture_id or self._add_capture(session, site_id, run_id, capture)
            if stored is not None:  # failed before, fetched now (a retry): the row gets its file
                stored.size, stored.sha256, stored.capture_id = len(capture.body), digest, capture_id
                stored.status, stored.error, stored.text, stored.text_note = status, error, text, text_note
                stored.file_name, stored.file_type = file_name or stored.file_name, file_type or stored.file_type
                # plan detection reads attachments by id: it must read this one (again)
                session.execute(update(PlanWatch).where(PlanWatch.last_attachment_id >= stored.id)
                                .values(last_attachment_id=stored.id - 1))
                return UPDATED
            session.add(Attachment(
                site_id=site_id, article_id=article_id, url=url, canonical_url=url_key, file_name=file_name,
                link_text=link_text, file_type=file_type, size=len(capture.body) if capture else None,
                sha256=digest, capture_id=capture_id, status=status, error=error,
                text=text, text_note=text_note,
            ))
            return NEW

        return work

    # ---------------------------------------------------------------- failed URLs

    def failure_write(self, site_id: int, run_id: int | None, kind: str, url: str, reason: str, *,
                      permanent: bool, max_attempts: int, retry_delay: float, article_url: str | None = None,
                      link_text: str | None = None, now: datetime | None = None):
        """The write (see write_all) recording a failed fetch of `url`; the work returns its
        state: dead (a permanent fault, or the last of `max_attempts`), else retrying, with the
        next attempt due `retry_delay` × 2^(attempts − 1) seconds from `now`."""
        url_key = self.canonical(site_id, url)

        def work(session: Session) -> str:
            moment = now or utcnow()
            row = session.scalar(select(FailedUrl).where(FailedUrl.site_id == site_id, FailedUrl.kind == kind,
                                                         FailedUrl.canonical_url == url_key))
            if row is None:
                row = FailedUrl(site_id=site_id, kind=kind, url=url, canonical_url=url_key, attempts=0,
                                first_seen=moment, article_url=article_url, link_text=link_text)
                session.add(row)
            row.attempts += 1
            row.reason, row.last_seen, row.last_run_id = reason, moment, run_id
            if permanent or row.attempts >= max_attempts:
                row.state, row.next_attempt_at = DEAD, None
            else:
                row.state = RETRYING
                row.next_attempt_at = moment + timedelta(seconds=retry_delay * 2 ** (row.attempts - 1))
            return row.state

        return work

    def failure_cleared_write(self, site_id: int, kind: str, url: str):
        """The write (see write_all) forgetting a failed URL that has now been fetched."""
        url_key = self.canonical(site_id, url)
        return lambda session: session.execute(delete(FailedUrl).where(
            FailedUrl.site_id == site_id, FailedUrl.kind == kind, FailedUrl.canonical_url == url_key))

    def due_failures(self, site_id: int, now: datetime | None = None) -> list[FailedUrl]:
        """The site's failed URLs whose next attempt is due: what a crawl fetches again."""
        with self.session() as session:
            return list(session.scalars(select(FailedUrl).where(
                FailedUrl.site_id == site_id, FailedUrl.state == RETRYING,
                FailedUrl.next_attempt_at <= (now or utcnow())).order_by(FailedUrl.id)))

    def failed_urls(self, *, site_id: int | None = None, run_id: int | None = None,
                    urls: Iterable[str] | None = None) -> list[FailedUrl]:
        """Failed URLs: a site's, those a run last tried, or these (any site's, compared canonically)."""
        query = select(FailedUrl).order_by(FailedUrl.id)
        if site_id is not None:
            query = query.where(FailedUrl.site_id == site_id)
        if run_id is not None:
            query = query.where(FailedUrl.last_run_id == run_id)
        if urls is not None:
            query = query.where(FailedUrl.canonical_url.in_({canonical(u) for u in urls}
                                                            | {canonical(u, fold_scheme=True, fold_index=True)
                                                               for u in urls}))
        with self.session() as session:
            return list(session.scalars(query))

    # ---------------------------------------------------------------- reads for the CLI

    def counts(self, site_id: int) -> dict[str, int]:
        with self.session() as session:
            return {
                "articles": session.scalar(select(func.count()).select_from(Article).where(Article.site_id == site_id)),
                "attachments": session.scalar(
                    select(func.count()).select_from(Attachment).where(Attachment.site_id == site_id)),
            }
