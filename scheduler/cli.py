"""The `muniarchive` command line: one command per user task, --json for scripts."""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click
import yaml
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import func, select

from archive import Archive, ArchiveError
from archive.masking import mask_text, mask_url
from archive.models import SUCCEEDED, AlertIncident, Article, CrawlRun, Site, utcnow
from crawler.config import DB_ENV, ConfigError, load_config
from scheduler.runner import open_archive, reconcile_runs, run_crawl, watch_plans

CONFIG_ENV = "MUNIARCHIVE_CONFIG"
# export reads each page once, in order: a large page cache would only hold memory
EXPORT_CACHE_KIB = 8 * 1024
# off a terminal (pipes, CI logs) rich would squeeze tables into 80 columns
console = Console(width=None if sys.stdout.isatty() else 160)


def fail_cleanly(command):
    """Config, archive and usage problems end the command with one line, not a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (ConfigError, ArchiveError) as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


def check_sites(config, keys, archive: Archive | None = None) -> None:
    """Every key names a site of the config (or, given the archive, one it holds runs or
    articles of); else the one-line error."""
    known = [site.key for site in config.sites]
    if archive is not None:
        with archive.session() as session:
            known += [key for key in session.scalars(select(Site.key).order_by(Site.key)) if key not in known]
    for key in keys:
        if key is not None and key not in known:
            raise click.ClickException(f"unknown site {key!r} (known: {', '.join(known) or 'none'})")


config_option = click.option(
    "--config", "config_path", default="config.yaml", envvar=CONFIG_ENV, show_default=True,
    type=click.Path(dir_okay=False), help=f"config file (or ${CONFIG_ENV})",
)


def _local(value: datetime | None, tz: str) -> str:
    return value.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _print_json(data, tz: str | None = None) -> None:
    """JSON on stdout; with tz, times are ISO 8601 in that zone (as the page or schedule meant them)."""

    def encode(value):
        if isinstance(value, datetime) and tz:
            return value.astimezone(ZoneInfo(tz)).isoformat()
        return str(value)

    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=encode))


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TimeElapsedColumn(), console=console, disable=not sys.stdout.isatty(), transient=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="muniarchive")
def cli() -> None:
    """Archive Chinese municipal news and government sites.

    \b
    Try it with no set-up:   muniarchive demo
    Check a config:          muniarchive doctor --config config.yaml
    Crawl your sites:        muniarchive crawl --all --config config.yaml
    Crawl them every night:  muniarchive scheduler start --config config.yaml
    See what ran:            muniarchive runs / jobs / status
    Look at one record:      muniarchive show URL / history URL
    Find things:             muniarchive search 十四五规划 / stories
    New plans (十四五 …):     muniarchive plans [--new] [--feed FILE]
    """


# ---------------------------------------------------------------------------- crawl

def crawl_sites(config, keys: list[str], archive: Archive):
    results = []
    with _progress() as progress:
        task = progress.add_task("crawling", total=len(keys))
        for key in keys:
            progress.update(task, description=f"crawling {key}")
            results.append(run_crawl(config, key, archive))
            progress.advance(task)
    return results


@cli.command()
@click.argument("sites", nargs=-1)
@click.option("--all", "all_sites", is_flag=True, help="crawl every site in the config")
@config_option
@click.option("--json", "json_output", is_flag=True, help="print the runs as JSON")
@fail_cleanly
def crawl(sites: tuple[str, ...], all_sites: bool, config_path: str, json_output: bool) -> None:
    """Crawl SITES (keys from the config), or --all, into the archive.

    Each crawl runs as its own process (`python -m crawler crawl SITE`) and is recorded
    as a run: see `muniarchive runs`. Exits 1 when any crawl did not succeed; a crawl that
    succeeded with warnings (its config looks wrong: see the line printed for it) exits 0.

    \b
    Example:
      muniarchive crawl binhe-gov --config config.yaml
    """
    config = load_config(config_path)
    if all_sites == bool(sites):
        raise click.UsageError("name one or more sites, or give --all")
    check_sites(config, sites)
    keys = [s.key for s in config.sites] if all_sites else list(sites)
    archive = open_archive(config)
    results = crawl_sites(config, keys, archive)
    if json_output:
        _print_json([r.__dict__ for r in results])
    else:
        table = Table("run", "site", "status", "requests", "new", "updated", "errors", "log")
        for r in results:
            table.add_row(str(r.run_id), r.site, r.status, str(r.stats.get("requests", 0)),
                          str(r.stats.get("articles_new", 0)), str(r.stats.get("articles_updated", 0)),
                          str(r.stats.get("errors", 0)), r.log_path)
        console.print(table)
        for r in results:
            if r.error:
                warning = "warning: " if r.status == "succeeded_with_warnings" else ""
                console.print(f"[red]{r.site}[/red]: {warning}{escape(r.error)}")
    if any(r.status not in SUCCEEDED for r in results):
        sys.exit(1)


# ---------------------------------------------------------------------------- scheduler

@cli.group("scheduler")
def scheduler_group() -> None:
    """The service that crawls every site on its schedule."""


def _masked_record(record: logging.LogRecord) -> bool:
    """Every URL a log line quotes (an alert target, an archive, a page) with its secrets masked."""
    record.msg, record.args = mask_text(record.getMessage()), None
    return True


@scheduler_group.command("start")
@config_option
@fail_cleanly
def scheduler_start(config_path: str) -> None:
    """Run the scheduler in the foreground (for systemd, Docker, or a terminal).

    On start it takes the archive's scheduler lease (a second scheduler on the same
    archive refuses), syncs one job per site from the config (new sites added, changed
    schedules rescheduled, removed sites removed) and says what changed. A run missed
    while the scheduler was down is made up once if it comes back within
    scheduler.misfire_grace. SIGTERM or Ctrl-C: no new runs; running crawls get
    scheduler.stop_grace to finish, then are stopped and recorded as interrupted.

    \b
    Example:
      muniarchive scheduler start --config config.yaml
    """
    from scheduler.service import SchedulerRefused, SchedulerService, stored_jobs

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(_masked_record)
    # our own lines say what APScheduler would (skipped and missed runs), in fewer words
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    config = load_config(config_path)
    archive = open_archive(config)
    service = SchedulerService(config, archive)
    try:
        changes = service.start()
    except SchedulerRefused as exc:
        raise click.ClickException(str(exc)) from None
    signal.signal(signal.SIGTERM, lambda *_: service.stop())
    signal.signal(signal.SIGINT, lambda *_: service.stop())
    tz = config.defaults.timezone
    click.echo(f"scheduler started: {len(config.sites)} sites, archive {mask_url(archive.url)}, time zone {tz}")
    click.echo("alerts to: " + (", ".join(service.alerts.targets) or "nobody "
                                "(no alerts.urls in the config)"))
    click.echo("jobs: " + ("; ".join(changes) if changes else "unchanged"))
    for job in stored_jobs(config, archive):
        click.echo(f"  {job.site}: next run {_local(job.next_run, tz)} ({job.spec})")
    sys.stdout.flush()
    service.wait()


@cli.command()
@config_option
@click.option("--json", "json_output", is_flag=True)
@fail_cleanly
def jobs(config_path: str, json_output: bool) -> None:
    """Each site's scheduled job and its next run, in the config's time zone.

    Read from the archive's job store, as the scheduler keeps it (it need not be running).
    A site the scheduler has not picked up yet (added to the config since it started) is
    shown as not scheduled.

    \b
    Example:
      muniarchive jobs --json
    """
    from scheduler.service import job_spec, stored_jobs

    config = load_config(config_path)
    archive = open_archive(config)
    tz = config.defaults.timezone
    stored = {job.site: job for job in stored_jobs(config, archive)}
    data = []
    for site in config.sites:
        job = stored.pop(site.key, None)
        data.append({"site": site.key, "schedule": job_spec(config, site),
                     "scheduled": job is not None and job.spec == job_spec(config, site),
                     "next_run": _local(job.next_run, tz) if job and job.next_run else None})
    data += [{"site": key, "schedule": job.spec, "scheduled": True, "not_in_config": True,
              "next_run": _local(job.next_run, tz) if job.next_run else None} for key, job in stored.items()]
    if json_output:
        _print_json(data)
        return
    table = Table("site", "schedule", f"next run ({tz})", "")
    for row in data:
        note = ("not in the config (removed at the next scheduler start)" if row.get("not_in_config")
                else "" if row["scheduled"] else "not scheduled yet: restart the scheduler")
        table.add_row(row["site"], row["schedule"], row["next_run"] or "-", note)
    console.print(table)


def site_status(archive: Archive, site_key: str, now: datetime) -> dict:
    """One site's health, from its runs, articles and open incidents."""
    site_id = archive.site_id(site_key)
    status = {"site": site_key, "last_success": None, "articles_last_7_days": 0, "consecutive_failures": 0,
              "last_run": None, "open_incidents": [], "verdict": "no runs yet"}
    if site_id is None:
        return status
    with archive.session() as session:
        status["last_success"] = session.scalar(select(func.max(CrawlRun.finished_at)).where(
            CrawlRun.site_id == site_id, CrawlRun.status.in_(SUCCEEDED)))
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


