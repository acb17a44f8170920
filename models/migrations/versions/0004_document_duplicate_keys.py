"""The duplicate check's keys as columns of `documents` (issue 13): the machine reading's document number, its
folded form (`number_key`, indexed with supplier_id) and its total as exact Decimal text, so that the check looks
up its candidates with one indexed query instead of loading every stored reading.  Existing rows are filled in
from their `extraction` JSON, the way the pipeline fills them (models.documents.reading_keys).

Downgrade drops them again; on SQLite with ALTER TABLE ... DROP COLUMN (SQLite >= 3.35), not by copying the
table: `documents` is referenced by other tables, and with foreign keys on a copy-and-drop would fail.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 09:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BATCH = 500
COLUMNS = ("document_number", "number_key", "total_amount")

documents = sa.table("documents", sa.column("id", sa.Integer()), sa.column("extraction", JSON),
                     sa.column("document_number", sa.Text()), sa.column("number_key", sa.String(255)),
                     sa.column("total_amount", sa.Text()))


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("document_number", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("number_key", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("total_amount", sa.Text(), nullable=True))
        batch_op.create_index("ix_documents_supplier_number", ["supplier_id", "number_key"], unique=False)
    _backfill()


def _backfill() -> None:
    """Every read document's keys from its reading, BATCH rows at a time (by id, so memory stays flat)."""
    from models.documents import reading_keys      # the one definition the pipeline writes with
    connection = op.get_bind()
    update = (documents.update().where(documents.c.id == sa.bindparam("row_id"))
              .values({name: sa.bindparam(f"new_{name}") for name in COLUMNS}))
    last = 0
    while True:
        rows = connection.execute(sa.select(documents.c.id, documents.c.extraction)
                                  .where(documents.c.id > last, documents.c.extraction.is_not(None))
                                  .order_by(documents.c.id).limit(BATCH)).all()
        if not rows:
            return
        values = []
        for row_id, extraction in rows:
            keys = reading_keys(extraction)
            if any(v is not None for v in keys.values()):
                values.append({"row_id": row_id, **{f"new_{k}": v for k, v in keys.items()}})
        if values:
            connection.execute(update, values)
        last = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("documents", schema=None, recreate="never") as batch_op:
        batch_op.drop_index("ix_documents_supplier_number")
        batch_op.drop_column("total_amount")
        batch_op.drop_column("number_key")
        batch_op.drop_column("document_number")
