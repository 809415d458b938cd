"""An article's text stored once: the current version's body lives in the article row only
(a version row gets it when a newer version supersedes it), and the FTS5 search index keeps
no copy of the text (external content: it reads title and body from the article table).

Before, a page's text was kept three times (article, article_version, the index's own
content table). Nothing is lost: the index is rebuilt from the very words it held. The
space freed is reused by later writes; `VACUUM` gives it back to the file system.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_CURRENT = ("EXISTS (SELECT 1 FROM article a WHERE a.id = article_version.article_id "
            "AND a.version = article_version.version)")


def upgrade() -> None:
    op.execute(f"UPDATE article_version SET body = NULL WHERE {_CURRENT}")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE article_fts RENAME TO article_fts_0006")
        op.execute("CREATE VIRTUAL TABLE article_fts USING fts5(title, body, content='article', content_rowid='id', "
                   "tokenize='trigram')")
        op.execute("INSERT INTO article_fts (rowid, title, body) SELECT rowid, title, body FROM article_fts_0006")
        op.execute("DROP TABLE article_fts_0006")


def downgrade() -> None:
    bind = op.get_bind()
    op.execute("UPDATE article_version SET body = (SELECT a.body FROM article a WHERE a.id = article_version.article_id) "
               f"WHERE {_CURRENT}")
    if bind.dialect.name == "sqlite":
        from textnorm import search_text

        op.execute("ALTER TABLE article_fts RENAME TO article_fts_0007")
        op.execute("CREATE VIRTUAL TABLE article_fts USING fts5(title, body, tokenize='trigram')")
        indexed = bind.exec_driver_sql("SELECT a.id, a.title, a.body FROM article a "
                                       "WHERE a.id IN (SELECT rowid FROM article_fts_0007)").all()
        for article_id, title, body in indexed:
            words = search_text(title, body)
            bind.exec_driver_sql("INSERT INTO article_fts (rowid, title, body) VALUES (?, ?, ?)",
                                 (article_id, words.title, words.body))
        op.execute("DROP TABLE article_fts_0007")
