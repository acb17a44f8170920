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
    pass


def downgrade() -> None:
    pass
