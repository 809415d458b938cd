"""Crawl throughput on one Scrapyd node against two, in one run (issue 15).

    python benchmarks/scrapyd.py [--articles 2000] [--db postgresql+psycopg://...]

Four generated TRS-style sites (--articles each, benchmarks/crawl.py's generator) are served
on 127.0.0.1 and crawled through the scheduler's scrapyd runner (scheduler/scrapyd.run_crawl,
all four sent at once), each time into a fresh PostgreSQL database: first on one Scrapyd
node that takes all four, then on two nodes that take two each (each node's max_proc is its
share, so the least-busy placement gives each node two). Prints each round's wall time (the
first job sent to the last run recorded), articles a second, where each site ran, and the
two-node/one-node throughput ratio. The nodes are real Scrapyd daemons running the
project's egg (tests/scrapyd.py); with no --db a throwaway PostgreSQL server is started
(tests/postgres.py; Debian's postgresql package).

All nodes share this machine: two nodes can only go faster than one by the cores the one
left idle, so on 2 shared cores expect about 1; on separate machines the ratio is what a
second node adds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archive import Archive  # noqa: E402
from archive.models import Article  # noqa: E402
from crawler.config import load_config  # noqa: E402
from crawler.extract.wordtags import tag  # noqa: E402
from crawler.samplesites.server import SampleSites  # noqa: E402
from crawler.samplesites.synthetic import SyntheticTrsSite, synthetic_articles  # noqa: E402
from scheduler import scrapyd  # noqa: E402
from tests.postgres import Server, _binaries  # noqa: E402
from tests.scrapyd import ScrapydNode, build_egg  # noqa: E402

SITES = 4


def generated_site(number: int, articles: int) -> SyntheticTrsSite:
    site = SyntheticTrsSite(articles)
    site.key = f"synthetic-{number}"
    site.articles = synthetic_articles(articles, seed=100 + number)
    return site


def fresh_database(admin_url: str, name: str) -> str:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    url = make_url(admin_url).set(database=name)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    engine.dispose()
    return url.render_as_string(hide_password=False)


def crawl_round(tmp: Path, sites: SampleSites, egg: Path, db_url: str, node_count: int) -> dict:
    """All the sites at once on `node_count` fresh nodes; the round's figures."""
    folder = tmp / f"{node_count}-node"
    folder.mkdir()
    config_path = folder / "config.yaml"
    env = {"MUNIARCHIVE_CONFIG": str(config_path), "MUNIARCHIVE_DB": db_url}
    max_proc = SITES // node_count  # one node takes all four, two take two each
    nodes = [ScrapydNode(folder / f"node-{n}", env, max_proc=max_proc, poll_interval=0.5) for n in range(node_count)]
    try:
        for node in nodes:
            node.deploy(egg)
        document = sites.config(db_url, crawl_timeout=3600)
        for site in document["sites"]:
            site["pagination"]["max_pages"] = 1000
        document["scheduler"] = {"runner": "scrapyd", "scrapyd": {
            "nodes": [{"url": node.url, "max_proc": max_proc} for node in nodes],
            "poll_seconds": 0.5}}
        config_path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
        config = load_config(config_path)
        archive = Archive(db_url)
        try:
            started = time.perf_counter()
            with ThreadPoolExecutor(SITES) as pool:
                results = list(pool.map(lambda key: scrapyd.run_crawl(config, key, archive), sites.sites))
            wall = time.perf_counter() - started
            with archive.session() as session:
                stored = session.scalar(select(func.count()).select_from(Article))
        finally:
            archive.close()
    finally:
        for node in nodes:
            node.kill()
    return {"wall": wall, "articles": stored, "results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=2000, help="articles per site (default 2000)")
    parser.add_argument("--db", help="a PostgreSQL server's URL whose user may create databases "
                                     "(default: a throwaway server)")
    args = parser.parse_args()
    server = None
    if args.db:
        admin_url = args.db
    else:
        bin_dir = _binaries()
        if bin_dir is None:
            sys.exit("error: PostgreSQL is not installed (apt-get install postgresql), and no --db given")
        server = Server(bin_dir)
        admin_url = server.start().render_as_string(hide_password=False)
    try:
        with tempfile.TemporaryDirectory() as tmp, \
                SampleSites([generated_site(n, args.articles) for n in range(SITES)]) as sites:
            tmp = Path(tmp)
            egg = build_egg(tmp / "egg" / "muniarchive.egg")
            tag("滨河市")  # the word tables built once, in the cache the crawls read, before any timing
            print(f"{SITES} generated sites x {args.articles} articles; crawled through scheduler.runner: scrapyd")
            rounds = {}
            for node_count in (1, 2):
                db_url = fresh_database(admin_url, f"bench_scrapyd_{node_count}")
                figures = crawl_round(tmp, sites, egg, db_url, node_count)
                rounds[node_count] = figures
                placed = {}
                for result in figures["results"]:
                    placed.setdefault(result.log_path.split("/logs/")[0], []).append(result.site)
                statuses = sorted({result.status for result in figures["results"]})
                print(f"{node_count} node(s): {figures['articles']} articles in {figures['wall']:.1f} s = "
                      f"{figures['articles'] / figures['wall']:.1f} articles/s; runs {', '.join(statuses)}; "
                      + "; ".join(f"{url}: {', '.join(keys)}" for url, keys in placed.items()))
            one, two = (rounds[n]["articles"] / rounds[n]["wall"] for n in (1, 2))
            print(f"throughput two nodes / one node: {two / one:.2f}")
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
