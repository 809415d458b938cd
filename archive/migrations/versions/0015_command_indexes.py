"""An index for every query a command makes, so that none reads every article (or every run):
`status` counts a site's articles of the last days (site, first seen), finds its last success
(site, finished_at) and its open incidents (site, closed_at); every command finds the runs still going, and plan detection each site's
first success (status, site); `show` and `history` look a URL up whatever its site (article
and failed_url by canonical URL). Plain indexes: the same on SQLite and PostgreSQL.

Indexes no query reads go, with the disk and the insert time they cost each article
(benchmarks/archive.py): on article.content_hash and capture.content_digest (compared after
a lookup by URL, never looked up), and on lsh_band.article_id (an article's bands are found
by the keys of its stored signature, archive/index.py).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# (name, table, columns)
INDEXES = (
    ("ix_article_site_first_seen", "article", ["site_id", "first_seen"]),
    ("ix_article_canonical_url", "article", ["canonical_url"]),
    ("ix_crawl_run_status_site", "crawl_run", ["status", "site_id"]),
    ("ix_crawl_run_site_finished", "crawl_run", ["site_id", "finished_at"]),
    ("ix_failed_url_canonical_url", "failed_url", ["canonical_url"]),
    ("ix_alert_incident_site_closed", "alert_incident", ["site_id", "closed_at"]),
)
UNUSED = (
    # (site_id, closed_at) serves every query the site_id index did
    ("ix_alert_incident_site_id", "alert_incident", ["site_id"]),
    ("ix_article_content_hash", "article", ["content_hash"]),
    ("ix_capture_content_digest", "capture", ["content_digest"]),
    ("ix_lsh_band_article_id", "lsh_band", ["article_id"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    for name, table, _ in UNUSED:
        op.drop_index(name, table)


def downgrade() -> None:
    for name, table, columns in UNUSED:
        op.create_index(name, table, columns)
    for name, table, _ in INDEXES:
        op.drop_index(name, table)
