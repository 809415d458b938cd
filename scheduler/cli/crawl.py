"""Crawling: `crawl` (the config's sites) and `demo` (the bundled sample sites)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import click
import yaml
from rich.markup import escape
from rich.table import Table

from archive import Archive
from archive.models import SUCCEEDED
from crawler.config import DB_ENV, load_config
from scheduler.cli.common import (
    check_sites,
    config_option,
    console,
    fail_cleanly,
    json_option,
    print_json,
    progress_bar,
)
from scheduler.cli.plans import print_releases
from scheduler.runner import open_archive, run_crawl

# `crawl` when a site was skipped (a run of it was going) and none failed: as `python -m crawler crawl`
EXIT_SKIPPED = 4
# the crawl writes its stats to its run row every 5 s (crawler.extensions): no use reading faster
PROGRESS_READ_SECONDS = 1.0


def _counts(stats: dict) -> str:
    return (f"{stats.get('requests', 0)} pages fetched, {stats.get('articles_new', 0)} articles new, "
            f"{stats.get('articles_updated', 0)} updated, {stats.get('errors', 0)} errors")


def crawl_sites(config, keys: list[str], archive: Archive):
    """Crawl each site in turn. In a terminal a progress bar says what the running crawl has
    done so far (read from its run row); elsewhere (a log, a pipe) one line on stderr per site
    as it finishes."""
    results = []
    with progress_bar() as progress:
        task = progress.add_task("crawling", total=len(keys))
        for key in keys:
            last_read = 0.0

            def show_progress(run_id: int, key=key) -> None:
                nonlocal last_read
                if time.monotonic() - last_read >= PROGRESS_READ_SECONDS:
                    last_read = time.monotonic()
                    if stats := archive.get_run(run_id).stats:  # none until the crawl's first write
                        progress.update(task, description=f"crawling {key}: {_counts(stats)}")

            progress.update(task, description=f"crawling {key}")
            result = run_crawl(config, key, archive, while_running=None if progress.disable else show_progress)
            results.append(result)
            progress.advance(task)
            if progress.disable:
                click.echo(f"{key}: {result.status}, {_counts(result.stats)} (run {result.run_id}, log "
                           f"{result.log_path})", err=True)
    return results


@click.command()
@click.argument("sites", nargs=-1)
@click.option("--all", "all_sites", is_flag=True, help="crawl every site in the config")
@config_option
@json_option
@fail_cleanly
def crawl(sites: tuple[str, ...], all_sites: bool, config_path: str, json_output: bool) -> None:
    """Crawl SITES (keys from the config), or --all, into the archive.

    Each crawl runs as its own process (`python -m crawler crawl SITE`) and is recorded
    as a run: see `muniarchive runs`. In a terminal a progress line shows the running crawl's
    pages fetched and articles new/updated; elsewhere one line per site goes to stderr as it
    finishes. Exits 1 when any crawl did not succeed; a crawl that succeeded with warnings
    (its config looks wrong: see the line printed for it) exits 0.

    One site, one run: while a run of a site is going (the scheduler's, another `crawl`, on
    any machine sharing the archive) a crawl of it does not start; it is recorded as a run
    `skipped` with the reason (which run, on which host, since when), and the command exits
    4 (when nothing failed) at once.

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
        print_json([r.__dict__ for r in results], config.defaults.timezone)
    else:
        table = Table("run", "site", "status", "requests", "new", "updated", "errors", "log")
        for r in results:
            table.add_row(str(r.run_id), r.site, r.status, str(r.stats.get("requests", 0)),
                          str(r.stats.get("articles_new", 0)), str(r.stats.get("articles_updated", 0)),
                          str(r.stats.get("errors", 0)), r.log_path)
        console.print(table)
        for r in results:
            if r.error and r.status != "skipped":
                warning = "warning: " if r.status == "succeeded_with_warnings" else ""
                console.print(f"[red]{r.site}[/red]: {warning}{escape(r.error)}")
    for r in results:
        if r.status == "skipped":
            click.echo(f"skipped: {r.error}", err=True)
    if any(r.status not in (*SUCCEEDED, "skipped") for r in results):
        sys.exit(1)
    if any(r.status == "skipped" for r in results):
        sys.exit(EXIT_SKIPPED)


@click.command()
@click.option("--keep", type=click.Path(file_okay=False), help="keep the archive and config in this folder")
@json_option
@fail_cleanly
def demo(keep: str | None, json_output: bool) -> None:
    """Serve the bundled sample sites on 127.0.0.1 and crawl them all into a fresh archive.

    Needs no network and no set-up. Prints, per site: list pages fetched, articles
    archived, attachments found, errors; then the plan releases found (see `plans`). With
    --keep DIR the archive (DIR/archive.db) and the config (DIR/config.yaml) stay, so you
    can go on with `muniarchive runs --config DIR/config.yaml`, `show`, `plans`, or crawl again.
    """
    from archive.plans import release_record, releases
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
            config = load_config(config_path)
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
        print_json({"archive": str(archive_path) if keep else None, "sites": summary,
                    "plan_releases": plan_releases}, config.defaults.timezone)
    else:
        table = Table("site", "name", "status", "list pages", "articles", "attachments", "errors",
                      title="muniarchive demo: sample sites crawled")
        for row in summary:
            table.add_row(row["site"], row["name"], row["status"], str(row["list_pages"]), str(row["articles"]),
                          str(row["attachments"]), str(row["errors"]))
        console.print(table)
        print_releases(found, config.defaults.timezone)
        if keep:
            console.print(f"archive kept: {archive_path}\ntry: muniarchive runs --config {workdir / 'config.yaml'}")
        else:
            console.print("The archive was temporary; run `muniarchive demo --keep DIR` to keep it.")
    if any(row["status"] not in SUCCEEDED for row in summary):
        sys.exit(1)