@cli.command()
@config_option
@click.option("--json", "json_output", is_flag=True)
@fail_cleanly
def status(config_path: str, json_output: bool) -> None:
    """Per site: last successful crawl, articles archived in the last 7 days, consecutive
    failures, open incidents and a verdict (ok, failing, warning, no runs yet).

    Incidents are what the scheduler alerts on: failed (a run failed or timed out), empty (a
    site that usually has new articles had none), extraction (too many pages could not be
    extracted: a layout change?), missed (a run missed beyond the misfire grace),
    misconfigured (a run succeeded with warnings). The last run's warning is the verdict:
    `warning: 0 of 75 links match article_pattern on …`.

    \b
    Example:
      muniarchive status --json
    """
    config = load_config(config_path)
    archive = open_archive(config)
    reconcile_runs(archive)
    data = [site_status(archive, site.key, utcnow()) for site in config.sites]
    if json_output:
        _print_json(data)
        return
    tz = config.defaults.timezone
    table = Table("site", "verdict", "last success", "articles 7 d", "failures in a row", "open incidents")
    for row in data:
        incidents = "; ".join(f"{i['kind']}: {i['reason']}" for i in row["open_incidents"])
        table.add_row(row["site"], row["verdict"], _local(row["last_success"], tz), str(row["articles_last_7_days"]),
                      str(row["consecutive_failures"]), incidents)
    console.print(table)
    if any(row["verdict"] == "failing" for row in data):
        sys.exit(1)


