"""One site, one run: at most one `running` crawl_run per site, whatever started it (the
scheduler, `muniarchive crawl`, `python -m crawler crawl`) and on whichever machine. A
second run's row cannot be inserted, so it is recorded `skipped` instead (archive.store).

An archive that already holds several `running` rows of one site (two crawls raced before
this revision) keeps the newest running; the older are recorded interrupted.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from archive.models import AwareDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

RUNNING = sa.text("status = 'running'")


def upgrade() -> None:
    crawl_run = sa.table("crawl_run", sa.column("id", sa.Integer), sa.column("site_id", sa.Integer),
                         sa.column("status", sa.String), sa.column("finished_at", AwareDateTime),
                         sa.column("error", sa.Text))
    bind = op.get_bind()
    newest = dict(bind.execute(sa.select(crawl_run.c.site_id, sa.func.max(crawl_run.c.id))
                               .where(crawl_run.c.status == "running").group_by(crawl_run.c.site_id)).all())
    older = [run_id for run_id, site_id in bind.execute(
        sa.select(crawl_run.c.id, crawl_run.c.site_id).where(crawl_run.c.status == "running")).all()
        if run_id != newest[site_id]]
    if older:
        bind.execute(crawl_run.update().where(crawl_run.c.id.in_(older)).values(
            status="interrupted", finished_at=datetime.now(UTC),
            error="a newer run of the site was running at the same time (recorded when one run per site "
                  "became the rule)"))
    op.create_index("ix_crawl_run_one_running", "crawl_run", ["site_id"], unique=True,
                    sqlite_where=RUNNING, postgresql_where=RUNNING)


def downgrade() -> None:
    op.drop_index("ix_crawl_run_one_running", "crawl_run")
