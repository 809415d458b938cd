"""Crawl logs in the archive: each run's log text (zlib), so that any machine sharing the
archive can read it (`muniarchive log RUN`), not only the one whose disk has the file.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from archive.models import AwareDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crawl_log",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("crawl_run.id"), primary_key=True, autoincrement=False),
        sa.Column("text_zlib", sa.LargeBinary, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("stored_at", AwareDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("crawl_log")