@cli.command()
@config_option
@click.option("--timeout", default=10.0, show_default=True, help="seconds to wait for each site")
@click.option("--json", "json_output", is_flag=True)
def doctor(config_path: str, timeout: float, json_output: bool) -> None:
    """Check that everything a crawl needs is in place: the config is valid, the alert
    targets are usable, the archive is reachable and migrated, and every site's first
    start URL answers. Exits 1 when a check fails.

    \b
    Example:
      muniarchive doctor --config config.yaml
    """
    from scheduler.doctor import run_checks

    checks = run_checks(config_path, timeout)
    if json_output:
        _print_json(checks)
    else:
        for check in checks:
            mark = "[green]ok[/green]  " if check["ok"] else "[red]FAIL[/red]"
            console.print(f"{mark} {check['check']}: {check['detail']}", highlight=False)
    if not all(check["ok"] for check in checks):
        sys.exit(1)


# ---------------------------------------------------------------------------- runs, show

@cli.command()
@click.option("--site", help="only this site's runs")
@click.option("--limit", default=20, show_default=True, help="how many of the newest runs")
@config_option
@click.option("--json", "json_output", is_flag=True)
@fail_cleanly
def runs(site: str | None, limit: int, config_path: str, json_output: bool) -> None:
    """List crawl runs, newest first: status, counts, errors and where the log is.

    \b
    Example:
      muniarchive runs --site binhe-gov --json
    """
    config = load_config(config_path)
    archive = open_archive(config)
    check_sites(config, [site], archive)
    reconcile_runs(archive)
    with archive.session() as session:
        query = select(CrawlRun, Site.key).join(Site).order_by(CrawlRun.id.desc()).limit(limit)
        if site:
            query = query.where(Site.key == site)
        rows = session.execute(query).all()
    data = [{
        "run": run.id, "site": key, "status": run.status, "started_at": run.started_at,
        "finished_at": run.finished_at, "exit_code": run.exit_code, "error": run.error and mask_text(run.error),
        "stats": _masked_stats(run.stats), "log": run.log_path,
        "dead_urls": [_failure(f) for f in archive.failed_urls(run_id=run.id) if f.state == "dead"],
    } for run, key in rows]
    if json_output:
        _print_json(data)
        return
    tz = config.defaults.timezone
    table = Table("run", "site", "started", "seconds", "status", "new", "updated", "errors", "error")
    for row in data:
        seconds = (row["finished_at"] - row["started_at"]).total_seconds() if row["finished_at"] else None
        stats = row["stats"] or {}
        table.add_row(str(row["run"]), row["site"], _local(row["started_at"], tz),
                      f"{seconds:.1f}" if seconds is not None else "-", row["status"],
                      str(stats.get("articles_new", 0)), str(stats.get("articles_updated", 0)),
                      str(stats.get("errors", 0)), row["error"] or "")
    console.print(table)


def _failure(failed) -> dict:
    """A failed URL (archive.FailedUrl) as runs and show print it."""
    return {"url": mask_text(failed.url), "kind": failed.kind, "state": failed.state,
            "reason": mask_text(failed.reason), "attempts": failed.attempts, "first_seen": failed.first_seen,
            "last_seen": failed.last_seen, "next_attempt_at": failed.next_attempt_at}


def _failure_line(failure: dict) -> str:
    if failure["state"] == "dead":
        return f"dead after {failure['attempts']} attempt(s): {failure['reason']}"
    retry = f"{failure['next_attempt_at']:%Y-%m-%d %H:%M} UTC"
    return f"failing ({failure['attempts']} attempt(s), tried again after {retry}): {failure['reason']}"


def _masked_stats(stats: dict | None) -> dict:
    stats = dict(stats or {})
    if stats.get("failed_urls"):
        stats["failed_urls"] = [{key: mask_text(value) if isinstance(value, str) else value
                                 for key, value in failure.items()} for failure in stats["failed_urls"]]
    return stats


# a government document's 信息公开 fields, as `show` labels them
DOCUMENT_LABELS = {"document_number": "document no.", "issuing_organ": "issued by", "written_date": "written",
                   "index_number": "index no.", "subject": "subject", "validity": "validity"}


