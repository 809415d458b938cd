"""Running unattended: `scheduler start`, `jobs`, `doctor`."""

from __future__ import annotations

import logging
import signal
import sys

import click
from rich.table import Table

from archive.masking import mask_text, mask_url
from crawler.config import load_config
from scheduler.cli.common import config_option, console, fail_cleanly, json_option, local_time, print_json
from scheduler.runner import open_archive


@click.group("scheduler")
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
    scheduler.misfire_grace. Due runs wait in a queue for one of the crawl slots
    (scheduler.max_parallel_crawls, auto: from the cores and memory; fewer if
    scheduler.max_requests_per_second needs it): earliest due first, then the site whose
    last run took longest. With scheduler.runner: scrapyd each crawl is a job on the
    least busy Scrapyd node of scheduler.scrapyd.nodes (the slots: the sum of their
    max_proc); a node that does not answer is skipped with an incident. A run still queued at its site's next due time is a `late`
    incident; when the queue drains the log says how many sites ran and how long it took.
    SIGTERM or Ctrl-C: no new runs; running crawls get scheduler.stop_grace to finish,
    then are stopped and recorded as interrupted.

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
    # one write, so that whoever watches the output sees the whole summary or none of it
    lines = [f"scheduler started: {len(config.sites)} sites, archive {mask_url(archive.url)}, time zone {tz}",
             f"crawl slots: {service.slots} ({service.slots_reason})"]
    if config.scheduler.runner == "scrapyd":
        nodes = config.scheduler.scrapyd.nodes
        lines.append(f"crawls run on Scrapyd nodes (project {config.scheduler.scrapyd.project}): "
                     + ", ".join(f"{node.url} (max_proc {node.max_proc})" for node in nodes))
    lines.append("alerts to: " + (", ".join(service.alerts.targets) or "nobody (no alerts.urls in the config)"))
    lines.append("jobs: " + ("; ".join(changes) if changes else "unchanged"))
    lines += [f"  {job.site}: next run {local_time(job.next_run, tz)} ({job.spec})"
              for job in stored_jobs(config, archive)]
    click.echo("\n".join(lines))
    service.wait()


@click.command()
@config_option
@json_option
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
                     "next_run": job.next_run if job else None})
    data += [{"site": key, "schedule": job.spec, "scheduled": True, "not_in_config": True,
              "next_run": job.next_run} for key, job in stored.items()]
    if json_output:
        print_json(data, tz)
        return
    table = Table("site", "schedule", f"next run ({tz})", "")
    for row in data:
        note = ("not in the config (removed at the next scheduler start)" if row.get("not_in_config")
                else "" if row["scheduled"] else "not scheduled yet: restart the scheduler")
        table.add_row(row["site"], row["schedule"], local_time(row["next_run"], tz), note)
    console.print(table)


@click.command()
@config_option
@click.option("--timeout", default=10.0, show_default=True, help="seconds to wait for each site")
@json_option
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
        print_json(checks)
    else:
        for check in checks:
            mark = "[green]ok[/green]  " if check["ok"] else "[red]FAIL[/red]"
            console.print(f"{mark} {check['check']}: {check['detail']}", highlight=False)
    if not all(check["ok"] for check in checks):
        sys.exit(1)
