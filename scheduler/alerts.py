"""Alerts through Apprise: one notification when an incident opens, one when the site recovers.

An incident is something wrong with one site, kept as an alert_incident row until a run
shows it fixed:

- ``failed``      a scheduled run failed or timed out (after its retries);
- ``empty``       a successful run archived nothing from a site whose recent runs usually did;
- ``extraction``  too many of a run's article pages could not be extracted (a layout change);
- ``missed``      a due run was missed beyond the misfire grace (the scheduler was down).

However many runs an incident lasts, it is notified once. A notification that could not be
delivered is tried again at the site's next run.
"""

from __future__ import annotations

import logging

import apprise
from sqlalchemy import select

from archive import Archive
from archive.models import AlertIncident, CrawlRun, Site, utcnow
from crawler.config import AlertSettings, ConfigError

log = logging.getLogger("muniarchive.alerts")

HEADLINES = {
    "failed": "crawl failed",
    "empty": "archived nothing new",
    "extraction": "extraction failures (layout changed?)",
    "missed": "scheduled run missed",
}


def redacted(url: str) -> str:
    """An Apprise URL as it may be printed: secrets masked."""
    service = apprise.Apprise.instantiate(url)
    return service.url(privacy=True) if service else url.split("://", 1)[0] + "://…"


def _open_incident(session, site_id: int, kind: str) -> AlertIncident | None:
    return session.scalar(select(AlertIncident).where(
        AlertIncident.site_id == site_id, AlertIncident.kind == kind, AlertIncident.closed_at.is_(None)))


