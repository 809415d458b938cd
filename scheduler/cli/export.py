"""`export`: the archive streamed out for other tools."""

from __future__ import annotations

import click

from crawler.config import load_config
from scheduler.cli.common import check_sites, config_option, day, fail_cleanly
from scheduler.runner import open_archive

# export reads each page once, in order: a large page cache would only hold memory
EXPORT_CACHE_KIB = 8 * 1024


@click.command()
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
    selection = Selection(site=site, date_from=day(date_from, tz, "--from"), date_to=day(date_to, tz, "--to"),
                          versions=versions)
    try:
        counts = run_export(archive, fmt, out, tz, selection, since_last, what)
    except OSError as exc:
        raise click.ClickException(f"{out if out != '-' else 'stdout'}: cannot write: {exc.strerror or exc}") from None
    click.echo(f"exported {', '.join(f'{n} {kind}' for kind, n in counts.items())}"
               + (f" to {out}" if out != "-" else ""), err=True)
