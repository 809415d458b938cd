"""Reading the archive for people: search, story clusters, an article's history, everything on
one article, the newest articles per site, a raw capture."""

from __future__ import annotations

import difflib
import math
import re
import zlib
from datetime import datetime
from functools import cache

from sqlalchemy import and_, column, event, func, literal_column, or_, select, table, text

from archive.models import Article, ArticleVersion, Attachment, Capture, Site, version_body
from archive.search_terms import expand
from archive.store import DOCUMENT_FIELDS, Archive
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


# PostgreSQL: the simplified text in a table of its own, under a pg_trgm GIN index (index.py)
_search = table("article_search", column("article_id"), column("title"), column("body"))
# FTS5's bm25 constants, so both backends rank alike
BM25_K1, BM25_B = 1.2, 0.75


def _contains(term: str):
    """The search row holds the term (LIKE, which the trigram index answers)."""
    pattern = "%" + re.sub(r"([\\%_])", r"\\\1", term) + "%"
    return or_(_search.c.title.like(pattern), _search.c.body.like(pattern))


def _occurrences(term: str):
    """How often the term occurs in the search row (FTS5's phrase frequency)."""
    both = _search.c.title + "\n" + _search.c.body
    return (func.length(both) - func.length(func.replace(both, term, ""))) / len(term)


def _pg_bm25(session, phrases: list[str]):
    """-BM25 over the trigram table, as FTS5's bm25() computes it (lower is better): each
    spelling a phrase with its idf over the whole archive; the document length averaged over
    the ranked window (FTS5 averages over the whole index: not worth a scan of it here)."""
    total = session.scalar(select(func.count()).select_from(_search))
    # each phrase's document frequency, in one pass over the rows the trigram index finds
    holds = [_contains(p) for p in phrases]
    found = session.execute(select(*(func.count().filter(h) for h in holds)).where(or_(*holds))).one()
    length = func.length(_search.c.title) + func.length(_search.c.body)
    average = func.greatest(func.avg(length).over(), 1)
    score = literal_column("0.0")
    for phrase, df in zip(phrases, found, strict=True):
        idf = max(math.log((total - df + 0.5) / (df + 0.5)), 1e-6)
        tf = _occurrences(phrase)
        score = score - idf * tf * (BM25_K1 + 1) / (tf + BM25_K1 * (1 - BM25_B + BM25_B * length / average))
    return score


