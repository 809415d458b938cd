"""What the archive keeps beside each article's current text, so it can be found again:
the search index of the simplified text (SQLite: FTS5 trigrams, reading the text from the
article table, not a copy; PostgreSQL: the article_search table, the simplified text itself
under a pg_trgm GIN index) and the dedup fingerprint that links reprints into
story clusters. Written in the same transaction as the article (store.py), and by the
migration that introduced them (for articles stored before).

Everything here runs once per stored article, up to millions of times: plain SQL through the
driver (see _run).
"""

from __future__ import annotations

import re
from array import array
from functools import cache

from sqlalchemy import Connection, insert

from archive.dedup import SIMILARITY_THRESHOLD, Fingerprint, band_keys, fingerprint, similarity
from archive.models import Story, utcnow
from archive.urls import canonical
from textnorm import SearchText, search_text

__all__ = ["canonical", "index_article", "find_match"]

# how many LSH candidates (those sharing the most bands) are compared with their signatures
MAX_CANDIDATES = 50
# pg_advisory_xact_lock's key for clustering: any fixed number, the same in every process
STORY_LOCK_KEY = 0x73746F72  # "stor"


@cache
def _pyformat(sql: str) -> str:
    """:name parameters as psycopg's %(name)s."""
    return re.sub(r"(?<!:):(\w+)", r"%(\1)s", sql.replace("%", "%%"))


def _run(connection: Connection, sql: str, params: dict | list[dict] | None = None) -> list[tuple]:
    """Plain SQL with :named parameters (a list of them: executemany), straight through the
    driver, in the connection's transaction: these statements run about ten times per stored
    article, and SQLAlchemy's per-statement overhead was most of an insert's cost
    (benchmarks/archive.py)."""
    cursor = connection.connection.driver_connection.cursor()
    if connection.dialect.name != "sqlite":
        sql = _pyformat(sql)
    if isinstance(params, list):
        cursor.executemany(sql, params)
        return []
    cursor.execute(sql, params or {})
    return cursor.fetchall() if cursor.description is not None else []


def _in(name: str, values: list) -> tuple[str, dict]:
    """An IN list with one named parameter per value."""
    names = {f"{name}{i}": value for i, value in enumerate(values)}
    return ", ".join(f":{n}" for n in names), names


def has_fts(connection: Connection) -> bool:
    return connection.dialect.name == "sqlite"


# PostgreSQL's search row: the simplified text, replaced whole when the text changes
_UPSERT_SEARCH_ROW = ("INSERT INTO article_search (article_id, title, body) VALUES (:article_id, :title, :body) "
                      "ON CONFLICT (article_id) DO UPDATE SET title = excluded.title, body = excluded.body")


def _search_row_sql(connection: Connection) -> str:
    return ("INSERT INTO article_fts (rowid, title, body) VALUES (:article_id, :title, :body)"
            if has_fts(connection) else _UPSERT_SEARCH_ROW)


def index_search(connection: Connection, articles: list[tuple[int, str | None, str | None]]) -> None:
    """Search rows for articles (id, title, body) that have none yet, in one executemany:
    a copied archive's (archive/copy.py), whose engine-specific index is not copied but made."""
    if articles:
        _run(connection, _search_row_sql(connection),
             [{"article_id": article_id, "title": text.title, "body": text.body}
              for article_id, text in ((id_, search_text(title, body)) for id_, title, body in articles)])


def find_match(connection: Connection, article_id: int, fp: Fingerprint) -> tuple[int, int | None] | None:
    """(article id, its story id) of a stored article at or above the similarity threshold,
    or None. Same normalised text first (exact duplicate), then LSH candidates."""
    same = _run(connection, "SELECT id, story_id FROM article WHERE text_hash = :text_hash AND id != :article_id "
                            "LIMIT 1", {"text_hash": fp.text_hash, "article_id": article_id})
    if same:
        return same[0][0], same[0][1]
    keys, params = _in("k", list(fp.band_keys))
    # articles sharing many bands first: a reprint shares about a third of its 32, while in a
    # large archive hundreds of unrelated articles share one by chance (common phrases)
    candidates = _run(connection, f"SELECT article_id FROM lsh_band WHERE key IN ({keys}) "
                                  f"AND article_id != :article_id GROUP BY article_id "
                                  f"ORDER BY count(*) DESC LIMIT {MAX_CANDIDATES}",
                      {**params, "article_id": article_id})
    if not candidates:
        return None
    ids, params = _in("a", [row[0] for row in candidates])
    stored = {row[0]: row for row in _run(
        connection, f"SELECT f.article_id, f.signature, a.story_id FROM article_fingerprint f "
                    f"JOIN article a ON a.id = f.article_id WHERE f.article_id IN ({ids})", params)}
    # in order of shared bands: the first at or above the threshold is (almost always) the
    # closest, and templated notices can make dozens of candidates
    for (candidate,) in candidates:
        other_id, signature, story_id = stored[candidate]
        if similarity(fp.signature, signature) >= SIMILARITY_THRESHOLD:
            return other_id, story_id
    return None


