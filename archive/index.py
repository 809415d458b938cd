"""What the archive keeps beside each article's current text, so it can be found again:
the FTS5 search row (simplified script) and the dedup fingerprint that links reprints into
story clusters. Written in the same transaction as the article (store.py), and by the
migration that introduced them (for articles stored before).

Everything here works on a Core connection with constant statements: it runs once per
stored article, up to millions of times.
"""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, delete, insert, select, text, update

from archive.dedup import SIMILARITY_THRESHOLD, Fingerprint, fingerprint, searchable, similarity
from archive.models import Article, ArticleFingerprint, LshBand, Story, utcnow
from archive.urls import canonical

__all__ = ["canonical", "index_article", "find_match"]

# how many LSH candidates are compared; more share a band key only for near-identical boilerplate
MAX_CANDIDATES = 100

_article = Article.__table__
_band = LshBand.__table__
_fp = ArticleFingerprint.__table__
_FTS_DELETE = text("DELETE FROM article_fts WHERE rowid = :article_id")
_FTS_INSERT = text("INSERT INTO article_fts (rowid, title, body) VALUES (:article_id, :title, :body)")
_BAND_DELETE = delete(_band).where(_band.c.article_id == bindparam("article_id"))
_BAND_INSERT = insert(_band)
_FP_DELETE = delete(_fp).where(_fp.c.article_id == bindparam("article_id"))
_FP_INSERT = insert(_fp)
_SAME_TEXT = (select(_article.c.id, _article.c.story_id)
              .where(_article.c.text_hash == bindparam("text_hash"), _article.c.id != bindparam("article_id"))
              .limit(1))
_CANDIDATES = (select(_band.c.article_id).distinct()
               .where(_band.c.key.in_(bindparam("keys", expanding=True)),
                      _band.c.article_id != bindparam("article_id"))
               .limit(MAX_CANDIDATES))
_SIGNATURES = (select(_fp.c.article_id, _fp.c.signature, _article.c.story_id)
               .join(_article, _article.c.id == _fp.c.article_id)
               .where(_fp.c.article_id.in_(bindparam("ids", expanding=True))))
_SET_STORY = update(_article).where(_article.c.id == bindparam("article_id")).values(story_id=bindparam("story_id"))
_SET_INDEXED = update(_article).where(_article.c.id == bindparam("article_id")).values(
    text_hash=bindparam("text_hash"), story_id=bindparam("story_id"))


def has_fts(connection: Connection) -> bool:
    return connection.dialect.name == "sqlite"


def find_match(connection: Connection, article_id: int, fp: Fingerprint) -> tuple[int, int | None] | None:
    """(article id, its story id) of the most similar stored article at or above the
    threshold, or None. Same normalised text first (exact duplicate), then LSH candidates."""
    same = connection.execute(_SAME_TEXT, {"text_hash": fp.text_hash, "article_id": article_id}).first()
    if same is not None:
        return same.id, same.story_id
    candidates = connection.execute(_CANDIDATES, {"keys": list(fp.band_keys), "article_id": article_id}).scalars().all()
    if not candidates:
        return None
    best, best_score = None, SIMILARITY_THRESHOLD
    for row in connection.execute(_SIGNATURES, {"ids": candidates}):
        score = similarity(fp.signature, row.signature)
        if score >= best_score:
            best, best_score = (row.article_id, row.story_id), score
    return best


def index_article(connection: Connection, article_id: int, title: str | None, body: str | None,
                  fp: Fingerprint | None = None) -> int | None:
    """(Re)index one article's current text: search row, fingerprint, story. Returns its story id."""
    if has_fts(connection):
        connection.execute(_FTS_DELETE, {"article_id": article_id})
        connection.execute(_FTS_INSERT, {"article_id": article_id, "title": searchable(title or ""),
                                         "body": searchable(body or "")})
    fp = fp or fingerprint(body)
    connection.execute(_BAND_DELETE, {"article_id": article_id})
    connection.execute(_FP_DELETE, {"article_id": article_id})
    story_id = None
    if fp is not None:
        connection.execute(_FP_INSERT, {"article_id": article_id, "signature": fp.signature})
        connection.execute(_BAND_INSERT, [{"key": key, "article_id": article_id} for key in set(fp.band_keys)])
        match = find_match(connection, article_id, fp)
        if match is not None:
            other_id, story_id = match
            if story_id is None:
                story_id = connection.execute(insert(Story.__table__).values(created_at=utcnow())).inserted_primary_key[0]
                connection.execute(_SET_STORY, {"article_id": other_id, "story_id": story_id})
    connection.execute(_SET_INDEXED, {"article_id": article_id, "text_hash": fp.text_hash if fp else None,
                                      "story_id": story_id})
    return story_id
