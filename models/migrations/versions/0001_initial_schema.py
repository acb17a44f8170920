"""Initial schema: master data, documents and history, postings, stock moves, balances, learned facts.

Also: triggers that make stock_moves, postings and document_history append-only on both backends, and the
default warehouse MAIN with its location DEFAULT.

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 06:05:17.379591
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from models.types import Exact, UtcDateTime

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('products',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=128), nullable=False),
    sa.Column('name', sa.String(length=512), nullable=False),
    sa.Column('aliases', JSON, nullable=False),
    sa.Column('barcodes', JSON, nullable=False),
    sa.Column('unit', sa.String(length=32), nullable=False),
    sa.Column('unit_conversions', JSON, nullable=False),
    sa.Column('category', sa.String(length=255), nullable=True),
    sa.Column('tax_rate', Exact(scale=6), nullable=True),
    sa.Column('spec', sa.String(length=512), nullable=True),
    sa.Column('batch_tracked', sa.Boolean(), nullable=False),
    sa.Column('shelf_life_days', sa.Integer(), nullable=True),
    sa.Column('allow_negative', sa.Boolean(), nullable=False),
    sa.Column('extra', JSON, nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_products')),
    sa.UniqueConstraint('sku', name=op.f('uq_products_sku'))
    )
    op.create_table('suppliers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=512), nullable=False),
    sa.Column('aliases', JSON, nullable=False),
    sa.Column('tax_id', sa.String(length=64), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('phone', sa.String(length=64), nullable=True),
    sa.Column('bank_account', sa.String(length=255), nullable=True),
    sa.Column('email', sa.String(length=255), nullable=True),
    sa.Column('extra', JSON, nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suppliers')),
    sa.UniqueConstraint('name', name=op.f('uq_suppliers_name')),
    sa.UniqueConstraint('tax_id', name=op.f('uq_suppliers_tax_id'))
    )
    op.create_table('warehouses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_warehouses')),
    sa.UniqueConstraint('code', name=op.f('uq_warehouses_code'))
    )
    op.create_table('documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=512), nullable=False),
    sa.Column('mime', sa.String(length=128), nullable=True),
    sa.Column('size_bytes', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('blob_ref', sa.String(length=1024), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('failure_reason', sa.Text(), nullable=True),
    sa.Column('document_type', sa.String(length=32), nullable=True),
    sa.Column('supplier_id', sa.Integer(), nullable=True),
    sa.Column('extraction', JSON, nullable=True),
    sa.Column('matches', JSON, nullable=True),
    sa.Column('current', JSON, nullable=True),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['supplier_id'], ['suppliers.id'], name=op.f('fk_documents_supplier_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents')),
    sa.UniqueConstraint('sha256', name=op.f('uq_documents_sha256'))
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_documents_status'), ['status'], unique=False)

    op.create_table('learned_facts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=True),
    sa.Column('key', sa.String(length=512), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=True),
    sa.Column('factor', Exact(scale=6), nullable=True),
    sa.Column('payload', JSON, nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=255), nullable=False),
    sa.Column('superseded_at', UtcDateTime(), nullable=True),
    sa.Column('superseded_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['superseded_by'], ['learned_facts.id'], name=op.f('fk_learned_facts_superseded_by')),
    sa.ForeignKeyConstraint(['supplier_id'], ['suppliers.id'], name=op.f('fk_learned_facts_supplier_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_learned_facts'))
    )
    with op.batch_alter_table('learned_facts', schema=None) as batch_op:
        batch_op.create_index('ix_learned_facts_lookup', ['kind', 'supplier_id', 'key'], unique=False)

    op.create_table('locations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id'], name=op.f('fk_locations_warehouse_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_locations')),
    sa.UniqueConstraint('warehouse_id', 'code', name=op.f('uq_locations_warehouse_id_code'))
    )
    with op.batch_alter_table('locations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_locations_warehouse_id'), ['warehouse_id'], unique=False)

    op.create_table('product_costs',
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('quantity', Exact(scale=6), nullable=False),
    sa.Column('value', Exact(scale=12), nullable=False),
    sa.Column('average_cost', Exact(scale=6), nullable=False),
    sa.Column('updated_at', UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_product_costs_product_id')),
    sa.PrimaryKeyConstraint('product_id', name=op.f('pk_product_costs'))
    )
    op.create_table('purchase_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('po_number', sa.String(length=128), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('order_date', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['supplier_id'], ['suppliers.id'], name=op.f('fk_purchase_orders_supplier_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purchase_orders')),
    sa.UniqueConstraint('po_number', name=op.f('uq_purchase_orders_po_number'))
    )
    with op.batch_alter_table('purchase_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_purchase_orders_supplier_id'), ['supplier_id'], unique=False)

    op.create_table('supplier_products',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('supplier_sku', sa.String(length=128), nullable=True),
    sa.Column('supplier_name', sa.String(length=512), nullable=True),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('unit', sa.String(length=32), nullable=True),
    sa.Column('factor', Exact(scale=6), nullable=False),
    sa.Column('last_price', Exact(scale=6), nullable=True),
    sa.Column('extra', JSON, nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_supplier_products_product_id')),
    sa.ForeignKeyConstraint(['supplier_id'], ['suppliers.id'], name=op.f('fk_supplier_products_supplier_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supplier_products')),
    sa.UniqueConstraint('supplier_id', 'supplier_name', name=op.f('uq_supplier_products_supplier_id_supplier_name')),
    sa.UniqueConstraint('supplier_id', 'supplier_sku', name=op.f('uq_supplier_products_supplier_id_supplier_sku'))
    )
    with op.batch_alter_table('supplier_products', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supplier_products_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supplier_products_supplier_id'), ['supplier_id'], unique=False)

    op.create_table('document_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('at', UtcDateTime(), nullable=False),
    sa.Column('who', sa.String(length=255), nullable=False),
    sa.Column('path', sa.String(length=512), nullable=False),
    sa.Column('before', JSON, nullable=True),
    sa.Column('after', JSON, nullable=True),
    sa.Column('why', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_document_history_document_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_history'))
    )
    with op.batch_alter_table('document_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_history_document_id'), ['document_id'], unique=False)

    op.create_table('postings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('idempotency_key', sa.String(length=255), nullable=True),
    sa.Column('reverses_id', sa.Integer(), nullable=True),
    sa.Column('posted_by', sa.String(length=255), nullable=False),
    sa.Column('approved_by', sa.String(length=255), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('posted_at', UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_postings_document_id')),
    sa.ForeignKeyConstraint(['reverses_id'], ['postings.id'], name=op.f('fk_postings_reverses_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_postings')),
    sa.UniqueConstraint('document_id', 'kind', name=op.f('uq_postings_document_id_kind')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_postings_idempotency_key')),
    sa.UniqueConstraint('reverses_id', name=op.f('uq_postings_reverses_id'))
    )
    op.create_table('purchase_order_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purchase_order_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('unit', sa.String(length=32), nullable=False),
    sa.Column('quantity', Exact(scale=6), nullable=False),
    sa.Column('factor', Exact(scale=6), nullable=False),
    sa.Column('price', Exact(scale=6), nullable=True),
    sa.Column('ordered_base', Exact(scale=6), nullable=False),
    sa.Column('received_base', Exact(scale=6), nullable=False),
    sa.Column('extra', JSON, nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_purchase_order_lines_product_id')),
    sa.ForeignKeyConstraint(['purchase_order_id'], ['purchase_orders.id'], name=op.f('fk_purchase_order_lines_purchase_order_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purchase_order_lines')),
    sa.UniqueConstraint('purchase_order_id', 'line_no', name=op.f('uq_purchase_order_lines_purchase_order_id_line_no'))
    )
    with op.batch_alter_table('purchase_order_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_purchase_order_lines_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_purchase_order_lines_purchase_order_id'), ['purchase_order_id'], unique=False)

    op.create_table('stock_balances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('batch', sa.String(length=128), nullable=False),
    sa.Column('expiry', sa.Date(), nullable=True),
    sa.Column('quantity', Exact(scale=6), nullable=False),
    sa.Column('value', Exact(scale=12), nullable=False),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_stock_balances_location_id')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_stock_balances_product_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_balances')),
    sa.UniqueConstraint('product_id', 'location_id', 'batch', name=op.f('uq_stock_balances_product_id_location_id_batch'))
    )
    with op.batch_alter_table('stock_balances', schema=None) as batch_op:
        batch_op.create_index('ix_stock_balances_location', ['location_id'], unique=False)

    op.create_table('stock_moves',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('posting_id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('batch', sa.String(length=128), nullable=False),
    sa.Column('expiry', sa.Date(), nullable=True),
    sa.Column('quantity', Exact(scale=6), nullable=False),
    sa.Column('unit_cost', Exact(scale=6), nullable=False),
    sa.Column('value', Exact(scale=12), nullable=False),
    sa.Column('po_line_id', sa.Integer(), nullable=True),
    sa.Column('reverses_move_id', sa.Integer(), nullable=True),
    sa.Column('posted_by', sa.String(length=255), nullable=False),
    sa.Column('posted_at', UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_stock_moves_document_id')),
    sa.ForeignKeyConstraint(['location_id'], ['locations.id'], name=op.f('fk_stock_moves_location_id')),
    sa.ForeignKeyConstraint(['po_line_id'], ['purchase_order_lines.id'], name=op.f('fk_stock_moves_po_line_id')),
    sa.ForeignKeyConstraint(['posting_id'], ['postings.id'], name=op.f('fk_stock_moves_posting_id')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_stock_moves_product_id')),
    sa.ForeignKeyConstraint(['reverses_move_id'], ['stock_moves.id'], name=op.f('fk_stock_moves_reverses_move_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_moves')),
    sa.UniqueConstraint('reverses_move_id', name=op.f('uq_stock_moves_reverses_move_id'))
    )
    with op.batch_alter_table('stock_moves', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stock_moves_location_id'), ['location_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stock_moves_posting_id'), ['posting_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stock_moves_document_id'), ['document_id'], unique=False)
        batch_op.create_index('ix_stock_moves_product_location', ['product_id', 'location_id'], unique=False)

    _append_only_triggers()
    op.execute("INSERT INTO warehouses (code, name) VALUES ('MAIN', 'Main warehouse')")
    op.execute("INSERT INTO locations (warehouse_id, code, name) "
               "SELECT id, 'DEFAULT', 'Default location' FROM warehouses WHERE code = 'MAIN'")


APPEND_ONLY = ("stock_moves", "postings", "document_history")


def _append_only_triggers() -> None:
    """UPDATE and DELETE on the ledger's history tables fail in the database itself, not only in our code."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION inbound_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   "RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$")
        for table in APPEND_ONLY:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION inbound_append_only()")
        return
    for table in APPEND_ONLY:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")


