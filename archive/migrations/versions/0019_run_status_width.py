"""crawl_run.status wide enough for `succeeded_with_warnings` (23 characters) on PostgreSQL,
which holds a VARCHAR to its length: a run with warnings could not be recorded there. SQLite
does not enforce the length: nothing to do.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("crawl_run", "status", type_=sa.String(40), existing_type=sa.String(20),
                        existing_nullable=False)


def downgrade() -> None:
    pass  # the wider column holds whatever the narrower did; narrowing could not hold what is stored