def search(archive: Archive, query: str, *, site: str | None = None, date_from: datetime | None = None,
           date_to: datetime | None = None, limit: int = 20) -> list[dict]:
    """Articles containing every term of `query` (space-separated), in either script, each
    term in any of its spellings (archive.search_terms: 十四五 = 第十四个五年 = 2021—2025年).

    The index holds the simplified text (trigrams: FTS5 on SQLite, pg_trgm on PostgreSQL):
    terms whose spellings all have three characters or more are looked up in it and the
    newest WINDOW matches ranked by BM25. A query made only of shorter terms (规划, 十四)
    cannot use trigrams: it scans from the newest article back and lists matches newest first.
    """
    terms = [expand(term) for term in (searchable(t) for t in query.split()) if term]
    if not terms:
        return []
    indexed = [spellings for spellings in terms if min(map(len, spellings)) >= 3]
    conditions = [or_(*map(_short_term, spellings)) for spellings in terms if spellings not in indexed]
    fts = archive.engine.dialect.name == "sqlite"
    source, key = (_fts, _fts.c.rowid) if fts else (_search, _search.c.article_id)
    if indexed and fts:
        match = " AND ".join("(" + " OR ".join(map(_phrase, spellings)) + ")" for spellings in indexed)
        conditions.append(text("article_fts MATCH :match").bindparams(match=match))
    elif indexed:
        conditions += [or_(*map(_contains, spellings)) for spellings in indexed]
    if site:
        conditions.append(Site.key == site)
    if date_from:
        conditions.append(Article.publish_time >= date_from)
    if date_to:
        conditions.append(Article.publish_time < date_to)
    matches = (select(key).select_from(source).join(Article, Article.id == key)
               .join(Site, Site.id == Article.site_id).where(and_(*conditions)))
    with archive.session() as session:
        score = literal_column("0")
        if indexed:
            score = (literal_column("bm25(article_fts)") if fts
                     else _pg_bm25(session, [s for spellings in indexed for s in spellings]))
        statement = (select(Article.id, Article.url, Article.title, Article.body, Article.publish_time, Site.key,
                            score.label("score"))
                     .select_from(source).join(Article, Article.id == key).join(Site, Site.id == Article.site_id))
        if indexed:
            # only the newest WINDOW matches are ranked (FTS5 walks them newest first and stops)
            floor = session.scalar(matches.order_by(key.desc()).limit(1).offset(WINDOW - 1)) or 0
            ranked = statement.where(and_(*conditions), key >= floor)
            if not fts:  # the window's average length is part of the score: rank in a subquery
                ranked = ranked.subquery()
                ranked = select(ranked).order_by(ranked.c.score, ranked.c.id.desc())
            else:
                ranked = ranked.order_by(literal_column("score"))
            statement = ranked
        else:  # substrings too short for the trigram index: scan newest first, stop at the limit
            statement = statement.where(and_(*conditions)).order_by(key.desc())
        rows = session.execute(statement.limit(limit)).all()
    spellings = [s for term in terms for s in term]
    return [{"id": row.id, "site": row.key, "url": row.url, "title": row.title, "publish_time": row.publish_time,
             "score": round(-float(row.score), 3) or 0.0, **snippet(row.body or "", spellings)}
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


def _article_id(session, url: str) -> int | None:
    return session.scalars(select(Article.id).where(Article.canonical_url.in_(variants(url)))).first()


def _versions(session, article_id: int, diff_lines: int) -> list[dict]:
    """An article's versions, oldest first, each with a short diff against the one before."""
    article = session.get(Article, article_id)  # holds the current version's body
    versions = session.scalars(select(ArticleVersion).where(ArticleVersion.article_id == article_id)
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
    return out


def history(archive: Archive, url: str, diff_lines: int = 12) -> dict | None:
    """An article's versions, oldest first, each with a short diff against the one before."""
    with archive.session() as session:
        if (article_id := _article_id(session, url)) is None:
            return None
        article = session.get(Article, article_id)
        return {"url": article.url, "title": article.title, "versions": _versions(session, article_id, diff_lines)}


def article_record(archive: Archive, *, article_id: int | None = None, url: str | None = None,
                   diff_lines: int = 40) -> dict | None:
    """Everything the archive holds on one article (by id or URL): its fields, the government
    document fields its table has, versions with diffs, attachments with their text, the raw
    capture and the story's other copies."""
    with archive.session() as session:
        if article_id is None and (article_id := _article_id(session, url or "")) is None:
            return None
        article = session.get(Article, article_id)
        if article is None:
            return None
        site = session.get(Site, article.site_id)
        attachments = session.scalars(select(Attachment).where(Attachment.article_id == article_id)
                                      .order_by(Attachment.id)).all()
        capture = session.get(Capture, article.capture_id) if article.capture_id else None
        copies = session.execute(
            select(Article.id, Article.title, Article.url, Article.publish_time, Site.key).join(Site)
            .where(Article.story_id == article.story_id, Article.id != article_id, Article.story_id.is_not(None))
            .order_by(Article.publish_time)).all()
        versions = _versions(session, article_id, diff_lines)
    return {
        "id": article.id, "site": site.key, "site_name": site.name, "url": article.url, "title": article.title,
        "original_title": article.original_title, "publish_time": article.publish_time,
        "publish_time_precision": article.publish_time_precision, "source": article.source,
        "reporters": article.reporters, "photographers": article.photographers, "editors": article.editors, "body": article.body,
        "document": {name: getattr(article, name) for name in DOCUMENT_FIELDS if getattr(article, name) not in (None, "")},
        "version": article.version, "first_seen": article.first_seen, "last_seen": article.last_seen,
        "versions": versions,
        "attachments": [{"url": a.url, "name": a.link_text, "file_name": a.file_name, "type": a.file_type,
                         "status": a.status, "size": a.size, "sha256": a.sha256, "capture_id": a.capture_id,
                         "text": a.text, "text_note": a.text_note} for a in attachments],
        "capture": {"id": capture.id, "fetched_at": capture.fetched_at, "http_status": capture.http_status,
                    "encoding": capture.encoding, "encoding_step": capture.encoding_step,
                    "declared_encoding": capture.declared_encoding, "bytes": capture.body_size} if capture else None,
        "copies": [{"id": c.id, "site": c.key, "title": c.title, "url": c.url, "publish_time": c.publish_time}
                   for c in copies],
        "quality": article.quality,
    }


def latest_articles(archive: Archive, per_site: int = 5) -> list[dict]:
    """Each site with its newest articles by publish time."""
    ranked = select(Article.id, Article.site_id, Article.title, Article.publish_time,
                    func.row_number().over(partition_by=Article.site_id,
                                           order_by=Article.publish_time.desc().nulls_last()).label("n")).subquery()
    with archive.session() as session:
        sites = session.scalars(select(Site).order_by(Site.key)).all()
        rows = session.execute(select(ranked).where(ranked.c.n <= per_site).order_by(ranked.c.n)).all()
    return [{"site": site.key, "name": site.name,
             "articles": [{"id": r.id, "title": r.title, "publish_time": r.publish_time}
                          for r in rows if r.site_id == site.id]}
            for site in sites]


def raw_capture(archive: Archive, capture_id: int) -> tuple[str, bytes] | None:
    """A capture's stored bytes as received, with the content type its response declared."""
    with archive.session() as session:
        capture = session.get(Capture, capture_id)
        if capture is None:
            return None
        headers = {key.lower(): value for key, value in (capture.headers or {}).items()}
        return headers.get("content-type", "application/octet-stream"), zlib.decompress(capture.body_zlib)


def _read_only_session(connection, _record) -> None:
    connection.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    connection.commit()  # a SET in a transaction rolled back (as the pool does) would be undone


def read_only(url: str) -> Archive:
    """The archive opened for reading only (what `muniarchive serve` answers from): the
    database refuses every write on its connections, and nothing is migrated."""
    archive = Archive(url, upgrade=False)
    if archive.engine.dialect.name == "sqlite":
        event.listen(archive.engine, "connect", lambda connection, _record: connection.execute("PRAGMA query_only=ON"))
    else:
        event.listen(archive.engine, "connect", _read_only_session)
    return archive


def articles(archive: Archive, *, site: str | None = None, since: datetime | None = None,
             limit: int = 50) -> list[dict]:
    """Articles newest first by publish time (those without one last), a site's or every site's,
    published on or after `since`; walks the (site, publish time) index, stopping at `limit`."""
    query = (select(Article.id, Article.publish_time, Site.key, Article.title, Article.url)
             .join(Site, Site.id == Article.site_id)
             .order_by(Article.publish_time.desc().nulls_last(), Article.id.desc()).limit(limit))
    if site:
        query = query.where(Site.key == site)
    if since:
        query = query.where(Article.publish_time >= since)
    with archive.session() as session:
        return [{"id": r.id, "publish_time": r.publish_time, "site": r.key, "title": r.title, "url": r.url}
                for r in session.execute(query)]
