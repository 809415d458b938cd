"""Alerts through Apprise: one notification when an incident opens, one when the site recovers.

An incident is something wrong with one site, kept as an alert_incident row until a run
shows it fixed:

- ``failed``      a scheduled run failed or timed out (after its retries);
- ``empty``       a successful run archived nothing from a site whose recent runs usually did;
- ``extraction``  too many of a run's article pages could not be extracted (a layout change);
- ``missed``      a due run was missed beyond the misfire grace (the scheduler was down);
- ``late``        a due run was still queued (waiting for a crawl slot) at the site's next due
                  time: more sites are due than the scheduler's crawl slots get through;
- ``misconfigured`` a run ended succeeded_with_warnings: its health checks say the site's config
                  looks wrong (crawler/health.py); on a site's first run too.
- ``node_down``   (scrapyd runner) a Scrapyd node did not answer when the site's crawl was sent
                  out (it went to another node), or stopped answering while it ran the crawl.

However many runs an incident lasts, it is notified once. Each target's delivery is recorded
(alert_delivery): a target that was down is sent what it missed at the site's next run, and
the targets that had it are not sent it again. A recovery goes to the targets that were told
of the incident.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import apprise
from sqlalchemy import select

from archive import Archive
from archive.masking import mask_url
from archive.models import SUCCEEDED, AlertDelivery, AlertIncident, CrawlRun, Site, utcnow
from crawler.config import AlertSettings, ConfigError

log = logging.getLogger("muniarchive.alerts")

HEADLINES = {
    "failed": "crawl failed",
    "empty": "archived nothing new",
    "extraction": "extraction failures (layout changed?)",
    "missed": "scheduled run missed",
    "late": "scheduled run still queued at its next due time",
    "misconfigured": "config looks wrong",
    "node_down": "Scrapyd node unreachable",
}


@dataclass
class Target:
    key: str  # a digest of the URL: what its deliveries are recorded under
    shown: str  # the URL with its secrets masked
    service: apprise.Apprise  # this URL alone, so that its delivery is known apart from the others'


def _open_incident(session, site_id: int, kind: str) -> AlertIncident | None:
    return session.scalar(select(AlertIncident).where(
        AlertIncident.site_id == site_id, AlertIncident.kind == kind, AlertIncident.closed_at.is_(None)))


class Alerts:
    def __init__(self, settings: AlertSettings, archive: Archive):
        self.settings = settings
        self.archive = archive
        self._targets: list[Target] = []
        for index, url in enumerate(settings.resolved_urls()):
            service = apprise.Apprise()
            if not service.add(url):
                raise ConfigError(f"alerts.urls[{index}]: {mask_url(url)!r} is not an Apprise URL")
            self._targets.append(Target(hashlib.sha256(url.encode()).hexdigest()[:32], mask_url(url), service))

    @property
    def targets(self) -> list[str]:
        return [target.shown for target in self._targets]

    # ------------------------------------------------------------------ evaluation

    def after_run(self, run: CrawlRun, late: bool = False) -> None:
        """Open or close the site's incidents from a finished scheduled run, then send what is due.
        A run that was `late` (still queued at its next due time) does not close the late incident."""
        self._evaluate(run, late)
        self._deliver(run.site_id)

    def _evaluate(self, run: CrawlRun, late: bool = False) -> None:
        if run.status in ("failed", "timed_out"):
            self._open(run.site_id, "failed", f"run {run.status.replace('_', ' ')}: {run.error or 'no error recorded'}",
                       run)
            return
        if run.status not in SUCCEEDED:  # interrupted by a shutdown, or skipped: says nothing about the site
            return
        stats = run.stats or {}
        if run.status == "succeeded_with_warnings":
            self._open(run.site_id, "misconfigured", run.error or "the run's health checks warned", run)
        elif self._shows_healthy(run):
            self._close(run.site_id, "misconfigured", run)
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
        self._close(run.site_id, "node_down", run)
        if not late:
            self._close(run.site_id, "late", run)

    def _shows_healthy(self, run: CrawlRun) -> bool:
        """Whether a run without warnings could see what the open misconfigured incident is
        about: a quiet night that extracted no page says nothing of a body selector."""
        with self.archive.session() as session:
            incident = _open_incident(session, run.site_id, "misconfigured")
            opened_by = session.get(CrawlRun, incident.run_id) if incident and incident.run_id else None
        if opened_by is None:
            return True
        warned = {warning["check"] for warning in (opened_by.stats or {}).get("warnings", [])}
        return warned <= set((run.stats or {}).get("health_checked", []))

    def missed(self, site_id: int, due: str) -> None:
        self._open(site_id, "missed", f"the run due at {due} was missed beyond the misfire grace "
                                      "(was the scheduler stopped?)", None)
        self._deliver(site_id)

    def late(self, site_id: int, due: str, waited: str, slots: int) -> None:
        self._open(site_id, "late", f"the run due at {due} was still queued at its next due time, {waited} later "
                                    f"(more sites due than {slots} crawl slots get through: see "
                                    "scheduler.max_parallel_crawls)", None)
        self._deliver(site_id)

    def node_down(self, site_id: int, why: str) -> None:
        self._open(site_id, "node_down", why, None)
        self._deliver(site_id)

    def _usually_has_new(self, run: CrawlRun) -> bool:
        lookback = self.settings.lookback_runs
        with self.archive.session() as session:
            earlier = session.scalars(
                select(CrawlRun.stats).where(CrawlRun.site_id == run.site_id, CrawlRun.id < run.id,
                                             CrawlRun.status.in_(SUCCEEDED))
                .order_by(CrawlRun.id.desc()).limit(lookback)).all()
        with_new = sum(1 for stats in earlier if (stats or {}).get("articles_new", 0) > 0)
        return len(earlier) == lookback and with_new * 2 > lookback

    # ------------------------------------------------------------------ plan releases

    def plan_releases(self) -> int:
        """Send each new or changed plan release to every target once; returns how many releases
        every target now has. A target that missed one is sent it after the next run. With no
        targets configured, releases are marked as reported without sending (adding a target
        later does not replay history)."""
        from archive.plans import mark, releases

        done = []
        for release in releases(self.archive, not_yet="notified_at"):
            headline = "规划更新" if release.version > 1 else "新规划发布"
            title = f"[muniarchive] {headline}：{release.plan_name}（{release.stage_label}）"
            published = f"{release.published_at:%Y-%m-%d}" if release.published_at else "unknown"
            body = (f"region: {release.region}\nstage: {release.stage_label} ({release.stage})\n"
                    f"period: {release.period or '-'}\npublished: {published}\n"
                    f"document: {release.title}\n{release.url}\n")
            if self._send(f"plan_release:{release.id}:v{release.version}", title, body, apprise.NotifyType.INFO):
                done.append(release.id)
        mark(self.archive, done, "notified_at")
        return len(done) if self._targets else 0

    # ------------------------------------------------------------------ incidents

    def _open(self, site_id: int, kind: str, reason: str, run: CrawlRun | None) -> None:
        with self.archive.sessions.begin() as session:
            if _open_incident(session, site_id, kind) is None:
                session.add(AlertIncident(site_id=site_id, kind=kind, reason=reason, run_id=run.id if run else None,
                                          opened_at=utcnow()))
                log.warning("incident %s: %s", kind, reason)

    def _close(self, site_id: int, kind: str, run: CrawlRun) -> None:
        with self.archive.sessions.begin() as session:
            incident = _open_incident(session, site_id, kind)
            if incident is not None:
                incident.closed_at, incident.closed_by_run_id = utcnow(), run.id
                log.info("incident %s closed by run %s", kind, run.id)

    def _deliver(self, site_id: int) -> None:
        """Send the site's incidents and recoveries to the targets that have not had them."""
        with self.archive.session() as session:
            site = session.get(Site, site_id)
            pending = session.scalars(select(AlertIncident).where(
                AlertIncident.site_id == site_id,
                (AlertIncident.closed_at.is_(None) & AlertIncident.notified_at.is_(None))
                | (AlertIncident.closed_at.is_not(None) & AlertIncident.recovery_notified_at.is_(None)))).all()
        for incident in pending:
            opened = f"incident:{incident.id}:opened"
            done = {}
            if incident.closed_at is None:
                title = f"[muniarchive] {site.key}: {HEADLINES[incident.kind]}"
                if self._send(opened, title, self._body(site, incident), apprise.NotifyType.FAILURE):
                    done["notified_at"] = utcnow()
            else:
                title = f"[muniarchive] {site.key} recovered: {HEADLINES[incident.kind]}"
                body = (f"site: {site.key} ({site.name})\nrun: {incident.closed_by_run_id} succeeded\n"
                        f"incident opened {incident.opened_at:%Y-%m-%d %H:%M:%S %Z}: {incident.reason}\n")
                # only the targets that were told of the incident are told it is over
                if self._send(f"incident:{incident.id}:recovered", title, body, apprise.NotifyType.SUCCESS,
                              only=self._delivered(opened)):
                    done["recovery_notified_at"] = utcnow()
            if done:
                with self.archive.sessions.begin() as session:
                    for field, value in done.items():
                        setattr(session.get(AlertIncident, incident.id), field, value)

    def _body(self, site: Site, incident: AlertIncident) -> str:
        lines = [f"site: {site.key} ({site.name})", f"run: {incident.run_id or 'none'}", f"reason: {incident.reason}"]
        run = self.archive.get_run(incident.run_id) if incident.run_id else None
        if run is not None and run.log_path:
            lines.append(f"log: {run.log_path} (from any machine: muniarchive log {run.id})")
        return "\n".join(lines) + "\n"

    # ------------------------------------------------------------------ delivery

    def _delivered(self, subject: str) -> set[str]:
        with self.archive.session() as session:
            return set(session.scalars(select(AlertDelivery.target).where(AlertDelivery.subject == subject)))

    def _send(self, subject: str, title: str, body: str, notify_type, only: set[str] | None = None) -> bool:
        """Send `subject` to each target (of `only`, when given) that has not had it; each
        delivery is recorded as it succeeds. True when every one of them now has it."""
        delivered = self._delivered(subject)
        everyone = True
        for target in self._targets:
            if target.key in delivered or (only is not None and target.key not in only):
                continue
            try:
                sent = target.service.notify(title=title, body=body, notify_type=notify_type)
            except Exception as exc:  # a notification plug-in must never take the scheduler down
                log.warning("alert not delivered to %s: %s", target.shown, exc)
                sent = False
            if not sent:
                log.warning("alert not delivered to %s (tried again after the next run): %s", target.shown, title)
                everyone = False
                continue
            with self.archive.sessions.begin() as session:
                session.add(AlertDelivery(subject=subject, target=target.key, delivered_at=utcnow()))
        return everyone
