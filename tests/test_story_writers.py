"""Story clusters made by two writers at once (two crawls indexing on two nodes): each set of
reprints ends in one story, and no story is left with fewer than two articles."""

from __future__ import annotations

import random
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import select

from archive import Archive, ArticleData, CaptureData
from archive.models import Article, Story

GROUPS = 12  # sets of reprints each writer stores one article of
# a writer stores its articles in one transaction (as a crawl's batch does), once told to go
# (a line on its stdin)
WRITER = """
import sys
from datetime import UTC, datetime
from archive import Archive, ArticleData, CaptureData
url, name, *articles = sys.argv[1:]
archive = Archive(url)
site = archive.ensure_site(name, name, f"http://{name}.example")
sys.stdin.readline()
archive.write_all([archive.article_write(site, None, CaptureData(f"http://{name}.example/{i}.html", 200, {},
                                                                  b"<html></html>", datetime.now(UTC)),
                                         ArticleData(f"{name} {i}", body))
                   for i, body in (article.split(":", 1) for article in articles)])
"""


def reprint(text: str, rng: random.Random, site_name: str) -> str:
    """The text as another site carries it: its own first line, a few characters changed."""
    chars = list(text)
    for _ in range(4):
        chars[rng.randrange(len(chars))] = rng.choice("的一是在不了有和人这中大为上个国我以要他时来用们生到")
    return f"本文来自{site_name}。" + "".join(chars)


def test_two_writers_indexing_reprints_at_once_make_one_story_per_text(archive_url):
    rng = random.Random(20261201)
    pool = [chr(code) for code in range(0x4E00, 0x4E00 + 3000)]
    texts = ["".join(rng.choice(pool) for _ in range(300)) for _ in range(2 * GROUPS)]
    archive = Archive(archive_url)
    home = archive.ensure_site("home", "home", "http://home.example")
    # half the texts are stored already (alone: no story yet), half are new to both writers
    for i, text in enumerate(texts[:GROUPS]):
        archive.store_article(home, None, CaptureData(f"http://home.example/{i}.html", 200, {}, b"<html></html>",
                                                      datetime.now(UTC)), ArticleData(f"home {i}", text))
    # east writes the new texts first, west last: each is indexed while the other's copy is
    # not committed yet
    orders = {"east": [*range(GROUPS, 2 * GROUPS), *range(GROUPS)], "west": list(range(2 * GROUPS))}
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, archive_url, name,
                                 *(f"{i}:{reprint(texts[i], rng, name)}" for i in order)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for name, order in orders.items()]
    for writer in writers:
        writer.stdin.write("go\n")
        writer.stdin.close()
    for writer in writers:
        assert writer.wait(120) == 0, writer.stdout.read()

    with archive.session() as session:
        articles = session.execute(select(Article.url, Article.story_id)).all()
        story_ids = set(session.scalars(select(Story.id)))
    archive.close()
    members = defaultdict(set)
    for url, story_id in articles:
        members[story_id].add(url)
    expected = [{f"http://{name}.example/{i}.html" for name in ("east", "west")}
                | ({f"http://home.example/{i}.html"} if i < GROUPS else set()) for i in range(2 * GROUPS)]
    assert None not in members, f"articles in no story: {sorted(members[None])}"
    assert sorted(map(sorted, members.values())) == sorted(map(sorted, expected))
    assert story_ids == set(members), f"stories without articles: {sorted(story_ids - set(members))}"
