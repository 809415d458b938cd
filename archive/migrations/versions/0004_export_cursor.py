"""Named export targets and how far each has read (`muniarchive export --since-last NAME`).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from archive.models import AwareDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "export_cursor",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("last_version_id", sa.Integer, nullable=False),
        sa.Column("exported_at", AwareDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("export_cursor")
