"""Reading the archive: `runs`, `status`, `articles`, `show`, `history`, `search`, `stories`.
The archive answers (archive.queries, archive.status); these commands format."""

from __future__ import annotations

import sys

import click
from rich.markup import escape
from rich.table import Column, Table
from rich.text import Text

from archive.masking import mask_url
from archive.models import utcnow
from archive.status import failure_record, run_log, site_status
from archive.status import runs as list_runs
from crawler.config import load_config
from scheduler.cli.common import (
    check_sites,
    config_option,
    console,
    day,
    fail_cleanly,
    json_option,
    local_time,
    print_json,
)
from scheduler.runner import open_archive, reconcile_runs


@click.command()
@click.option("--site", help="only this site's runs")
@click.option("--limit", default=20, show_default=True, help="how many of the newest runs")
@config_option
@json_option
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
    data = list_runs(archive, site=site, limit=limit)
    tz = config.defaults.timezone
    if json_output:
        print_json(data, tz)
        return
    table = Table("run", *(Column(name, no_wrap=True) for name in ("site", "started", "seconds", "status")),
                  "new", "updated", "errors", "error", Column("log", overflow="fold"))
    for row in data:
        seconds = (row["finished_at"] - row["started_at"]).total_seconds() if row["finished_at"] else None
        stats = row["stats"]
        table.add_row(str(row["run"]), row["site"], local_time(row["started_at"], tz),
                      f"{seconds:.1f}" if seconds is not None else "-", row["status"],
                      str(stats.get("articles_new", 0)), str(stats.get("articles_updated", 0)),
                      str(stats.get("errors", 0)), escape(row["error"] or ""), escape(row["log"] or "-"))
    console.print(table)


@click.command()
@click.argument("run_id", type=int)
@config_option
@json_option
@fail_cleanly
def log(run_id: int, config_path: str, json_output: bool) -> None:
    """Print the log of crawl run RUN_ID (see `runs`), from any machine sharing the archive.

    A run's log is kept in the archive when its crawl ends (its last 4 MiB, under a first
    line saying what was cut); a run still going, or one whose crawl was killed with its
    runner, is read from its log file, if this machine has it. --json gives the run, its
    site, status, log file, where the text was read (archive or file) and the text.

    \b
    Example:
      muniarchive log 42 | grep ERROR
    """
    config = load_config(config_path)
    record = run_log(open_archive(config), run_id)
    if json_output:
        print_json(record)
    else:
        click.echo(record["text"], nl=not record["text"].endswith("\n"))