@cli.command()
@click.argument("url")
@config_option
@click.option("--json", "json_output", is_flag=True)
@fail_cleanly
def show(url: str, config_path: str, json_output: bool) -> None:
    """Show the archived record of an article URL: fields, body, versions, attachments.

    \b
    Example:
      muniarchive show http://www.binhe.gov.cn/zwdt/202609/t20260901_100101.html
    """
    from archive.queries import article_record

    config = load_config(config_path)
    archive = open_archive(config)
    record = article_record(archive, url=url)
    if record is None:
        failed = [_failure(f) for f in archive.failed_urls(urls=[url])]
        if not failed:
            raise click.ClickException(f"{url}: not in the archive {mask_url(config.database_url)}")
        if json_output:
            _print_json({"url": url, "failed": failed[0]})
        else:
            console.print(f"{url}: not archived, {_failure_line(failed[0])}", highlight=False)
        return
    failures = {f.url: _failure(f) for f in archive.failed_urls(urls=[a["url"] for a in record["attachments"]])}
    for attachment in record["attachments"]:
        attachment["failure"] = failures.get(attachment["url"])
    tz = config.defaults.timezone
    if record["publish_time"]:
        record["publish_time"] = record["publish_time"].astimezone(ZoneInfo(tz)).isoformat()
    capture = record["capture"]
    if json_output:
        _print_json(record)
        return
    console.print(f"[bold]{record['title']}[/bold]")
    for label, key in (("site", "site"), ("url", "url"), ("published", "publish_time"), ("source", "source"),
                       ("original title", "original_title"), ("version", "version")):
        if record[key]:
            console.print(f"{label:>15}: {record[key]}")
    for label, key in (("reporters", "reporters"), ("photographers", "photographers"), ("editors", "editors")):
        if record[key]:
            console.print(f"{label:>15}: {'、'.join(record[key])}")
    for key, label in DOCUMENT_LABELS.items():  # a government document's 信息公开 fields
        if record["document"].get(key):
            console.print(f"{label:>15}: {record['document'][key]}", highlight=False)
    if capture:
        console.print(f"{'encoding':>15}: {capture['encoding']} (chosen by {capture['encoding_step']})")
    for a in record["attachments"]:
        console.print(f"{'attachment':>15}: {a['name']} [{a['status']}] {a['url']}")
        if a["failure"]:
            console.print(f"{'':>15}  {_failure_line(a['failure'])}", highlight=False)
    console.print()
    console.print(record["body"] or "[red](no body extracted)[/red]", highlight=False)


# ---------------------------------------------------------------------------- reading the archive

def _date(value: str | None, tz: str, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=ZoneInfo(tz))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=option) from None


@cli.command()
@click.argument("query")
@click.option("--site", help="only this site's articles")
@click.option("--from", "date_from", metavar="YYYY-MM-DD", help="published on or after this day")
@click.option("--to", "date_to", metavar="YYYY-MM-DD", help="published before this day")
@click.option("--limit", default=20, show_default=True)
@config_option
@click.option("--json", "json_output", is_flag=True)
@fail_cleanly
def search(query: str, site: str | None, date_from: str | None, date_to: str | None, limit: int,
           config_path: str, json_output: bool) -> None:
    """Find articles containing every word of QUERY, best match first, with a snippet.

    Matching is on substrings (no word segmentation needed) and ignores the script: 十四五規劃
    finds 十四五规划 and the other way round. Words of three characters or more use the
    full-text index; shorter ones are matched by scanning.

    \b
    Examples:
      muniarchive search 十四五规划
      muniarchive search "征求意见稿 交通" --site binhe-gov --from 2026-01-01 --json
    """
    from archive.queries import search as run_search

    config = load_config(config_path)
    archive = open_archive(config)
    check_sites(config, [site], archive)
    tz = config.defaults.timezone
    hits = run_search(archive, query, site=site, date_from=_date(date_from, tz, "--from"),
                      date_to=_date(date_to, tz, "--to"), limit=limit)
    if json_output:
        _print_json(hits, tz)
        return
    if not hits:
        console.print(f"nothing found for {query!r}")
        return
    for hit in hits:
        snippet, marked, last = hit["snippet"], "", 0
        for start, end in hit["highlights"]:
            if start >= last:
                marked += escape(snippet[last:start]) + f"[bold yellow]{escape(snippet[start:end])}[/bold yellow]"
                last = end
        marked += escape(snippet[last:])
        console.print(f"[bold]{escape(hit['title'] or '(no title)')}[/bold]  {hit['site']}  "
                      f"{_local(hit['publish_time'], tz)[:10]}\n  {hit['url']}\n  {marked}\n", highlight=False)


