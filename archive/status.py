"""Each site's health and its crawl runs, as `muniarchive status` and `runs` show them."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from archive.db import ArchiveError
from archive.masking import mask_text, mask_url
from archive.models import SUCCEEDED, AlertIncident, Article, CrawlRun, Site
from archive.store import Archive


def site_status(archive: Archive, site_key: str, now: datetime) -> dict:
    """One site's health, from its runs, articles and open incidents."""
    site_id = archive.site_id(site_key)
    status = {"site": site_key, "last_success": None, "articles_last_7_days": 0, "consecutive_failures": 0,
              "last_run": None, "open_incidents": [], "verdict": "no runs yet"}
    if site_id is None:
        return status
    with archive.session() as session:
        # the site's runs newest-finished first (an index), stopping at the first success
        status["last_success"] = session.scalar(select(CrawlRun.finished_at).where(
            CrawlRun.site_id == site_id, CrawlRun.status.in_(SUCCEEDED), CrawlRun.finished_at.is_not(None))
            .order_by(CrawlRun.finished_at.desc()).limit(1))
        status["articles_last_7_days"] = session.scalar(select(func.count()).select_from(Article).where(
            Article.site_id == site_id, Article.first_seen >= now - timedelta(days=7)))
        recent = session.execute(select(CrawlRun.id, CrawlRun.status, CrawlRun.error).where(
            CrawlRun.site_id == site_id, CrawlRun.status.in_((*SUCCEEDED, "failed", "timed_out")))
            .order_by(CrawlRun.id.desc()).limit(100)).all()
        incidents = session.scalars(select(AlertIncident).where(
            AlertIncident.site_id == site_id, AlertIncident.closed_at.is_(None))).all()
    if recent:
        status["last_run"] = {"run": recent[0].id, "status": recent[0].status}
    for row in recent:
        if row.status in SUCCEEDED:
            break
        status["consecutive_failures"] += 1
    status["open_incidents"] = [{"kind": i.kind, "since": i.opened_at, "reason": i.reason} for i in incidents]
    warnings = [i.kind for i in incidents]
    if recent and recent[0].status == "succeeded_with_warnings":  # its reason says more than `misconfigured`
        warnings = [recent[0].error or "misconfigured", *(kind for kind in warnings if kind != "misconfigured")]
    if recent:  # else the verdict stays "no runs yet"
        status["verdict"] = ("failing" if status["consecutive_failures"]
                             else "warning: " + ", ".join(warnings) if warnings else "ok")
    return status


def failure_record(failed) -> dict:
    """A failed URL (archive.FailedUrl) with its secrets masked."""
    return {"url": mask_text(failed.url), "kind": failed.kind, "state": failed.state,
            "reason": mask_text(failed.reason), "attempts": failed.attempts, "first_seen": failed.first_seen,
            "last_seen": failed.last_seen, "next_attempt_at": failed.next_attempt_at}


def _masked_stats(stats: dict | None) -> dict:
    stats = dict(stats or {})
    if stats.get("failed_urls"):
        stats["failed_urls"] = [{key: mask_text(value) if isinstance(value, str) else value
                                 for key, value in failure.items()} for failure in stats["failed_urls"]]
    return stats


def runs(archive: Archive, site: str | None = None, limit: int = 20) -> list[dict]:
    """Crawl runs newest first (all, or a site's), with their stats, log and dead URLs."""
    query = select(CrawlRun, Site.key).join(Site).order_by(CrawlRun.id.desc()).limit(limit)
    if site:
        query = query.where(Site.key == site)
    with archive.session() as session:
        rows = session.execute(query).all()
    return [{
        "run": run.id, "site": key, "status": run.status, "started_at": run.started_at,
        "finished_at": run.finished_at, "exit_code": run.exit_code, "error": run.error and mask_text(run.error),
        "stats": _masked_stats(run.stats), "log": run.log_path,
        "dead_urls": [failure_record(f) for f in archive.failed_urls(run_id=run.id) if f.state == "dead"],
    } for run, key in rows]


def run_log(archive: Archive, run_id: int) -> dict:
    """A run's log as `muniarchive log` shows it, its URLs' secrets masked: the text kept in the
    archive (readable from every machine), else the file the run wrote, when this machine has it."""
    with archive.session() as session:
        row = session.execute(select(CrawlRun, Site.key).join(Site).where(CrawlRun.id == run_id)).first()
    if row is None:
        raise ArchiveError(f"archive {mask_url(archive.url)}: no crawl run {run_id}")
    run, site = row
    record = {"run": run.id, "site": site, "status": run.status, "path": run.log_path, "source": "archive",
              "text": archive.run_log(run_id)}
    if record["text"] is None and run.log_path:
        try:
            record.update(source="file", text=Path(run.log_path).read_text(encoding="utf-8", errors="replace"))
        except OSError as exc:
            raise ArchiveError(f"run {run_id} ({site}, {run.status}): its log is not in the archive, and "
                               f"{run.log_path} cannot be read here: {exc.strerror or exc}") from None
    if record["text"] is None:
        why = "it was skipped: nothing ran" if run.status == "skipped" else "none was recorded"
        raise ArchiveError(f"run {run_id} ({site}, {run.status}) has no log: {why}")
    record["text"] = mask_text(record["text"])
    return record