@click.command()
@config_option
@json_option
@fail_cleanly
def status(config_path: str, json_output: bool) -> None:
    """Per site: last successful crawl, articles archived in the last 7 days, consecutive
    failures, open incidents and a verdict (ok, failing, warning, no runs yet).

    Incidents are what the scheduler alerts on: failed (a run failed or timed out), empty (a
    site that usually has new articles had none), extraction (too many pages could not be
    extracted: a layout change?), missed (a run missed beyond the misfire grace), late (a
    due run still queued for a crawl slot at its next due time),
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
    tz = config.defaults.timezone
    if json_output:
        print_json(data, tz)
        return
    table = Table("site", "verdict", "last success", "articles 7 d", "failures in a row", "open incidents")
    for row in data:
        incidents = "; ".join(f"{i['kind']}: {i['reason']}" for i in row["open_incidents"])
        table.add_row(row["site"], row["verdict"], local_time(row["last_success"], tz), str(row["articles_last_7_days"]),
                      str(row["consecutive_failures"]), incidents)
    console.print(table)
    if any(row["verdict"] == "failing" for row in data):
        sys.exit(1)



def _failure_line(failure: dict, tz: str) -> str:
    if failure["state"] == "dead":
        return f"dead after {failure['attempts']} attempt(s): {failure['reason']}"
    retry = f"{local_time(failure['next_attempt_at'], tz)[:16]} ({tz})"
    return f"failing ({failure['attempts']} attempt(s), tried again after {retry}): {failure['reason']}"



# a government document's 信息公开 fields, as `show` labels them
DOCUMENT_LABELS = {"document_number": "document no.", "issuing_organ": "issued by", "written_date": "written",
                   "index_number": "index no.", "subject": "subject", "validity": "validity"}


@click.command()
@click.argument("url")
@config_option
@json_option
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
        failed = [failure_record(f) for f in archive.failed_urls(urls=[url])]
        if not failed:
            raise click.ClickException(f"{url}: not in the archive {mask_url(config.database_url)}")
        if json_output:
            print_json({"url": url, "failed": failed[0]}, config.defaults.timezone)
        else:
            console.print(f"{url}: not archived, {_failure_line(failed[0], config.defaults.timezone)}", markup=False,
                          highlight=False)
        return
    failures = {f.url: failure_record(f) for f in archive.failed_urls(urls=[a["url"] for a in record["attachments"]])}
    for attachment in record["attachments"]:
        attachment["failure"] = failures.get(attachment["url"])
    tz = config.defaults.timezone
    if json_output:
        print_json(record, tz)
        return

    def line(label: str, value) -> None:  # the archive's text as it is: a [fetched] is not rich markup
        console.print(f"{label:>15}: {value}", markup=False, highlight=False)

    console.print(Text(record["title"] or "(no title)", style="bold"))
    for label, key in (("site", "site"), ("url", "url"), ("source", "source"),
                       ("original title", "original_title"), ("version", "version")):
        if record[key]:
            line(label, record[key])
    if record["publish_time"]:
        line("published", local_time(record["publish_time"], tz) + f" ({tz})")
    for key in ("reporters", "photographers", "editors"):
        if record[key]:
            line(key, "、".join(record[key]))
    for key, label in DOCUMENT_LABELS.items():

# a government document's 信息公开 fields
        if record["document"].get(key):
            line(label, record["document"][key])
    if record["capture"]:
        line("encoding", f"{record['capture']['encoding']} (chosen by {record['capture']['encoding_step']})")
    for a in record["attachments"]:
        line("attachment", f"{a['name'] or a['file_name'] or '(no name)'} [{a['status']}] {a['url']}")
        if a["failure"]:
            line("", _failure_line(a["failure"], tz))
    console.print()
    if record["body"]:
        console.print(record["body"], markup=False, highlight=False)
    else:
        console.print("(no body extracted)", style="red")


@click.command()
@click.argument("query")
@click.option("--site", help="only this site's articles")
@click.option("--from", "date_from", metavar="YYYY-MM-DD", help="published on or after this day")
@click.option("--to", "date_to", metavar="YYYY-MM-DD", help="published before this day")
@click.option("--limit", default=20, show_default=True, help="how many articles at most")
@config_option
@json_option
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
    hits = run_search(archive, query, site=site, date_from=day(date_from, tz, "--from"),
                      date_to=day(date_to, tz, "--to"), limit=limit)
    if json_output:
        print_json(hits, tz)
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
                      f"{local_time(hit['publish_time'], tz)[:10]}\n  {escape(hit['url'])}\n  {marked}\n", highlight=False)


@click.command()
@click.option("--site", help="only stories with an article on this site")
@click.option("--limit", default=50, show_default=True, help="how many stories at most")
@config_option
@json_option
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
        print_json(data, tz)
        return
    table = Table("story", "site", "published", "first seen", "title")
    for story in data:
        for index, member in enumerate(story["articles"]):
            table.add_row(str(story["story"]) if index == 0 else "", member["site"],
                          local_time(member["publish_time"], tz), local_time(member["first_seen"], tz),
                          escape(member["title"] or ""))
    console.print(table)


@click.command()
@click.argument("url")
@config_option
@json_option
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
        print_json(data, tz)
        return
    console.print(f"[bold]{escape(data['title'] or '(no title)')}[/bold]\n{escape(data['url'])}")
    for version in data["versions"]:
        console.print(f"\nversion {version['version']}  {local_time(version['created_at'], tz)}  ({version['reason']}, "
                      f"{version['characters']} characters)", highlight=False)
        for line in version.get("diff", []):
            colour = "green" if line.startswith("+") else "red" if line.startswith("-") else "dim"
            console.print(f"  [{colour}]{escape(line)}[/{colour}]", highlight=False)


@click.command()
@click.option("--site", help="only this site's articles")
@click.option("--since", metavar="YYYY-MM-DD", help="only articles published on or after this day")
@click.option("--limit", default=50, show_default=True, help="how many of the newest articles")
@config_option
@json_option
@fail_cleanly
def articles(site: str | None, since: str | None, limit: int, config_path: str, json_output: bool) -> None:
    """List archived articles, newest first by publish time: when, site, title and URL
    (then `muniarchive show URL` for one of them). Articles with no publish time come last.

    \b
    Examples:
      muniarchive articles --site binhe-gov --since 2026-09-01
      muniarchive articles --limit 500 --json
    """
    from archive.queries import articles as list_articles

    config = load_config(config_path)
    archive = open_archive(config)
    check_sites(config, [site], archive)
    tz = config.defaults.timezone
    data = list_articles(archive, site=site, since=day(since, tz, "--since"), limit=limit)
    if json_output:
        print_json(data, tz)
        return
    table = Table(f"published ({tz})", "site", "title")
    table.add_column("url", overflow="fold")
    for row in data:
        table.add_row(local_time(row["publish_time"], tz), row["site"], escape(row["title"] or "(no title)"),
                      escape(row["url"]))
    console.print(table if data else "no articles")
