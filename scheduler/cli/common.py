"""What every command shares: the console, config option, JSON and time formats, one-line errors."""

from __future__ import annotations

import functools
import json
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import select

from archive import Archive, ArchiveError
from archive.models import Site
from crawler.config import ConfigError

CONFIG_ENV = "MUNIARCHIVE_CONFIG"
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
json_option = click.option("--json", "json_output", is_flag=True,
                           help="print JSON for scripts (times ISO 8601 with their offset)")


def local_time(value: datetime | None, tz: str) -> str:
    """A time as a table shows it: in the config's zone, to the second."""
    return value.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def timestamp(value: datetime, tz: str | None) -> str:
    """The one time format of all JSON output: ISO 8601 with its offset, in `tz` when given."""
    return (value.astimezone(ZoneInfo(tz)) if tz else value).isoformat()


def print_json(data, tz: str | None = None) -> None:
    """JSON on stdout, every time in the format of `timestamp`."""

    def encode(value):
        return timestamp(value, tz) if isinstance(value, datetime) else str(value)

    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=encode))


def day(value: str | None, tz: str, option: str) -> datetime | None:
    """A YYYY-MM-DD option as the start of that day in the config's zone."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=ZoneInfo(tz))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=option) from None


def progress_bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TimeElapsedColumn(), console=console, disable=not sys.stdout.isatty(), transient=True)