class Alerts:
    def __init__(self, settings: AlertSettings, archive: Archive):
        self.settings = settings
        self.archive = archive
        self.apprise = apprise.Apprise()
        for index, url in enumerate(settings.resolved_urls()):
            if not self.apprise.add(url):
                raise ConfigError(f"alerts.urls[{index}]: {redacted(url)!r} is not an Apprise URL")

    @property
    def targets(self) -> list[str]:
        return [service.url(privacy=True) for service in self.apprise]

    # ------------------------------------------------------------------ evaluation

    def after_run(self, run: CrawlRun) -> None:
        """Open or close the site's incidents from a finished scheduled run."""
        if run.status in ("failed", "timed_out"):
            self._open(run.site_id, "failed", f"run {run.status.replace('_', ' ')}: {run.error or 'no error recorded'}",
                       run)
            return
        if run.status != "succeeded":  # interrupted by a shutdown: says nothing about the site
            return
        stats = run.stats or {}
        failures = stats.get("extraction_failures", 0)
        pages = failures + sum(stats.get(k, 0) for k in ("articles_new", "articles_updated", "articles_unchanged"))
        if pages >= self.settings.min_pages and failures / pages > self.settings.extraction_failure_rate:
            self._open(run.site_id, "extraction",
                       f"{failures} of {pages} article pages could not be extracted "
                       f"(threshold {self.settings.extraction_failure_rate:.0%})", run)
        else:
            self._close(run.site_id, "extraction", run)
        if stats.get("articles_new", 0) == 0 and self._usually_has_new(run):
            self._open(run.site_id, "empty",
                       f"no new articles, while most of its last {self.settings.lookback_runs} successful runs had some",
                       run)
        elif stats.get("articles_new", 0) > 0:
            self._close(run.site_id, "empty", run)
        self._close(run.site_id, "failed", run)
        self._close(run.site_id, "missed", run)

    def missed(self, site_id: int, due: str) -> None:
        self._open(site_id, "missed", f"the run due at {due} was missed beyond the misfire grace "
                                      "(was the scheduler stopped?)", None)

    def _usually_has_new(self, run: CrawlRun) -> bool:
        lookback = self.settings.lookback_runs
        with self.archive.session() as session:
            earlier = session.scalars(
                select(CrawlRun.stats).where(CrawlRun.site_id == run.site_id, CrawlRun.id < run.id,
                                             CrawlRun.status == "succeeded")
                .order_by(CrawlRun.id.desc()).limit(lookback)).all()
        with_new = sum(1 for stats in earlier if (stats or {}).get("articles_new", 0) > 0)
        return len(earlier) == lookback and with_new * 2 > lookback

    # ------------------------------------------------------------------ plan releases

    def plan_releases(self) -> int:
        """Notify each new or changed plan release once; returns how many were sent. One not
        delivered is tried again after the next run. With no targets configured, releases are
        marked as reported without sending (adding a target later does not replay history)."""
        from archive.plans import mark, releases

        done = []
        for release in releases(self.archive, not_yet="notified_at"):
            headline = "规划更新" if release.version > 1 else "新规划发布"
            title = f"[muniarchive] {headline}：{release.plan_name}（{release.stage_label}）"
            published = f"{release.published_at:%Y-%m-%d}" if release.published_at else "unknown"
            body = (f"region: {release.region}\nstage: {release.stage_label} ({release.stage})\n"
                    f"period: {release.period or '-'}\npublished: {published}\n"
                    f"document: {release.title}\n{release.url}\n")
            if not len(self.apprise) or self._notify(title, body, apprise.NotifyType.INFO):
                done.append(release.id)
        mark(self.archive, done, "notified_at")
        return len(done) if len(self.apprise) else 0

    # ------------------------------------------------------------------ incidents

    def _open(self, site_id: int, kind: str, reason: str, run: CrawlRun | None) -> None:
        with self.archive.sessions.begin() as session:
            incident = _open_incident(session, site_id, kind)
            if incident is None:
                incident = AlertIncident(site_id=site_id, kind=kind, reason=reason, run_id=run.id if run else None,
                                         opened_at=utcnow())
                session.add(incident)
                session.flush()
                log.warning("incident %s: %s", kind, reason)
            if incident.notified_at is None:
                site = session.get(Site, site_id)
                title = f"[muniarchive] {site.key}: {HEADLINES[kind]}"
                if self._notify(title, self._body(site, incident, run), apprise.NotifyType.FAILURE):
                    incident.notified_at = utcnow()

    def _close(self, site_id: int, kind: str, run: CrawlRun) -> None:
        with self.archive.sessions.begin() as session:
            incident = _open_incident(session, site_id, kind)
            if incident is None:
                return
            incident.closed_at, incident.closed_by_run_id = utcnow(), run.id
            log.info("incident %s closed by run %s", kind, run.id)
            site = session.get(Site, site_id)
            if incident.notified_at is None:  # the opening never reached anyone: neither need the recovery
                incident.recovery_notified_at = incident.closed_at
                return
            title = f"[muniarchive] {site.key} recovered: {HEADLINES[kind]}"
            body = (f"site: {site.key} ({site.name})\nrun: {run.id} succeeded\n"
                    f"incident opened {incident.opened_at:%Y-%m-%d %H:%M:%S %Z}: {incident.reason}\n")
            if self._notify(title, body, apprise.NotifyType.SUCCESS):
                incident.recovery_notified_at = utcnow()

    @staticmethod
    def _body(site: Site, incident: AlertIncident, run: CrawlRun | None) -> str:
        lines = [f"site: {site.key} ({site.name})", f"run: {run.id if run else 'none'}",
                 f"reason: {incident.reason}"]
        if run is not None and run.log_path:
            lines.append(f"log: {run.log_path}")
        return "\n".join(lines) + "\n"

    def _notify(self, title: str, body: str, notify_type) -> bool:
        if not len(self.apprise):
            return False
        try:
            delivered = self.apprise.notify(title=title, body=body, notify_type=notify_type)
        except Exception as exc:  # a notification plug-in must never take the scheduler down
            log.warning("alert not delivered: %s", exc)
            return False
        if not delivered:
            log.warning("alert not delivered to every target: %s", title)
        return bool(delivered)
