"""The SQLite search index remade smaller: FTS5 declared body first, and written as one
segment. FTS5 marks every column but the first in each term's position list of each
article (two bytes per term and article); nearly every term is in the body, so with the body
first almost none needs the mark: 17 % smaller on benchmarks/archive.py's text, and 8 % more
from merging the rebuilt index into one segment. Search finds and ranks the same (BM25 with
equal column weights does not depend on the columns' order; queries name no column).

The index holds the simplified search text, not the article table's, so FTS5's 'rebuild'
cannot remake it: every indexed article is indexed again through archive/index.py, in
batches (memory stays bounded). Stopped half-way, the archive stays at 0016 and the next
command that opens it makes the index again from the start. It takes about 1.5 ms of CPU an
article, most of it converting the text to simplified script (114,000 articles: 174 s),
holding the archive's write lock (run `muniarchive migrate` before the crawls start), and
the WAL grows to about the index's size until the next checkpoint. Nothing changes on
PostgreSQL.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

OPTIONS = "content='article', content_rowid='id', tokenize='trigram'"


def _remake(columns: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    from archive.index import reindex_search

    # IF EXISTS: Python's sqlite3 commits DDL at once, so a migration stopped between the drop
    # and the create leaves no table (the next attempt starts again here)
    op.execute("DROP TABLE IF EXISTS article_fts")
    op.execute(f"CREATE VIRTUAL TABLE article_fts USING fts5({columns}, {OPTIONS})")
    reindex_search(bind)


def upgrade() -> None:
    _remake("body, title")


def downgrade() -> None:
    _remake("title, body")
