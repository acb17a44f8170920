"""The learned layout model's versions and their log (issue 15): `layout_models` (one row per trained model
folder, its scores and its status) and `layout_model_events` (trained, promoted, rejected, retired: append-only).
A partial UNIQUE index keeps at most one version promoted.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from models.types import UtcDateTime

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

PROMOTED = sa.text("status = 'promoted'")


def upgrade() -> None:
    op.create_table(
        "layout_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("data_version", sa.String(length=128), nullable=False),
        sa.Column("code_version", sa.String(length=128), nullable=False),
        sa.Column("trained_on", sa.Integer(), nullable=False),
        sa.Column("metrics", JSON, nullable=False),
        sa.Column("scores", JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("promoted_at", UtcDateTime(), nullable=True),
        sa.Column("promoted_by", sa.String(length=255), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_layout_models")),
        sa.UniqueConstraint("version", name=op.f("uq_layout_models_version")),
    )
    with op.batch_alter_table("layout_models", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_layout_models_status"), ["status"], unique=False)
        batch_op.create_index("uq_layout_models_one_promoted", ["status"], unique=True,
                              sqlite_where=PROMOTED, postgresql_where=PROMOTED)
    op.create_table(
        "layout_model_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("who", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["model_id"], ["layout_models.id"], name=op.f("fk_layout_model_events_model_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_layout_model_events")),
    )
    with op.batch_alter_table("layout_model_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_layout_model_events_model_id"), ["model_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("layout_model_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_layout_model_events_model_id"))
    op.drop_table("layout_model_events")
    with op.batch_alter_table("layout_models", schema=None) as batch_op:
        batch_op.drop_index("uq_layout_models_one_promoted")
        batch_op.drop_index(batch_op.f("ix_layout_models_status"))
    op.drop_table("layout_models")
