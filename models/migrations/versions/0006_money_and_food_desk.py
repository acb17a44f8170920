"""Money per currency and the food desk (issue 17): each posting records the document's currency, the base
currency its values are kept in and the exchange rate between them; each move keeps its document-currency value
and currency, and (with the balances) the production date printed on the line; `company_settings` holds what an
admin sets on the review screen (base currency, time zone, near-expiry days per category).

Plain ADD COLUMN on both backends (no batch copy on SQLite: that would drop the append-only triggers of
stock_moves and postings); DROP COLUMN on downgrade (SQLite >= 3.35).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from models.types import QTY_SCALE, VALUE_SCALE, Exact, UtcDateTime

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

COLUMNS = {
    "postings": [("currency", lambda: sa.String(length=3)), ("base_currency", lambda: sa.String(length=3)),
                 ("exchange_rate", lambda: Exact(QTY_SCALE))],
    "stock_moves": [("production_date", sa.Date), ("currency", lambda: sa.String(length=3)),
                    ("document_value", lambda: Exact(VALUE_SCALE))],
    "stock_balances": [("production_date", sa.Date)],
}


def upgrade() -> None:
    for table, columns in COLUMNS.items():
        for name, kind in columns:
            op.add_column(table, sa.Column(name, kind(), nullable=True))
    op.create_table(
        "company_settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", JSON, nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_company_settings")),
    )


def downgrade() -> None:
    op.drop_table("company_settings")
    for table, columns in COLUMNS.items():
        for name, _ in reversed(columns):
            op.drop_column(table, name)
