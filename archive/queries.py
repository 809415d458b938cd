"""Reading the archive for people: search, story clusters, an article's history."""

from __future__ import annotations

import difflib
import re
from datetime import datetime
from functools import cache

from sqlalchemy import and_, column, func, literal_column, or_, select, table, text

from archive.models import Article, ArticleVersion, Site, version_body
from archive.store import Archive
from archive.urls import variants
from textnorm import QUOTES, searchable, simplified

_fts = table("article_fts", column("rowid"), column("title"), column("body"))
SNIPPET_CHARS = 40
# ranking scores every candidate: a common word (十四五 in a city's archive) would match a
# large share of a million articles, so only the newest WINDOW matches are ranked
WINDOW = 2000


@cache
def _to_traditional():
    import opencc

    return opencc.OpenCC("s2t.json")


def _short_term(term: str):
    """A term too short for trigrams, matched in the article's own text (the index keeps no
    copy of it) in either script."""
    forms = {term, _to_traditional().convert(term)}
    return or_(*(column.like(f"%{form}%") for form in forms for column in (Article.title, Article.body)))


def _phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def search(archive: Archive, query: str, *, site: str | None = None, date_from: datetime | None = None,
           date_to: datetime | None = None, limit: int = 20) -> list[dict]:
    """Articles containing every term of `query` (space-separated), in either script.

    The index holds the simplified text (trigrams, FTS5): terms of three characters or more
    are looked up in it and the newest WINDOW matches ranked by BM25. A query made only of
    shorter terms (规划, 十四) cannot use trigrams: it scans from the newest article back and
    lists matches newest first.
    """
    terms = [term for term in (searchable(t) for t in query.split()) if term]
    if not terms:
        return []
    long_terms = [t for t in terms if len(t) >= 3]
    conditions = [_short_term(t) for t in terms if len(t) < 3]
    if long_terms:
        conditions.append(text("article_fts MATCH :match").bindparams(match=" AND ".join(map(_phrase, long_terms))))
    if site:
        conditions.append(Site.key == site)
    if date_from:
        conditions.append(Article.publish_time >= date_from)
    if date_to:
        conditions.append(Article.publish_time < date_to)
    matches = (select(_fts.c.rowid).select_from(_fts).join(Article, Article.id == _fts.c.rowid)
               .join(Site, Site.id == Article.site_id).where(and_(*conditions)))
    statement = (select(Article.id, Article.url, Article.title, Article.body, Article.publish_time, Site.key,
                        (literal_column("bm25(article_fts)") if long_terms else literal_column("0")).label("score"))
                 .select_from(_fts).join(Article, Article.id == _fts.c.rowid).join(Site, Site.id == Article.site_id))
    with archive.session() as session:
        if long_terms:
            # FTS5 walks matches newest first and stops at the WINDOW-th: that bounds the ranking
            floor = session.scalar(matches.order_by(_fts.c.rowid.desc()).limit(1).offset(WINDOW - 1)) or 0
            statement = statement.where(and_(*conditions), _fts.c.rowid >= floor).order_by(literal_column("score"))
        else:  # substrings too short for the trigram index: scan newest first, stop at the limit
            statement = statement.where(and_(*conditions)).order_by(_fts.c.rowid.desc())
        rows = session.execute(statement.limit(limit)).all()
    return [{"site": row.key, "url": row.url, "title": row.title, "publish_time": row.publish_time,
             "score": round(-float(row.score), 3) or 0.0, **snippet(row.body or "", terms)}
            for row in rows]


def _pattern(term: str) -> re.Pattern:
    """The term as it may appear in a page: quotation marks allowed between its characters."""
    return re.compile(f"[{re.escape(QUOTES)}]*".join(map(re.escape, term)))


def snippet(body: str, terms: list[str]) -> dict:
    """A window of the article's own text around the first match, with the matches' offsets.
    Matches are found in the simplified text; they hold in the original when conversion kept
    the length (OpenCC t2s maps character to character almost always), else the simplified
    text is shown."""
    body_simplified = simplified(body)
    shown = body if len(body) == len(body_simplified) else body_simplified
    patterns = [_pattern(t) for t in terms]
    positions = [m.start() for p in patterns for m in [p.search(body_simplified)] if m]
    if not positions:
        return {"snippet": shown[:2 * SNIPPET_CHARS].replace("\n", " "), "highlights": []}
    start = max(0, min(positions) - SNIPPET_CHARS // 2)
    end = min(len(shown), start + 2 * SNIPPET_CHARS)
    window = body_simplified[start:end]
    prefix = "…" if start > 0 else ""
    highlights = sorted((m.start() + len(prefix), m.end() + len(prefix)) for p in patterns for m in p.finditer(window))
    return {"snippet": prefix + shown[start:end].replace("\n", " ") + ("…" if end < len(shown) else ""),
            "highlights": [list(h) for h in highlights]}


def stories(archive: Archive, site: str | None = None, limit: int = 50) -> list[dict]:
    """Story clusters (two or more articles with the same text), newest first."""
    with archive.session() as session:
        clustered = (select(Article.story_id).where(Article.story_id.is_not(None)).group_by(Article.story_id)
                     .having(func.count() > 1))
        if site:
            clustered = clustered.where(Article.story_id.in_(
                select(Article.story_id).join(Site).where(Site.key == site)))
        ids = session.scalars(clustered.order_by(Article.story_id.desc()).limit(limit)).all()
        rows = session.execute(select(Article.story_id, Article.title, Article.url, Article.publish_time,
                                      Article.first_seen, Site.key).join(Site)
                               .where(Article.story_id.in_(ids)).order_by(Article.first_seen)).all()
    clusters: dict[int, list] = {story_id: [] for story_id in ids}
    for row in rows:
        clusters[row.story_id].append({"site": row.key, "title": row.title, "url": row.url,
                                       "publish_time": row.publish_time, "first_seen": row.first_seen})
    return [{"story": story_id, "sites": sorted({m["site"] for m in members}), "articles": members}
            for story_id, members in clusters.items()]


def history(archive: Archive, url: str, diff_lines: int = 12) -> dict | None:
    """An article's versions, oldest first, each with a short diff against the one before."""
    with archive.session() as session:
        article = session.scalars(select(Article).where(Article.canonical_url.in_(variants(url)))).first()
        if article is None:
            return None
        versions = session.scalars(select(ArticleVersion).where(ArticleVersion.article_id == article.id)
                                   .order_by(ArticleVersion.version)).all()
    out, previous = [], None
    for version in versions:
        entry = {"version": version.version, "created_at": version.created_at, "reason": version.reason,
                 "title": version.title, "characters": len(version_body(version, article) or "")}
        if previous is not None:
            diff = difflib.unified_diff((f"{previous.title}\n{version_body(previous, article) or ''}").splitlines(),
                                        (f"{version.title}\n{version_body(version, article) or ''}").splitlines(),
                                        lineterm="", n=0)
            lines = [line if len(line) <= 100 else line[:99] + "…"
                     for line in diff if not line.startswith(("---", "+++", "@@"))]
            entry["diff"] = lines[:diff_lines] + ([f"… {len(lines) - diff_lines} more lines"]
                                                  if len(lines) > diff_lines else [])
        out.append(entry)
        previous = version
    return {"url": article.url, "title": article.title, "versions": out}
