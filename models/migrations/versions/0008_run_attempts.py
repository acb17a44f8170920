"""Intake that loses nothing (issue 18): what the outbox, the sweep and the attempt cap keep on a run.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # sent_at: when the run was last handed to the dispatcher (the broker); NULL: never sent (the broker was
    # down at intake), so the sweep sends it.  Runs that exist already were sent.
    with op.batch_alter_table("processing_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))
        # holder: who holds the running attempt (a Celery task id): the same task delivered again means the
        # worker that had it is gone.  released: attempts given back after a transient failure (not counted
        # against INBOUND_MAX_ATTEMPTS)
        batch_op.add_column(sa.Column("holder", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("released", sa.Integer(), nullable=False, server_default="0"))
    op.execute("UPDATE processing_runs SET sent_at = queued_at")


def downgrade() -> None:
    with op.batch_alter_table("processing_runs", schema=None) as batch_op:
        batch_op.drop_column("released")
        batch_op.drop_column("holder")
        batch_op.drop_column("sent_at")
