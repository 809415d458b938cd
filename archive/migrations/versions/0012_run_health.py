"""Failed URLs remembered: dead ones (404/410, robots.txt, off-site redirects, transient faults
past their attempts) and those to retry later, so that they neither strand incremental crawling
nor are lost. Attachments stored `failed` before this revision are queued for a retry.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from archive.models import AwareDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "failed_url",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("site.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("canonical_url", sa.String(1000), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("first_seen", AwareDateTime, nullable=False),
        sa.Column("last_seen", AwareDateTime, nullable=False),
        sa.Column("next_attempt_at", AwareDateTime),
        sa.Column("last_run_id", sa.Integer, sa.ForeignKey("crawl_run.id")),
        sa.Column("article_url", sa.Text),
        sa.Column("link_text", sa.Text),
        sa.UniqueConstraint("site_id", "kind", "canonical_url"),
    )
    op.create_index("ix_failed_url_last_run_id", "failed_url", ["last_run_id"])
    # a failed attachment was never fetched again before: the next run tries it
    op.execute("INSERT INTO failed_url (site_id, kind, url, canonical_url, state, reason, attempts, first_seen, "
               "last_seen, next_attempt_at, article_url, link_text) "
               "SELECT attachment.site_id, 'attachment', attachment.url, attachment.canonical_url, 'retrying', "
               "COALESCE(attachment.error, 'failed'), 1, attachment.first_seen, attachment.first_seen, "
               "attachment.first_seen, article.url, attachment.link_text "
               "FROM attachment LEFT JOIN article ON article.id = attachment.article_id "
               "WHERE attachment.status = 'failed'")


def downgrade() -> None:
    op.drop_index("ix_failed_url_last_run_id", "failed_url")
    op.drop_table("failed_url")
