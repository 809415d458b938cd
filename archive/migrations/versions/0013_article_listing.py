"""Articles listed newest first per site (`muniarchive articles --site`) read an index on
(site, publish time) instead of sorting every article of the site.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_article_site_publish_time", "article", ["site_id", "publish_time"])


def downgrade() -> None:
    op.drop_index("ix_article_site_publish_time", "article")
