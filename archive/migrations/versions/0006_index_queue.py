"""Articles a crawl stored whose search row, fingerprint bands and story are still to be made.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "index_queue",
        sa.Column("article_id", sa.Integer, sa.ForeignKey("article.id"), primary_key=True, autoincrement=False),
        sa.Column("fresh", sa.Boolean, nullable=False),
        sa.Column("signature", sa.LargeBinary),
    )


def downgrade() -> None:
    op.drop_table("index_queue")
