"""An index for a product's newest moves (the stock report lists them by id, newest first).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 06:45:00
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_stock_moves_product_newest", "stock_moves", ["product_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_stock_moves_product_newest", table_name="stock_moves")