@cli.command()
@click.option("--site", help="only stories with an article on this site")
@click.option("--limit", default=50, show_default=True)
@config_option
@click.option("--json", "json_output", is_flag=True)
@fail_cleanly
def stories(site: str | None, limit: int, config_path: str, json_output: bool) -> None:
    """Story clusters: the same text on several URLs or sites (reprints, in either script, with
    other boilerplate or small edits), with each member's site and dates.

    \b
    Example:
      muniarchive stories --site binhe-news
    """
    from archive.queries import stories as list_stories

    config = load_config(config_path)
    archive = open_archive(config)
    check_sites(config, [site], archive)
    data = list_stories(archive, site=site, limit=limit)
    tz = config.defaults.timezone
    if json_output:
        _print_json(data, tz)
        return
    table = Table("story", "site", "published", "first seen", "title")
    for story in data:
        for index, member in enumerate(story["articles"]):
            table.add_row(str(story["story"]) if index == 0 else "", member["site"],
                          _local(member["publish_time"], tz), _local(member["first_seen"], tz), member["title"] or "")
    console.print(table)


@cli.command()
@click.argument("url")
@config_option
@click.option("--json", "json_output", is_flag=True)
@fail_cleanly
def history(url: str, config_path: str, json_output: bool) -> None:
    """Every version an article has had, oldest first, with when it was stored, why (crawl,
    reprocess, import) and a short diff against the version before.

    \b
    Example:
      muniarchive history http://www.binhe.gov.cn/zwdt/202609/t20260901_100101.html
    """
    from archive.queries import history as article_history

    config = load_config(config_path)
    data = article_history(open_archive(config), url)
    if data is None:
        raise click.ClickException(f"{url}: not in the archive {mask_url(config.database_url)}")
    tz = config.defaults.timezone
    if json_output:
        _print_json(data, tz)
        return
    console.print(f"[bold]{escape(data['title'] or '')}[/bold]\n{data['url']}")
    for version in data["versions"]:
        console.print(f"\nversion {version['version']}  {_local(version['created_at'], tz)}  ({version['reason']}, "
                      f"{version['characters']} characters)", highlight=False)
        for line in version.get("diff", []):
            colour = "green" if line.startswith("+") else "red" if line.startswith("-") else "dim"
            console.print(f"  [{colour}]{escape(line)}[/{colour}]", highlight=False)


@cli.command()
@click.option("--site", "sites", multiple=True, help="only this site (repeatable); default every site")
@config_option
@click.option("--json", "json_output", is_flag=True)
@fail_cleanly
def reprocess(sites: tuple[str, ...], config_path: str, json_output: bool) -> None:
    """Extract and clean every stored article again from its stored capture, with the current
    rules and the config's selectors. Nothing is fetched; a result that differs becomes a new
    version marked `reprocess`, the old one stays.

    \b
    Example:
      muniarchive reprocess --site binhe-news
    """
    from crawler.offline import count_articles
    from crawler.offline import reprocess as run_reprocess

    config = load_config(config_path)
    check_sites(config, sites)
    keys = list(sites) or [s.key for s in config.sites]
    archive = open_archive(config)
    with _progress() as progress:
        task = progress.add_task("reprocessing", total=count_articles(archive, keys))
        results = run_reprocess(config, archive, keys, lambda n: progress.advance(task, n))
    plan_changes = watch_plans(config, archive)
    data = {key: {**tally.counts, "failures": tally.failures} for key, tally in results.items()}
    if json_output:
        _print_json(data)
        return
    table = Table("site", "changed (new versions)", "unchanged", "failed")
    for key, row in data.items():
        table.add_row(key, str(row["updated"]), str(row["unchanged"]), str(row["failed"]))
    console.print(table)
    for row in data.values():
        for failure in row["failures"]:
            console.print(f"[red]failed[/red]: {escape(failure)}", highlight=False)
    _print_plan_changes(plan_changes)


@cli.command("import-text")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--site", "site_key", required=True, help="the config's site these dumps come from")
@config_option
@click.option("--json", "json_output", is_flag=True)
@fail_cleanly
def import_text(folder: str, site_key: str, config_path: str, json_output: bool) -> None:
    """Clean and archive legacy text dumps (every .txt under FOLDER, UTF-8, one paragraph a
    line) as articles of SITE. A dump whose text the archive already holds is skipped as a
    duplicate; importing the same folder twice stores nothing new.

    \b
    Example:
      muniarchive import-text ../shared/samples --site weifang-gov
    """
    from crawler.offline import import_text as run_import

    config = load_config(config_path)
    check_sites(config, [site_key])
    archive = open_archive(config)
    total = sum(1 for _ in Path(folder).rglob("*.txt"))
    with _progress() as progress:
        task = progress.add_task("importing", total=total)
        tally = run_import(config, archive, Path(folder), site_key, lambda n: progress.advance(task, n))
    plan_changes = watch_plans(config, archive)
    if json_output:
        _print_json({**tally.counts, "failures": tally.failures})
        return
    console.print(f"{total} files: {tally.counts['new']} archived, {tally.counts['updated']} updated, "
                  f"{tally.counts['unchanged'] + tally.counts['duplicate']} already held, "
                  f"{tally.counts['failed']} failed")
    for failure in tally.failures:
        console.print(f"[red]failed[/red]: {escape(failure)}", highlight=False)
    _print_plan_changes(plan_changes)


