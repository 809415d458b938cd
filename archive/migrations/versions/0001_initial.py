"""The first tables: site, crawl_run, capture, article, article_version, attachment.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from archive.models import AwareDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("base_url", sa.String(500), nullable=False),
        sa.Column("region", sa.String(100), nullable=False),
        sa.Column("config_hash", sa.String(32), nullable=False),
        sa.Column("created_at", AwareDateTime, nullable=False),
    )
    op.create_table(
        "crawl_run",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("site.id"), nullable=False, index=True),
        sa.Column("started_at", AwareDateTime, nullable=False),
        sa.Column("finished_at", AwareDateTime),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("exit_code", sa.Integer),
        sa.Column("error", sa.Text),
        sa.Column("stats", sa.JSON, nullable=False),
        sa.Column("log_path", sa.String(500)),
        sa.Column("pid", sa.Integer),
    )
    op.create_table(
        "capture",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("site.id"), nullable=False, index=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("crawl_run.id"), index=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("fetched_at", AwareDateTime, nullable=False),
        sa.Column("http_status", sa.Integer, nullable=False),
        sa.Column("headers", sa.JSON, nullable=False),
        sa.Column("declared_encoding", sa.JSON, nullable=False),
        sa.Column("encoding", sa.String(40)),
        sa.Column("encoding_step", sa.String(20)),
        sa.Column("body_zlib", sa.LargeBinary, nullable=False),
        sa.Column("body_size", sa.Integer, nullable=False),
        sa.Column("content_digest", sa.String(64), nullable=False, index=True),
    )
    op.create_table(
        "article",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("site.id"), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("canonical_url", sa.String(1000), nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("original_title", sa.Text),
        sa.Column("body", sa.Text),
        sa.Column("publish_time", AwareDateTime),
        sa.Column("publish_time_precision", sa.String(10)),
        sa.Column("publish_time_origin", sa.String(20)),
        sa.Column("source", sa.Text),
        sa.Column("reporters", sa.JSON, nullable=False),
        sa.Column("editors", sa.JSON, nullable=False),
        sa.Column("quality", sa.JSON, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("capture_id", sa.Integer, sa.ForeignKey("capture.id")),
        sa.Column("first_seen", AwareDateTime, nullable=False),
        sa.Column("last_seen", AwareDateTime, nullable=False),
        sa.Column("modified", AwareDateTime, nullable=False),
        sa.UniqueConstraint("site_id", "canonical_url"),
    )
    op.create_index("ix_article_publish_time", "article", ["publish_time"])
    op.create_table(
        "article_version",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("article_id", sa.Integer, sa.ForeignKey("article.id"), nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("original_title", sa.Text),
        sa.Column("body", sa.Text),
        sa.Column("publish_time", AwareDateTime),
        sa.Column("publish_time_precision", sa.String(10)),
        sa.Column("source", sa.Text),
        sa.Column("reporters", sa.JSON, nullable=False),
        sa.Column("editors", sa.JSON, nullable=False),
        sa.Column("capture_id", sa.Integer, sa.ForeignKey("capture.id")),
        sa.Column("created_at", AwareDateTime, nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.UniqueConstraint("article_id", "version"),
    )
    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("site.id"), nullable=False),
        sa.Column("article_id", sa.Integer, sa.ForeignKey("article.id"), index=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("canonical_url", sa.String(1000), nullable=False),
        sa.Column("file_name", sa.Text),
        sa.Column("link_text", sa.Text),
        sa.Column("file_type", sa.String(20)),
        sa.Column("size", sa.Integer),
        sa.Column("sha256", sa.String(64), index=True),
        sa.Column("capture_id", sa.Integer, sa.ForeignKey("capture.id")),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("first_seen", AwareDateTime, nullable=False),
        sa.UniqueConstraint("site_id", "canonical_url"),
    )


def downgrade() -> None:
    for table in ("attachment", "article_version", "article", "capture", "crawl_run", "site"):
        op.drop_table(table)