def _drop_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS inbound_append_only()")
        return
    for table in APPEND_ONLY:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")


def downgrade() -> None:
    _drop_append_only_triggers()
    with op.batch_alter_table('stock_moves', schema=None) as batch_op:
        batch_op.drop_index('ix_stock_moves_product_location')
        batch_op.drop_index(batch_op.f('ix_stock_moves_document_id'))
        batch_op.drop_index(batch_op.f('ix_stock_moves_posting_id'))
        batch_op.drop_index(batch_op.f('ix_stock_moves_location_id'))

    op.drop_table('stock_moves')
    with op.batch_alter_table('stock_balances', schema=None) as batch_op:
        batch_op.drop_index('ix_stock_balances_location')

    op.drop_table('stock_balances')
    with op.batch_alter_table('purchase_order_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_purchase_order_lines_purchase_order_id'))
        batch_op.drop_index(batch_op.f('ix_purchase_order_lines_product_id'))

    op.drop_table('purchase_order_lines')
    op.drop_table('postings')
    with op.batch_alter_table('document_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_history_document_id'))

    op.drop_table('document_history')
    with op.batch_alter_table('supplier_products', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supplier_products_supplier_id'))
        batch_op.drop_index(batch_op.f('ix_supplier_products_product_id'))

    op.drop_table('supplier_products')
    with op.batch_alter_table('purchase_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_purchase_orders_supplier_id'))

    op.drop_table('purchase_orders')
    op.drop_table('product_costs')
    with op.batch_alter_table('locations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_locations_warehouse_id'))

    op.drop_table('locations')
    with op.batch_alter_table('learned_facts', schema=None) as batch_op:
        batch_op.drop_index('ix_learned_facts_lookup')

    op.drop_table('learned_facts')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_documents_status'))

    op.drop_table('documents')
    op.drop_table('warehouses')
    op.drop_table('suppliers')
    op.drop_table('products')