def _print_plan_changes(changes: list) -> None:
    for change in changes:
        console.print(f"plan release {change.change}: {escape(change.title)}  (muniarchive plans)", highlight=False)


@cli.command()
@click.option("--new", "only_new", is_flag=True,
              help="only releases no earlier `plans --new` showed (for scripts: each is shown once)")
@click.option("--region", help="only regions containing this text (长宁区, 滨河市)")
@click.option("--since", metavar="YYYY-MM-DD", help="only releases published on or after this day")
@click.option("--feed", "feed_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="also write the listed releases as an Atom feed to FILE (for feed readers)")
@config_option
@click.option("--json", "json_output", is_flag=True)
@fail_cleanly
def plans(only_new: bool, region: str | None, since: str | None, feed_path: str | None, config_path: str,
          json_output: bool) -> None:
    """Plan releases found in the archive: a plan (十四五/十五五 纲要, a 专项规划 …) at a stage
    (建议, 纲要草案, 征求意见稿, 印发, 中期评估, 调整/修订) in a region, newest first.

    Detection runs after every crawl, and first here for anything stored since (imports,
    reprocessing); a new release is notified once through the config's alert URLs.

    \b
    Examples:
      muniarchive plans
      muniarchive plans --region 长宁区 --since 2026-01-01 --json
      muniarchive plans --feed /var/www/plans.atom
      muniarchive plans --new --json      # in a cron job: what appeared since it last ran
    """
    from archive.plans import mark, release_record, releases, write_feed

    config = load_config(config_path)
    archive = open_archive(config)
    tz = config.defaults.timezone
    watch_plans(config, archive)
    found = releases(archive, region=region, since=_date(since, tz, "--since"), not_yet="listed_at" if only_new else None)
    if feed_path:
        write_feed(found, Path(feed_path), tz=tz)
    if only_new:
        mark(archive, [r.id for r in found], "listed_at")
    if json_output:
        _print_json([release_record(r) for r in found], tz)
        return
    _print_releases(found, tz)
    if feed_path:
        console.print(f"feed written: {feed_path} ({len(found)} entries)")


def _print_releases(found, tz: str) -> None:
    table = Table("published", "region", "stage", "period", title="plan releases")
    table.add_column("plan", overflow="fold")
    table.add_column("document", overflow="fold")
    for release in found:
        table.add_row(_local(release.published_at, tz)[:10], release.region, release.stage_label,
                      release.period or "-", release.plan_name, release.url)
    console.print(table if found else "no plan releases")


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "parquet", "warc"]), required=True,
              help="jsonl / csv: one record per article; parquet: typed columns; warc: the raw captures")
@click.option("--site", help="only this site")
@click.option("--from", "date_from", metavar="YYYY-MM-DD", help="published on or after this day")
@click.option("--to", "date_to", metavar="YYYY-MM-DD", help="published before this day")
@click.option("--since-last", metavar="NAME",
              help="only what was stored since the last complete export to the target NAME")
@click.option("--versions", is_flag=True, help="every version of each article, not only the current one")
@click.option("--what", type=click.Choice(["articles", "attachments", "all"]),
              help="articles (the default; in jsonl/parquet each with its attachments), attachments (one record "
                   "per file), or all: both, the attachments to a companion file (a.csv: a.attachments.csv); "
                   "a WARC holds all by default")
@click.option("--out", metavar="PATH|-", default="-", show_default=True,
              help="the file to write (written beside it first, renamed when complete); - for stdout")
@config_option
@fail_cleanly
def export(fmt: str, site: str | None, date_from: str | None, date_to: str | None, since_last: str | None,
           versions: bool, what: str | None, out: str, config_path: str) -> None:
    """Stream the archive out for other tools; memory stays flat however large it is.

    Records and their fields (schema version 3) are described in docs/export.md. CSV is
    UTF-8 with a BOM, so Excel opens it correctly on a Chinese-locale Windows. With
    --since-last NAME each record (or new version) goes to NAME once: the target's cursor
    moves only when the export completed.

    \b
    Examples:
      muniarchive export --format jsonl --site binhe-gov > binhe.jsonl
      muniarchive export --format parquet --out archive.parquet
      muniarchive export --format csv --since-last excel-weekly --out new.csv
      muniarchive export --format csv --what all --out plans.csv   # and plans.attachments.csv
      muniarchive export --format warc --out captures.warc.gz
    """
    from archive.export import Selection
    from archive.export import export as run_export

    if out == "-" and (fmt == "parquet" or (what == "all" and fmt != "warc")):
        raise click.UsageError(f"{'parquet' if fmt == 'parquet' else '--what all (two files)'} needs a file: "
                               "give --out PATH")
    config = load_config(config_path)
    archive = open_archive(config, cache_kib=EXPORT_CACHE_KIB)
    check_sites(config, [site], archive)
    tz = config.defaults.timezone
    selection = Selection(site=site, date_from=_date(date_from, tz, "--from"), date_to=_date(date_to, tz, "--to"),
                          versions=versions)
    try:
        counts = run_export(archive, fmt, out, tz, selection, since_last, what)
    except OSError as exc:
        raise click.ClickException(f"{out if out != '-' else 'stdout'}: cannot write: {exc.strerror or exc}") from None
    click.echo(f"exported {', '.join(f'{n} {kind}' for kind, n in counts.items())}"
               + (f" to {out}" if out != "-" else ""), err=True)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on (0.0.0.0: every network)")
