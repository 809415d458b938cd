"""Reprints and search: story clusters, MinHash fingerprints with their LSH bands, the FTS5
trigram index over simplified text; tracking parameters dropped from canonical URLs.

Existing articles are indexed here, so an archive made before this revision searches and
clusters like a new one.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from archive.models import AwareDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "story",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", AwareDateTime, nullable=False),
    )
    with op.batch_alter_table("article") as batch:
        batch.add_column(sa.Column("text_hash", sa.String(64)))
        batch.add_column(sa.Column("story_id", sa.Integer, sa.ForeignKey("story.id", name="fk_article_story")))
        batch.create_index("ix_article_text_hash", ["text_hash"])
        batch.create_index("ix_article_story_id", ["story_id"])
    op.create_table(
        "article_fingerprint",
        sa.Column("article_id", sa.Integer, sa.ForeignKey("article.id"), primary_key=True),
        sa.Column("signature", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "lsh_band",
        sa.Column("key", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("article_id", sa.Integer, sa.ForeignKey("article.id"), primary_key=True),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_lsh_band_article_id", "lsh_band", ["article_id"])
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE article_fts USING fts5(title, body, tokenize='trigram')")

    from archive.index import canonical, index_article

    with op.batch_alter_table("site") as batch:
        batch.add_column(sa.Column("fold_scheme", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("fold_index", sa.Boolean, nullable=False, server_default=sa.false()))

    article = sa.table("article", sa.column("id"), sa.column("site_id"), sa.column("url"),
                       sa.column("canonical_url"), sa.column("title"), sa.column("body"))
    rows = bind.execute(sa.select(article.c.id, article.c.site_id, article.c.url, article.c.canonical_url,
                                  article.c.title, article.c.body).order_by(article.c.id)).all()
    taken = {(row.site_id, row.canonical_url) for row in rows}
    for row in rows:
        # tracking parameters no longer make a URL distinct; where two stored URLs now fold
        # into one, both records stay as they were (nothing is merged or lost)
        key = canonical(row.url)
        if key != row.canonical_url and (row.site_id, key) not in taken:
            bind.execute(article.update().where(article.c.id == row.id).values(canonical_url=key))
            taken.add((row.site_id, key))
        index_article(bind, row.id, row.title, row.body, search=bind.dialect.name == "sqlite")  # PostgreSQL: 0016


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("DROP TABLE article_fts")
    op.drop_table("lsh_band")
    op.drop_table("article_fingerprint")
    with op.batch_alter_table("article") as batch:
        batch.drop_index("ix_article_story_id")
        batch.drop_index("ix_article_text_hash")
        batch.drop_constraint("fk_article_story", type_="foreignkey")
        batch.drop_column("story_id")
        batch.drop_column("text_hash")
    op.drop_table("story")
    with op.batch_alter_table("site") as batch:
        batch.drop_column("fold_index")
        batch.drop_column("fold_scheme")
