"""`muniarchive serve`: Datasette over the SQLite archive, read-only, with canned queries.

Datasette opens the file read-only (it has no write plugins here), so browsing while crawls
run is safe. Times in the canned queries are shown in the config's time zone (stored UTC).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def _offset(tz: str) -> str:
    """SQLite datetime() modifier for the zone's current offset, e.g. '+8 hours'."""
    hours = datetime.now(ZoneInfo(tz)).utcoffset().total_seconds() / 3600
    return f"{hours:+g} hours"


def metadata(database: str, tz: str) -> dict:
    local = _offset(tz)

    def at(column: str) -> str:
        return f"datetime({column}, '{local}')"

    queries = {
        "search": {
            "title": "Search articles",
            "description": "Full-text search: substrings of three or more characters, in either script "
                           "(十四五規劃 finds 十四五规划), best match first.",
            "sql": f"""select site.key as site, {at('a.publish_time')} as published, a.title,
snippet(article_fts, 1, '【', '】', '…', 24) as snippet, a.url
from article_fts join article a on a.id = article_fts.rowid join site on site.id = a.site_id
where article_fts match '"' || replace(muniarchive_searchable(:q), '"', '""') || '"' order by rank limit 50""",
        },
        "latest_articles": {
            "title": "Latest articles per site",
            "description": "The newest ten articles of every site, by publish time.",
            "sql": f"""select site.key as site, {at('a.publish_time')} as published, a.title, a.url, a.source
from (select *, row_number() over (partition by site_id order by publish_time desc) as n from article) a
join site on site.id = a.site_id where a.n <= 10 order by site.key, a.publish_time desc""",
        },
        "plan_releases": {
            "title": "Plan releases",
            "description": "Plans found by the plan-release watch: which plan, which stage (建议, 纲要草案, "
                           "征求意见稿, 印发, 中期评估, 调整/修订), where and when, newest first.",
            "sql": f"""select {at('p.published_at')} as published, p.region, p.stage_label as stage, p.period,
p.plan_name, p.kind, p.title as document, p.url, {at('p.first_seen')} as first_seen, p.version
from plan_release p order by p.published_at desc, p.id desc""",
        },
        "recent_runs": {
            "title": "Recent crawl runs",
            "description": "The last 100 runs: status, what they archived, errors.",
            "sql": f"""select r.id as run, site.key as site, r.trigger, r.status, {at('r.started_at')} as started,
round((julianday(r.finished_at) - julianday(r.started_at)) * 86400, 1) as seconds,
json_extract(r.stats, '$.articles_new') as new, json_extract(r.stats, '$.articles_updated') as updated,
json_extract(r.stats, '$.errors') as errors, r.error
from crawl_run r join site on site.id = r.site_id order by r.id desc limit 100""",
        },
        "story_clusters": {
            "title": "Story clusters",
            "description": "Articles carrying the same text on several URLs or sites (reprints).",
            "sql": f"""select a.story_id as story, site.key as site, {at('a.publish_time')} as published, a.title, a.url
from article a join site on site.id = a.site_id
where a.story_id in (select story_id from article where story_id is not null group by story_id
                     having count(*) > 1)
order by a.story_id desc, a.publish_time""",
        },
    }
    return {
        "title": "muniarchive",
        "description": "The archive of Chinese municipal news and government sites, read-only.",
        "databases": {database: {
            "queries": queries,
            "tables": {
                "article": {"fts_table": "article_fts", "fts_pk": "id", "sort_desc": "publish_time",
                            "label_column": "title"},
                "capture": {"hidden": True},
                "lsh_band": {"hidden": True},
                "article_fingerprint": {"hidden": True},
                "apscheduler_jobs": {"hidden": True},
                "alembic_version": {"hidden": True},
                "plan_watch": {"hidden": True},
            },
        }},
    }