@click.option("--port", default=8001, show_default=True, type=int)
@config_option
@fail_cleanly
def serve(host: str, port: int, config_path: str) -> None:
    """Read and search the archive in a web browser, read-only.

    The home page (/) has a search box (as `muniarchive search`: either script, every
    spelling of a plan period), the newest articles per site and the latest plan releases;
    each article has a page with its fields, attachments with their text, versions and the
    raw capture. Datasette's table browser, with canned queries, is under /DATABASE. Runs
    until Ctrl-C.

    \b
    Example:
      muniarchive serve --config config.yaml      # then open http://127.0.0.1:8001/
    """
    from scheduler.serve import datasette_command

    config = load_config(config_path)
    command = datasette_command(config.database_url, config.defaults.timezone, host, port)
    click.echo(f"serving {mask_url(config.database_url)} read-only at http://{host}:{port}/ (Ctrl-C stops)", err=True)
    os.execvp(command[0], command)


# ---------------------------------------------------------------------------- extract

@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--url", help="the page's URL (dates and links are read from it); default file://PATH")
@click.option("--jsonl", is_flag=True, help="one JSON object per line (what ../shared/eval/score.py reads)")
@fail_cleanly
def extract(files: tuple[str, ...], url: str | None, jsonl: bool) -> None:
    """Run the crawler's extract+clean code on saved pages: raw HTML bytes in any encoding,
    or plain-text dumps (.txt). Prints one JSON object per file, `id` being the file's stem.

    \b
    Example:
      muniarchive extract page.html --url http://www.example.gov.cn/art/2021/1/20/art_1_2.html
      muniarchive extract ../shared/eval/dev/*.html --jsonl > predictions.jsonl
    """
    from crawler.extract import extract_article, extract_from_text

    for name in files:
        path = Path(name)
        data = path.read_bytes()
        page_url = url or path.resolve().as_uri()
        if path.suffix.lower() == ".txt":
            article = extract_from_text(data.decode("utf-8", errors="replace"), page_url)
        else:
            article = extract_article(data, page_url)
        record = {"id": path.stem, **article.as_record()}
        click.echo(json.dumps(record, ensure_ascii=False, indent=None if jsonl else 2))


# ---------------------------------------------------------------------------- probe

@cli.command()
@click.argument("url")
@click.option("--save", "save_key", metavar="KEY", help="add the suggested site to the config under this key")
@click.option("--pages", default=3, show_default=True, help="list pages to read (the first and those after it)")
@click.option("--articles", default=2, show_default=True, help="articles to fetch and extract")
@config_option
@click.option("--json", "json_output", is_flag=True)
@fail_cleanly
def probe(url: str, save_key: str | None, pages: int, articles: int, config_path: str, json_output: bool) -> None:
    """Look at a list page and suggest how to crawl it: the CMS family, the pagination and
    the list pages after this one, the article links grouped by URL shape with an
    article_pattern, attachment links with a pattern, and what extraction gives on one or two
    articles (title, date, source, body start, which selector chose the body).

    Polite like a crawl: robots.txt, the config's user agent, timeout and delay, nothing
    outside the URL's scheme, host and port. --save KEY adds the suggestion to the config as a
    new site, every existing line kept; a key already used is refused.

    \b
    Examples:
      muniarchive probe http://www.example.gov.cn/xwdt/index.html
      muniarchive probe http://www.example.gov.cn/col/col123/index.html --save example-gov
    """
    from crawler.config import Config
    from crawler.probe import ProbeError, add_site, save_comment, site_entry
    from crawler.probe import probe as run_probe

    path = Path(config_path)
    config = load_config(path) if path.exists() else Config()
    try:
        report = run_probe(url, config, list_pages=pages, articles=articles)
        if save_key:
            add_site(path, site_entry(report, save_key), save_comment(report))
    except ProbeError as exc:
        raise click.ClickException(str(exc)) from None
    if json_output:
        _print_json(report | {"saved": save_key})
        return
    console.print(f"[bold]{escape(url)}[/bold]: {escape(report['name'])}, {escape(report['cms'])}", highlight=False)
    for family in report["families"]:
        console.print(f"  {family['name']} ({family['score']}): {escape('; '.join(family['evidence']))}",
                      highlight=False)
    console.print(f"pagination: {escape(json.dumps(report['pagination'], ensure_ascii=False))}\n"
                  f"  because {escape(report['pagination_reason'])}", highlight=False)
    for page in report["list_pages"]:
        console.print(f"  read {escape(page['request'])}: {page['links']} links", highlight=False)
    console.print(f"  next: {escape(report['next_list_page'] or 'none (the list ends here)')}", highlight=False)
    table = Table("links", "pattern", "example", title="links by URL shape")
    for group in report["groups"]:
        table.add_row(str(group["links"]) + (" articles" if group["articles"] else ""), escape(group["pattern"]),
                      escape(group["examples"][0]))
    console.print(table)
    console.print(f"article_pattern: {escape(str(report['article_pattern']))} ({report['article_links']} links)\n"
                  f"attachment_pattern: {escape(report['attachment_pattern'])} "
                  f"({len(report['attachment_links'])} attachment links on the articles read)", highlight=False)
    for article in report["articles"]:
        console.print(f"[bold]{escape(article['url'])}[/bold]", highlight=False)
        if "error" in article:
            console.print(f"  {article['error']}")
            continue
        chosen = article["body_from"] + (f" {article['body_selector']}" if article["body_selector"] else "") \
            if article["body_from"] else "nothing: no body found"
        for label, value in (("title", article["title"]), ("date", article["publish_time"]),
                             ("source", article["source"]), ("body", article["body_start"]), ("body from", chosen)):
            console.print(f"  {label}: {escape(str(value))}", highlight=False)
    for warning in report["warnings"]:
        console.print(f"[yellow]warning[/yellow]: {escape(warning)}", highlight=False)
    if save_key:
        console.print(f"saved as site {save_key!r} in {path}; crawl it: muniarchive crawl {save_key} --config {path}",
                      highlight=False)


