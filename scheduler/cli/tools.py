"""Working on pages and the archive without a crawl: `extract`, `import-text`, `reprocess`,
`probe` (a new site), `serve` (the browser view), `migrate` (the archive's schema), `copy`
(the archive to another database)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from archive.db import current_revision, pending_revisions
from archive.db import migrate as migrate_archive
from archive.masking import mask_url
from crawler.config import load_config
from scheduler.cli.common import (
    check_sites,
    config_option,
    console,
    fail_cleanly,
    json_option,
    print_json,
    progress_bar,
)
from scheduler.cli.plans import print_plan_changes
from scheduler.runner import open_archive, watch_plans


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on (0.0.0.0: every network)")
@click.option("--port", default=8001, show_default=True, type=int, help="port to listen on")
@click.option("--refresh", "refresh_seconds", default=900, show_default=True, type=click.IntRange(10),
              metavar="SECONDS", help="PostgreSQL archive: remake the table browser's snapshot this often")
@config_option
@fail_cleanly
def serve(host: str, port: int, refresh_seconds: int, config_path: str) -> None:
    """Read and search the archive in a web browser, read-only.

    The home page (/) has a search box (as `muniarchive search`: either script, every
    spelling of a plan period), the newest articles per site and the latest plan releases;
    each article has a page with its fields, attachments with their text, versions and the
    raw capture. Datasette's table browser, with canned queries, is under /DATABASE. Runs
    until Ctrl-C.

    A PostgreSQL archive: the pages above read it directly (read-only); Datasette, which
    reads SQLite only, browses a snapshot of it (/archive: every table but the raw captures
    and the dedup index), remade in the background every --refresh seconds and when the
    process gets SIGHUP.

    \b
    Examples:
      muniarchive serve --config config.yaml      # then open http://127.0.0.1:8001/
      muniarchive serve --config pg.yaml --refresh 300   # archive.url: postgresql+psycopg://...
      kill -HUP <pid of serve>                     # remake the snapshot now
    """
    from scheduler.serve import datasette_command

    config = load_config(config_path)
    command = datasette_command(config.database_url, config.defaults.timezone, host, port, refresh_seconds)
    click.echo(f"serving {mask_url(config.database_url)} read-only at http://{host}:{port}/ (Ctrl-C stops)", err=True)
    os.execvp(command[0], command)

@click.command()
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

@click.command()
@click.option("--site", "sites", multiple=True, help="only this site (repeatable); default every site")
@config_option
@json_option
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
    with progress_bar() as progress:
        task = progress.add_task("reprocessing", total=count_articles(archive, keys))
        results = run_reprocess(config, archive, keys, lambda n: progress.advance(task, n))
    plan_changes = watch_plans(config, archive)
    data = {key: {**tally.counts, "failures": tally.failures} for key, tally in results.items()}
    if json_output:
        print_json(data)
        return
    table = Table("site", "changed (new versions)", "unchanged", "failed")
    for key, row in data.items():
        table.add_row(key, str(row["updated"]), str(row["unchanged"]), str(row["failed"]))
    console.print(table)
    for row in data.values():
        for failure in row["failures"]:
            console.print(f"[red]failed[/red]: {escape(failure)}", highlight=False)
    print_plan_changes(plan_changes)


@click.command("import-text")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--site", "site_key", required=True, help="the config's site these dumps come from")
@config_option
@json_option
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
    with progress_bar() as progress:
        task = progress.add_task("importing", total=total)
        tally = run_import(config, archive, Path(folder), site_key, lambda n: progress.advance(task, n))
    plan_changes = watch_plans(config, archive)
    if json_output:
        print_json({**tally.counts, "failures": tally.failures})
        return
    console.print(f"{total} files: {tally.counts['new']} archived, {tally.counts['updated']} updated, "
                  f"{tally.counts['unchanged'] + tally.counts['duplicate']} already held, "
                  f"{tally.counts['failed']} failed")
    for failure in tally.failures:
        console.print(f"[red]failed[/red]: {escape(failure)}", highlight=False)
    print_plan_changes(plan_changes)

@click.command()
@click.argument("url")
@click.option("--save", "save_key", metavar="KEY", help="add the suggested site to the config under this key")
@click.option("--pages", default=3, show_default=True, help="list pages to read (the first and those after it)")
@click.option("--articles", default=2, show_default=True, help="articles to fetch and extract")
@config_option
@json_option
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
        print_json(report | {"saved": save_key})
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


@click.command()
@click.option("--check", is_flag=True, help="change nothing: exit 1 when the archive is behind, saying how far")
@config_option
@json_option
@fail_cleanly
def migrate(check: bool, config_path: str, json_output: bool) -> None:
    """Bring the configured archive's schema to this version of muniarchive (a no-op when it is
    there), and say from which revision to which.

    Every command migrates the archive it opens; with several machines on one PostgreSQL
    archive, run this once per deployment (the migrations take a lock, so two at once are safe)
    and have the workers start with `migrate --check`.

    \b
    Examples:
      muniarchive migrate
      muniarchive migrate --check    # exit 1 if the archive is behind
    """
    config = load_config(config_path)
    archive = open_archive(config, upgrade=False)
    try:
        pending = pending_revisions(archive.engine)
        start = current_revision(archive.engine)
        if not check and pending:
            migrate_archive(archive.engine)
        end = current_revision(archive.engine)
    finally:
        archive.close()
    where = mask_url(config.database_url)
    if json_output:
        print_json({"archive": where, "from": start, "to": end, "pending": pending if check else []})
    elif check and pending:
        click.echo(f"{where}: at revision {start or 'none (empty)'}, {len(pending)} migration(s) behind "
                   f"{pending[-1]} ({', '.join(pending)}): run `muniarchive migrate`")
    elif not pending:
        click.echo(f"{where}: at revision {end}, the newest; nothing to do")
    else:
        click.echo(f"{where}: migrated from {start or 'none (empty)'} to {end} ({len(pending)} migration(s))")
    if check and pending:
        raise SystemExit(1)


@click.command()
@click.option("--from", "source", required=True, metavar="URL", envvar="MUNIARCHIVE_COPY_FROM",
              help="the archive to copy (or $MUNIARCHIVE_COPY_FROM), at the newest revision")
@click.option("--to", "target", required=True, metavar="URL", envvar="MUNIARCHIVE_COPY_TO",
              help="where to (or $MUNIARCHIVE_COPY_TO): an empty database, or an earlier copy stopped part way")
@click.option("--batch", default=1000, show_default=True, type=click.IntRange(1), help="rows per transaction")
@json_option
@fail_cleanly
def copy(source: str, target: str, batch: int, json_output: bool) -> None:
    """Copy a whole archive to another database: SQLite to PostgreSQL, PostgreSQL to SQLite,
    or SQLite to SQLite. Every table (articles, versions, captures, runs, sites, stories, plans,
    incidents, ...) with its ids; the target is created and migrated, and its search index is
    made as a crawl would make it. Then each table is compared, rows and a checksum of their
    values, and the command exits 1 naming a table that differs.

    Stopped part way (Ctrl-C, a crash), run it again: it goes on where it stopped. A target
    that holds another archive is refused. The source is read as of one moment, so crawls
    may go on (what they store meanwhile is not copied). Progress goes to stderr. Passwords
    in URLs are never printed; give them in the environment variables to keep them out of
    `ps` too.

    \b
    Examples:
      muniarchive copy --from sqlite:///data/muniarchive.db \\
                       --to postgresql+psycopg://archive@db.example/muniarchive
      muniarchive copy --from "$PG_URL" --to sqlite:///backup/muniarchive.db --json
    """
    from archive.copy import copy_archive

    report = copy_archive(source, target, batch=batch, progress=lambda line: click.echo(line, err=True))
    if json_output:
        print_json(report.as_dict())
    else:
        table = Table("table", "rows", "copied now", "checksum (sha256)", "same as the source",
                      title=f"{report.source} -> {report.target} (revision {report.revision})")
        for row in report.tables:
            table.add_row(row.table, str(row.target_rows), str(row.copied), (row.target_checksum or "")[:16],
                          "yes" if row.matches else f"[red]NO[/red] (source: {row.source_rows} rows, "
                          f"{(row.source_checksum or '')[:16]})")
        console.print(table)
    if report.mismatched:
        raise click.ClickException("the copy differs from the source in "
                                   + ", ".join(f"table {row.table} ({row.source_rows} rows in the source, "
                                               f"{row.target_rows} in the copy)" for row in report.mismatched)
                                   + ": rows changed in the copy, or in the source after an earlier copy stopped; "
                                   "copy into an empty database")
