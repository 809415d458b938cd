"""Plan-release watch: attachment text, plan_release, and how far detection has read.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from archive.models import AwareDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attachment") as batch:
        batch.add_column(sa.Column("text", sa.Text))
        batch.add_column(sa.Column("text_note", sa.Text))
    op.create_table(
        "plan_release",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("region", sa.String(100), nullable=False),
        sa.Column("plan_key", sa.String(300), nullable=False),
        sa.Column("plan_name", sa.Text, nullable=False),
        sa.Column("period", sa.String(20), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("stage_label", sa.String(20), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("site.id"), nullable=False, index=True),
        sa.Column("article_id", sa.Integer, sa.ForeignKey("article.id")),
        sa.Column("attachment_id", sa.Integer, sa.ForeignKey("attachment.id")),
        sa.Column("published_at", AwareDateTime),
        sa.Column("first_seen", AwareDateTime, nullable=False),
        sa.Column("updated_at", AwareDateTime),
        sa.Column("text_hash", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("notified_at", AwareDateTime),
        sa.Column("listed_at", AwareDateTime),
        sa.UniqueConstraint("region", "plan_key", "stage"),
    )
    watch = op.create_table(
        "plan_watch",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("last_version_id", sa.Integer, nullable=False),
        sa.Column("last_attachment_id", sa.Integer, nullable=False),
    )
    # from the start: an archive that already holds plans reports them at its next run
    op.bulk_insert(watch, [{"id": 1, "last_version_id": 0, "last_attachment_id": 0}])


def downgrade() -> None:
    op.drop_table("plan_watch")
    op.drop_table("plan_release")
    with op.batch_alter_table("attachment") as batch:
        batch.drop_column("text_note")
        batch.drop_column("text")
