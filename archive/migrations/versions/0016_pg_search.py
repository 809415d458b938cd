"""Search on PostgreSQL: the article_search table holds each article's simplified search text
(the same text FTS5 indexes on SQLite) under a pg_trgm GIN index, written by the same
indexing step. Articles stored before are indexed here. Nothing changes on SQLite.

pg_trgm ships with PostgreSQL; creating the extension needs a role allowed to (the owner of
the database on PostgreSQL 13+, where pg_trgm is a trusted extension).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "article_search",
        sa.Column("article_id", sa.Integer, sa.ForeignKey("article.id"), primary_key=True, autoincrement=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.execute("CREATE INDEX ix_article_search_trgm ON article_search "
               "USING gin (title gin_trgm_ops, body gin_trgm_ops)")

    from textnorm import search_text

    article = sa.table("article", sa.column("id"), sa.column("title"), sa.column("body"))
    search = sa.table("article_search", sa.column("article_id"), sa.column("title"), sa.column("body"))
    last = 0
    while rows := bind.execute(sa.select(article.c.id, article.c.title, article.c.body)
                               .where(article.c.id > last).order_by(article.c.id).limit(BATCH)).all():
        texts = [(row.id, search_text(row.title, row.body)) for row in rows]
        bind.execute(search.insert(), [{"article_id": id_, "title": t.title, "body": t.body} for id_, t in texts])
        last = rows[-1].id


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_table("article_search")