def reindex_search(connection: Connection, batch: int = 1000) -> int:
    """Index the current text of every article again into an empty search index (SQLite), in
    batches of `batch` (memory stays bounded), then merge the index into one segment; returns
    how many. Articles still queued are left to index_backlog, which indexes them as usual.
    For a migration that remakes the index: FTS5's own 'rebuild' would index the article
    table's text, not the simplified search text (search_text) the index holds."""
    last, done = 0, 0
    while rows := _run(connection, "SELECT id, title, body FROM article WHERE id > :last "
                                   "AND id NOT IN (SELECT article_id FROM index_queue) ORDER BY id LIMIT :batch",
                       {"last": last, "batch": batch}):
        texts = [(article_id, search_text(title, body)) for article_id, title, body in rows]
        _run(connection, "INSERT INTO article_fts (rowid, title, body) VALUES (:article_id, :title, :body)",
             [{"article_id": article_id, "title": text.title, "body": text.body} for article_id, text in texts])
        last, done = rows[-1][0], done + len(rows)
    # written in batches, the index is a stack of segments that each repeat the terms they
    # share: one segment is 8 % smaller (benchmarks/archive.py)
    _run(connection, "INSERT INTO article_fts (article_fts) VALUES ('optimize')")
    return done


def merge_search_segments(connection: Connection, pages: int) -> bool:
    """One bounded step of merging the search index's segments towards one (FTS5's 'merge'
    with a negative page count: segments of every level qualify, like 'optimize' a step at a
    time); whether it did any work. Nothing to merge on PostgreSQL."""
    if not has_fts(connection):
        return False
    driver = connection.connection.driver_connection
    before = driver.total_changes
    _run(connection, "INSERT INTO article_fts (article_fts, rank) VALUES ('merge', :pages)", {"pages": -pages})
    return driver.total_changes - before >= 2  # FTS5: fewer than two changes, no work done


def unindex_text(connection: Connection, article_id: int, title: str | None, body: str | None) -> None:
    """Remove an article's words from the search index, given the text they were made from.

    The index (FTS5, external content) keeps no copy of the text: it reads titles and bodies
    from the article table, so the words to remove are named by the text, before it changes.
    """
    if has_fts(connection):
        words = search_text(title, body)
        _run(connection, "INSERT INTO article_fts (article_fts, rowid, title, body) "
                         "VALUES ('delete', :article_id, :title, :body)",
             {"article_id": article_id, "title": words.title, "body": words.body})


def index_article(connection: Connection, article_id: int, title: str | None, body: str | None,
                  fp: Fingerprint | None = None, *, fresh: bool = False, text: SearchText | None = None,
                  search: bool = True) -> int | None:
    """(Re)index one article's current text: search row, fingerprint, story. Returns its story id.

    `fresh`: the article row was inserted in this transaction with its text_hash already set
    (store.py does), so there is nothing to delete and nothing to update unless it joins a story.
    `fp` and `text` may come precomputed (the crawl's extraction worker makes them).
    `search`: False where the search index is not there yet (a migration before it).
    """
    fp = fp or fingerprint(body)
    ids = {"article_id": article_id}
    if connection.dialect.name == "postgresql":
        # Two writers clustering at once would each miss the other's uncommitted articles (two
        # reprints never joined) or both give one stored article a story (one story split, the
        # first left with one article): on PostgreSQL they cluster one transaction at a time,
        # the second seeing what the first committed. SQLite already writes one at a time.
        _run(connection, f"SELECT pg_advisory_xact_lock({STORY_LOCK_KEY})")
    if not fresh:  # the search row's old words were removed when the text changed (unindex_text)
        # its band rows are found by the keys of its old signature (lsh_band has no article_id index)
        for (signature,) in _run(connection, "SELECT signature FROM article_fingerprint WHERE article_id = :article_id",
                                 ids):
            keys, params = _in("k", list(set(band_keys(array("I", signature)))))
            _run(connection, f"DELETE FROM lsh_band WHERE key IN ({keys}) AND article_id = :article_id",
                 {**params, **ids})
        _run(connection, "DELETE FROM article_fingerprint WHERE article_id = :article_id", ids)
    if search:
        text = text or search_text(title, body)
        _run(connection, _search_row_sql(connection), {**ids, "title": text.title, "body": text.body})
    story_id = None
    if fp is not None:
        _run(connection, "INSERT INTO article_fingerprint (article_id, signature) VALUES (:article_id, :signature)",
             {**ids, "signature": fp.signature})
        _run(connection, "INSERT INTO lsh_band (key, article_id) VALUES (:key, :article_id)",
             [{"key": key, "article_id": article_id} for key in set(fp.band_keys)])
        match = find_match(connection, article_id, fp)
        if match is not None:
            other_id, story_id = match
            if story_id is None:
                story_id = connection.execute(insert(Story.__table__).values(created_at=utcnow())).inserted_primary_key[0]
                _run(connection, "UPDATE article SET story_id = :story_id WHERE id = :article_id",
                     {"story_id": story_id, "article_id": other_id})
    if not fresh or story_id is not None:
        _run(connection, "UPDATE article SET text_hash = :text_hash, story_id = :story_id WHERE id = :article_id",
             {**ids, "text_hash": fp.text_hash if fp else None, "story_id": story_id})
    return story_id
