"""Plan releases recorded as the quiet baseline (known, never announced).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("plan_release") as batch:
        batch.add_column(sa.Column("baseline", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("plan_release") as batch:
        batch.drop_column("baseline")
