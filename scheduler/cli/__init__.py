"""The `muniarchive` command line: one command per user task, --json for scripts.

One module per kind of task; what they share is in common. The commands format what
archive/ answers."""

from __future__ import annotations

import click

from scheduler.cli import browse, crawl, export, plans, service, tools


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
    Read a run's log:        muniarchive log RUN_ID
    List what is archived:   muniarchive articles [--site KEY] [--since DAY]
    Look at one record:      muniarchive show URL / history URL
    Find things:             muniarchive search 十四五规划 / stories
    New plans (十四五 …):     muniarchive plans [--new] [--feed FILE]
    Take it elsewhere:       muniarchive export --format jsonl|csv|parquet|warc
    Read it in a browser:    muniarchive serve
    Migrate once per deploy: muniarchive migrate [--check]
    Copy it to PostgreSQL:   muniarchive copy --from URL --to URL
    """


for command in (crawl.crawl, crawl.demo, service.scheduler_group, service.jobs, browse.status, service.doctor,
                browse.runs, browse.log, browse.show, browse.articles, browse.search, browse.stories, browse.history,
                tools.reprocess, tools.import_text, plans.plans, export.export, tools.serve, tools.extract,
                tools.probe, tools.migrate, tools.copy):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="muniarchive")
