"""The tables.  Read this file top to bottom to know what is stored.

Master data (products, suppliers, supplier products, purchase orders, warehouses and locations) is mutable;
documents keep the machine's reading (`extraction`, `matches`) untouched beside the reviewed state (`current`)
and every change is a row in `document_history`.  The ledger is `stock_moves` (append-only, enforced by
triggers on both backends) with `postings` (one receipt and one reversal per document at most, one use per
Idempotency-Key: UNIQUE constraints) and two caches updated in the same transaction as the moves:
`stock_balances` (product, location, batch) and `product_costs` (product: quantity, value, moving average).
`learned_facts` is the matcher's memory, append-only, latest wins.

Decimals are `Exact` (see types.py); timestamps `UtcDateTime`; JSON is JSONB on PostgreSQL.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from models.types import QTY_SCALE, VALUE_SCALE, Exact, UtcDateTime, utcnow

Json = JSON().with_variant(JSONB(), "postgresql")
NAMING = {"ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_N_name)s",
          "ck": "ck_%(table_name)s_%(constraint_name)s", "fk": "fk_%(table_name)s_%(column_0_name)s",
          "pk": "pk_%(table_name)s"}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _qty() -> Any:
    return mapped_column(Exact(QTY_SCALE), nullable=False, default=Decimal(0))


def _value() -> Any:
    return mapped_column(Exact(VALUE_SCALE), nullable=False, default=Decimal(0))


class Warehouse(Base):
    __tablename__ = "warehouses"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))


class Location(Base):
    __tablename__ = "locations"
    __table_args__ = (UniqueConstraint("warehouse_id", "code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))


class Product(Base):
    __tablename__ = "products"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(512))
    aliases: Mapped[list] = mapped_column(Json, default=list)
    barcodes: Mapped[list] = mapped_column(Json, default=list)
    unit: Mapped[str] = mapped_column(String(32))                      # the base unit
    unit_conversions: Mapped[dict] = mapped_column(Json, default=dict)  # {"箱": "24"}: base units per unit
    category: Mapped[str | None] = mapped_column(String(255))
    tax_rate: Mapped[Decimal | None] = mapped_column(Exact(QTY_SCALE))  # 0.13 for 13 %
    spec: Mapped[str | None] = mapped_column(String(512))
    batch_tracked: Mapped[bool] = mapped_column(Boolean, default=False)
    shelf_life_days: Mapped[int | None] = mapped_column(Integer)
    allow_negative: Mapped[bool] = mapped_column(Boolean, default=False)
    extra: Mapped[dict] = mapped_column(Json, default=dict)            # columns beyond the known ones
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class Supplier(Base):
    __tablename__ = "suppliers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(512), unique=True)
    aliases: Mapped[list] = mapped_column(Json, default=list)
    tax_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    address: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(64))
    bank_account: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    extra: Mapped[dict] = mapped_column(Json, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class SupplierProduct(Base):
    __tablename__ = "supplier_products"
    __table_args__ = (UniqueConstraint("supplier_id", "supplier_sku"),
                      UniqueConstraint("supplier_id", "supplier_name"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    supplier_sku: Mapped[str | None] = mapped_column(String(128))
    supplier_name: Mapped[str | None] = mapped_column(String(512))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    unit: Mapped[str | None] = mapped_column(String(32))                # as the supplier prints it
    factor: Mapped[Decimal] = mapped_column(Exact(QTY_SCALE), default=Decimal(1))  # base units per printed unit
    last_price: Mapped[Decimal | None] = mapped_column(Exact(QTY_SCALE))
    extra: Mapped[dict] = mapped_column(Json, default=dict)


class PurchaseOrder(Base):
    __tablename__ = "purchase_orders"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    po_number: Mapped[str] = mapped_column(String(128), unique=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    order_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")     # open | closed
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class PurchaseOrderLine(Base):
    """Ordered and received are kept in base units too, so receipts in any unit add up; open = ordered - received."""
    __tablename__ = "purchase_order_lines"
    __table_args__ = (UniqueConstraint("purchase_order_id", "line_no"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    purchase_order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    unit: Mapped[str] = mapped_column(String(32))
    quantity: Mapped[Decimal] = _qty()                                   # as ordered, in `unit`
    factor: Mapped[Decimal] = mapped_column(Exact(QTY_SCALE), default=Decimal(1))
    price: Mapped[Decimal | None] = mapped_column(Exact(QTY_SCALE))     # per `unit`
    ordered_base: Mapped[Decimal] = _qty()
    received_base: Mapped[Decimal] = _qty()
    extra: Mapped[dict] = mapped_column(Json, default=dict)


class Document(Base):
    """`document_number`, `number_key` and `total_amount` are the duplicate check's keys, taken from the machine
    reading (`extraction`, never from corrections) whenever it is stored (models.documents.reading_keys); with
    `sha256` and `supplier_id` they let the check look up its candidates with one indexed query."""
    __tablename__ = "documents"
    __table_args__ = (Index("ix_documents_supplier_number", "supplier_id", "number_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(512))
    mime: Mapped[str | None] = mapped_column(String(128))
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16), default="upload")  # upload | api | email | folder
    blob_ref: Mapped[str | None] = mapped_column(String(1024))
    status: Mapped[str] = mapped_column(String(16), default="received", index=True)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    document_type: Mapped[str | None] = mapped_column(String(32))
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"))
    extraction: Mapped[dict | None] = mapped_column(Json)   # the machine's reading, never changed once set
    matches: Mapped[dict | None] = mapped_column(Json)      # the machine's matches with candidates, ditto
    current: Mapped[dict | None] = mapped_column(Json)      # the reviewed state: reading + corrections
    document_number: Mapped[str | None] = mapped_column(Text)      # the reading's document number, as read
    number_key: Mapped[str | None] = mapped_column(String(255))    # matching.number_key(document_number)
    total_amount: Mapped[str | None] = mapped_column(Text)         # the reading's total: str(Decimal), exact
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class DocumentHistory(Base):
    """Append-only: one row per change to a document (status, field, line, match)."""
    __tablename__ = "document_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    who: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(String(512))          # "status", "fields.invoice_number", "lines.2.quantity"
    before: Mapped[Any] = mapped_column(Json, nullable=True)
    after: Mapped[Any] = mapped_column(Json, nullable=True)
    why: Mapped[str | None] = mapped_column(Text)


class Posting(Base):
    """One row per receipt or reversal posted; the UNIQUE constraints make posting idempotent in the database."""
    __tablename__ = "postings"
    __table_args__ = (UniqueConstraint("document_id", "kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))  # None for a stock issue
    kind: Mapped[str] = mapped_column(String(16))                       # receipt | reversal | issue
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("postings.id"), unique=True)
    posted_by: Mapped[str] = mapped_column(String(255))
    approved_by: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str | None] = mapped_column(Text)
    posted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # money (issue 17): the document's currency, the company's base currency the moves' values are kept in, and
    # base units of money per 1 unit of the document's currency (1 when they are the same); None before 0006
    currency: Mapped[str | None] = mapped_column(String(3))
    base_currency: Mapped[str | None] = mapped_column(String(3))
    exchange_rate: Mapped[Decimal | None] = mapped_column(Exact(QTY_SCALE))


class StockMove(Base):
    """Append-only.  quantity > 0 comes in, < 0 goes out (base units); value = the move's money, signed."""
    __tablename__ = "stock_moves"
    __table_args__ = (Index("ix_stock_moves_product_location", "product_id", "location_id"),
                      Index("ix_stock_moves_product_newest", "product_id", "id"))   # a product's latest moves
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    posting_id: Mapped[int] = mapped_column(ForeignKey("postings.id"), index=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    batch: Mapped[str] = mapped_column(String(128), default="")        # "" when not batch-tracked
    expiry: Mapped[date | None] = mapped_column(Date)
    quantity: Mapped[Decimal] = _qty()
    unit_cost: Mapped[Decimal] = _qty()
    value: Mapped[Decimal] = _value()
    po_line_id: Mapped[int | None] = mapped_column(ForeignKey("purchase_order_lines.id"))
    reverses_move_id: Mapped[int | None] = mapped_column(ForeignKey("stock_moves.id"), unique=True)
    posted_by: Mapped[str] = mapped_column(String(255))
    posted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    production_date: Mapped[date | None] = mapped_column(Date)        # as printed on the line (issue 17)
    currency: Mapped[str | None] = mapped_column(String(3))            # the document's currency
    document_value: Mapped[Decimal | None] = mapped_column(Exact(VALUE_SCALE))  # the value in `currency`


class StockBalance(Base):
    """Cache of sum(moves) per product, location and batch; rebuilt and compared by `invariants`."""
    __tablename__ = "stock_balances"
    __table_args__ = (UniqueConstraint("product_id", "location_id", "batch"),
                      Index("ix_stock_balances_location", "location_id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    batch: Mapped[str] = mapped_column(String(128), default="")
    expiry: Mapped[date | None] = mapped_column(Date)
    quantity: Mapped[Decimal] = _qty()
    value: Mapped[Decimal] = _value()
    production_date: Mapped[date | None] = mapped_column(Date)


class ProductCost(Base):
    """Per product: on-hand, value and moving-average cost; its row is the lock that serialises posting."""
    __tablename__ = "product_costs"
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)
    quantity: Mapped[Decimal] = _qty()
    value: Mapped[Decimal] = _value()
    average_cost: Mapped[Decimal] = _qty()
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class LearnedFact(Base):
    """The matcher's memory (issue 6): append-only; a newer fact for the same (kind, supplier, key) supersedes."""
    __tablename__ = "learned_facts"
    __table_args__ = (Index("ix_learned_facts_lookup", "kind", "supplier_id", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))     # supplier_alias | product_alias | unit_factor | layout_hint
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"))
    key: Mapped[str] = mapped_column(String(512))     # printed text or printed SKU
    target_id: Mapped[int | None] = mapped_column(Integer)  # product id or supplier id, by kind
    factor: Mapped[Decimal | None] = mapped_column(Exact(QTY_SCALE))
    payload: Mapped[dict] = mapped_column(Json, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(255))
    superseded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    superseded_by: Mapped[int | None] = mapped_column(ForeignKey("learned_facts.id"))


class CompanySetting(Base):
    """Settings an admin edits on the review screen (issue 17: base currency, time zone, near-expiry days);
    a key not stored here falls back to its INBOUND_ environment value (models.company)."""
    __tablename__ = "company_settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(Json, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(String(255))
