"""Alert deliveries per target; the host and watching process of a crawl run.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

from archive.models import AwareDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_delivery",
        sa.Column("subject", sa.String(100), primary_key=True),
        sa.Column("target", sa.String(64), primary_key=True),
        sa.Column("delivered_at", AwareDateTime, nullable=False),
    )
    with op.batch_alter_table("crawl_run") as batch:
        batch.add_column(sa.Column("host", sa.String(200)))
        batch.add_column(sa.Column("owner_pid", sa.Integer))


def downgrade() -> None:
    with op.batch_alter_table("crawl_run") as batch:
        batch.drop_column("owner_pid")
        batch.drop_column("host")
    op.drop_table("alert_delivery")
