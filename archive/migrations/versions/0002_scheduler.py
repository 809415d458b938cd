"""The scheduler's tables: its APScheduler job store, its lease, alert incidents; what started a run.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from archive.models import AwareDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("crawl_run") as batch:
        batch.add_column(sa.Column("trigger", sa.String(20), nullable=False, server_default="manual"))
    # APScheduler 3.11's SQLAlchemyJobStore table, exactly as it would create it itself
    op.create_table(
        "apscheduler_jobs",
        sa.Column("id", sa.Unicode(191), primary_key=True),
        sa.Column("next_run_time", sa.Float(25), index=True),
        sa.Column("job_state", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "scheduler_lease",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", AwareDateTime, nullable=False),
        sa.Column("heartbeat_at", AwareDateTime, nullable=False),
    )
    op.create_table(
        "alert_incident",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("site_id", sa.Integer, sa.ForeignKey("site.id"), nullable=False, index=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("crawl_run.id")),
        sa.Column("opened_at", AwareDateTime, nullable=False),
        sa.Column("notified_at", AwareDateTime),
        sa.Column("closed_at", AwareDateTime),
        sa.Column("closed_by_run_id", sa.Integer, sa.ForeignKey("crawl_run.id")),
        sa.Column("recovery_notified_at", AwareDateTime),
    )


def downgrade() -> None:
    op.drop_table("alert_incident")
    op.drop_table("scheduler_lease")
    op.drop_table("apscheduler_jobs")
    with op.batch_alter_table("crawl_run") as batch:
        batch.drop_column("trigger")
