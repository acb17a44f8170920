"""Security hardening (issue 18): login throttling, revocable sessions, API keys with an expiry, webhook secrets encrypted at rest.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from models.types import UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_epoch", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column("user_epoch", sa.Integer(), nullable=True))
    # sealed secrets are longer than the plain ones; rows stored in the clear are read as they are and sealed
    # at start-up (pipeline.service), where the key is known
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.alter_column("secret", existing_type=sa.String(length=255), type_=sa.Text(), existing_nullable=False)
    op.create_table("ui_sessions",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("token_hash", sa.String(length=64), nullable=False),
    sa.Column("user_id", sa.Integer(), nullable=False),
    sa.Column("epoch", sa.Integer(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.Column("revoked_at", UtcDateTime(), nullable=True),
    sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_ui_sessions_user_id")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_ui_sessions")),
    sa.UniqueConstraint("token_hash", name=op.f("uq_ui_sessions_token_hash"))
    )
    with op.batch_alter_table("ui_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ui_sessions_user_id"), ["user_id"], unique=False)
    op.create_table("login_failures",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("username", sa.String(length=255), nullable=False),
    sa.Column("address", sa.String(length=64), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures"))
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_failures_username"), ["username"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_failures_address"), ["address"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_failures_at"), ["at"], unique=False)


def downgrade() -> None:
    op.drop_table("login_failures")
    op.drop_table("ui_sessions")
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.alter_column("secret", existing_type=sa.Text(), type_=sa.String(length=255), existing_nullable=False)
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("user_epoch")
        batch_op.drop_column("expires_at")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_epoch")
