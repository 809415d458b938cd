"""Government document fields (信息公开): 索引号, 发布机构, 文号, 成文日期, 主题分类, 有效性 on
articles and on every version, so history holds them; 文号 indexed for look-ups. Articles
stored before get them with their next new version (a changed text, crawled or reprocessed).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

COLUMNS = (("index_number", sa.Text), ("issuing_organ", sa.Text), ("document_number", sa.String(200)),
           ("written_date", sa.Date), ("subject", sa.Text), ("validity", sa.String(50)))


def upgrade() -> None:
    for table in ("article", "article_version"):
        with op.batch_alter_table(table) as batch:
            for name, kind in COLUMNS:
                batch.add_column(sa.Column(name, kind))
    op.create_index("ix_article_document_number", "article", ["document_number"])


def downgrade() -> None:
    op.drop_index("ix_article_document_number", "article")
    for table in ("article_version", "article"):
        with op.batch_alter_table(table) as batch:
            for name, _ in reversed(COLUMNS):
                batch.drop_column(name)
