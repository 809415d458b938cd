"""Plan releases: `plans`, and how other commands mention the releases they found."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from crawler.config import load_config
from scheduler.cli.common import (
    config_option,
    console,
    day,
    fail_cleanly,
    json_option,
    local_time,
    print_json,
)
from scheduler.runner import open_archive, watch_plans


def print_releases(found, tz: str) -> None:
    table = Table("published", "region", "stage", "period", title="plan releases")
    table.add_column("plan", overflow="fold")
    table.add_column("document", overflow="fold")
    for release in found:
        table.add_row(local_time(release.published_at, tz)[:10], escape(release.region), release.stage_label,
                      release.period or "-", escape(release.plan_name), escape(release.url))
    console.print(table if found else "no plan releases")


def print_plan_changes(changes: list) -> None:
    for change in changes:
        console.print(f"plan release {change.change}: {escape(change.title)}  (muniarchive plans)", highlight=False)


@click.command()
@click.option("--new", "only_new", is_flag=True,
              help="only releases no earlier `plans --new` showed (for scripts: each is shown once)")
@click.option("--region", help="only regions containing this text (长宁区, 滨河市)")
@click.option("--since", metavar="YYYY-MM-DD", help="only releases published on or after this day")
@click.option("--feed", "feed_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="also write an Atom feed to FILE (for feed readers) of every release matching --region and "
                   "--since, --new or not: a feed reader keeps what it has already seen")
@config_option
@json_option
@fail_cleanly
def plans(only_new: bool, region: str | None, since: str | None, feed_path: str | None, config_path: str,
          json_output: bool) -> None:
    """Plan releases found in the archive: a plan (十四五/十五五 纲要, a 专项规划 …) at a stage
    (建议, 纲要草案, 征求意见稿, 印发, 中期评估, 调整/修订) in a region, newest first.

    Detection runs after every crawl, and first here for anything stored since (imports,
    reprocessing); a new release is notified once through the config's alert URLs.

    The --feed file always holds every matching release, whatever --new lists: a cron job
    running `plans --new --feed FILE` never leaves the feed empty when nothing is new.

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
    since_day = day(since, tz, "--since")
    found = releases(archive, region=region, since=since_day, not_yet="listed_at" if only_new else None)
    if feed_path:
        in_feed = releases(archive, region=region, since=since_day) if only_new else found
        write_feed(in_feed, Path(feed_path), tz=tz)
    if only_new:
        mark(archive, [r.id for r in found], "listed_at")
    if json_output:
        print_json([release_record(r) for r in found], tz)
        return
    print_releases(found, tz)
    if feed_path:
        console.print(f"feed written: {feed_path} ({len(in_feed)} entries)")