# ---------------------------------------------------------------------------- demo

@cli.command()
@click.option("--keep", type=click.Path(file_okay=False), help="keep the archive and config in this folder")
@click.option("--json", "json_output", is_flag=True, help="print the summary as JSON")
@fail_cleanly
def demo(keep: str | None, json_output: bool) -> None:
    """Serve the bundled sample sites on 127.0.0.1 and crawl them all into a fresh archive.

    Needs no network and no set-up. Prints, per site: list pages fetched, articles
    archived, attachments found, errors; then the plan releases found (see `plans`). With
    --keep DIR the archive (DIR/archive.db) and the config (DIR/config.yaml) stay, so you
    can go on with `muniarchive runs --config DIR/config.yaml`, `show`, `plans`, or crawl again.
    """
    from archive.plans import release_record, releases
    from crawler.config import load_config as load
    from crawler.samplesites import SampleSites

    # its own archive only, whatever the environment names (the Docker image sets $MUNIARCHIVE_DB):
    # the crawls it starts inherit this environment
    os.environ.pop(DB_ENV, None)
    workdir = Path(keep).resolve() if keep else Path(tempfile.mkdtemp(prefix="muniarchive-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    archive_path = workdir / "archive.db"
    if keep and archive_path.exists():
        raise click.ClickException(f"{archive_path} exists: the demo starts from a fresh archive; "
                                   "choose another --keep folder")
    try:
        with SampleSites() as sites:
            config_path = workdir / "config.yaml"
            config_path.write_text(
                "# Written by `muniarchive demo`: the bundled sample sites, served on 127.0.0.1 while it ran.\n"
                + yaml.safe_dump(sites.config(f"sqlite:///{archive_path}"), allow_unicode=True, sort_keys=False),
                encoding="utf-8")
            config = load(config_path)
            archive = open_archive(config)
            results = crawl_sites(config, [s.key for s in config.sites], archive)
            summary = []
            for result in results:
                counts = archive.counts(archive.site_id(result.site))
                summary.append({
                    "site": result.site, "name": config.site(result.site).name, "status": result.status,
                    "list_pages": result.stats.get("list_pages", 0), "articles": counts["articles"],
                    "attachments": counts["attachments"], "errors": result.stats.get("errors", 0),
                    "run": result.run_id,
                })
            found = releases(archive)
            plan_releases = [release_record(r) for r in found]
            archive.close()
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    if json_output:
        _print_json({"archive": str(archive_path) if keep else None, "sites": summary,
                     "plan_releases": plan_releases}, config.defaults.timezone)
    else:
        table = Table("site", "name", "status", "list pages", "articles", "attachments", "errors",
                      title="muniarchive demo: sample sites crawled")
        for row in summary:
            table.add_row(row["site"], row["name"], row["status"], str(row["list_pages"]), str(row["articles"]),
                          str(row["attachments"]), str(row["errors"]))
        console.print(table)
        _print_releases(found, config.defaults.timezone)
        if keep:
            console.print(f"archive kept: {archive_path}\ntry: muniarchive runs --config {workdir / 'config.yaml'}")
        else:
            console.print("The archive was temporary; run `muniarchive demo --keep DIR` to keep it.")
    if any(row["status"] not in SUCCEEDED for row in summary):
        sys.exit(1)


def main() -> None:
    cli(prog_name="muniarchive")


if __name__ == "__main__":
    main()
