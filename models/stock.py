"""Stock queries: on-hand, value and moves, per product, location, batch, and per warehouse.

They read the balance cache (`stock_balances`, `product_costs`), which posting keeps equal to the sum of the
moves in the same transaction (`models.invariants` checks that).  `moves_*` functions read the moves
themselves.  Decimals come back exact; `StockReport.to_json()` is the `GET /api/v1/stock` shape of DESIGN.md
with decimals as strings.  Values are in the company's base currency (`currency` on the report, issue 17); a
move also carries its document's currency, amount and exchange rate, and each balance its production date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.errors import NotFound
from models.tables import Location, Posting, Product, ProductCost, StockBalance, StockMove, Warehouse

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class LocationStock:
    location_id: int
    warehouse: str        # warehouse code
    location: str         # location code
    batch: str            # "" when none
    expiry: date | None
    quantity: Decimal     # base units
    value: Decimal
    production_date: date | None = None

    def to_json(self) -> dict:
        return {"location_id": self.location_id, "warehouse": self.warehouse, "location": self.location,
                "batch": self.batch or None, "expiry": self.expiry.isoformat() if self.expiry else None,
                "on_hand": _s(self.quantity), "value": _s(self.value),
                "production_date": self.production_date.isoformat() if self.production_date else None}


@dataclass(frozen=True, slots=True)
class MoveView:
    id: int
    posted_at: datetime
    document_id: int | None
    line_no: int
    location_id: int
    batch: str
    quantity: Decimal
    unit_cost: Decimal
    value: Decimal
    posted_by: str
    reverses_move_id: int | None
    expiry: date | None = None
    production_date: date | None = None
    currency: str | None = None            # the document's currency (None: an issue or revaluation)
    document_value: Decimal | None = None  # the value in `currency`
    exchange_rate: Decimal | None = None   # base currency per 1 `currency`, from the posting

    def to_json(self) -> dict:
        return {"id": self.id, "posted_at": self.posted_at.isoformat(), "document_id": self.document_id,
                "line_no": self.line_no, "location_id": self.location_id, "batch": self.batch or None,
                "quantity": _s(self.quantity), "unit_cost": _s(self.unit_cost), "value": _s(self.value),
                "posted_by": self.posted_by, "reverses_move_id": self.reverses_move_id,
                "expiry": self.expiry.isoformat() if self.expiry else None,
                "production_date": self.production_date.isoformat() if self.production_date else None,
                "document_currency": self.currency,
                "document_value": None if self.document_value is None else _s(self.document_value),
                "exchange_rate": None if self.exchange_rate is None else _s(self.exchange_rate)}


@dataclass(frozen=True, slots=True)
class StockReport:
    product_id: int
    sku: str
    unit: str             # the base unit
    on_hand: Decimal
    value: Decimal
    average_cost: Decimal
    locations: tuple[LocationStock, ...]
    moves: tuple[MoveView, ...]   # newest first, at most `move_limit`
    currency: str | None = None   # the base currency every value and cost is in

    def to_json(self) -> dict:
        return {"product_id": self.product_id, "sku": self.sku, "on_hand": _s(self.on_hand), "unit": self.unit,
                "value": _s(self.value), "average_cost": _s(self.average_cost), "currency": self.currency,
                "locations": [loc.to_json() for loc in self.locations], "moves": [m.to_json() for m in self.moves]}


def _s(number: Decimal) -> str:
    """A decimal as a plain string without trailing zeros ("12.5", "0", "-3")."""
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def on_hand(session: Session, product_id: int, *, location_id: int | None = None, batch: str | None = None) -> Decimal:
    """Base units on hand of a product, in all locations or one, all batches or one."""
    query = select(StockBalance.quantity).where(StockBalance.product_id == product_id)
    if location_id is not None:
        query = query.where(StockBalance.location_id == location_id)
    if batch is not None:
        query = query.where(StockBalance.batch == batch)
    return sum(session.scalars(query), ZERO)


def stock_value(session: Session, product_id: int) -> Decimal:
    """The product's stock value (sum of its move values)."""
    value = session.scalar(select(ProductCost.value).where(ProductCost.product_id == product_id))
    return ZERO if value is None else value


def average_cost(session: Session, product_id: int) -> Decimal:
    """The product's moving-average cost per base unit (see models.ledger for the rule)."""
    average = session.scalar(select(ProductCost.average_cost).where(ProductCost.product_id == product_id))
    return ZERO if average is None else average


def stock_report(session: Session, product_id: int, *, move_limit: int = 50,
                 currency: str | None = None) -> StockReport:
    """`currency`: the base currency the values are in (models.company), shown on the report."""
    product = session.get(Product, product_id)
    if product is None:
        raise NotFound(f"No product {product_id}.")
    rows = session.execute(
        select(StockBalance, Location.code, Warehouse.code)
        .join(Location, Location.id == StockBalance.location_id)
        .join(Warehouse, Warehouse.id == Location.warehouse_id)
        .where(StockBalance.product_id == product_id)
        .order_by(Warehouse.code, Location.code, StockBalance.batch)).all()
    locations = tuple(LocationStock(b.location_id, wh, loc, b.batch, b.expiry, b.quantity, b.value,
                                    b.production_date)
                      for b, loc, wh in rows if b.quantity != 0 or b.value != 0)
    moves = session.execute(select(StockMove, Posting.exchange_rate).join(Posting, Posting.id == StockMove.posting_id)
                            .where(StockMove.product_id == product_id)
                            .order_by(StockMove.id.desc()).limit(move_limit))
    views = tuple(move_view(m, rate) for m, rate in moves)
    return StockReport(product.id, product.sku, product.unit, on_hand(session, product_id),
                       stock_value(session, product_id), average_cost(session, product_id), locations, views,
                       currency)


def move_view(m: StockMove, rate: Decimal | None) -> MoveView:
    return MoveView(m.id, m.posted_at, m.document_id, m.line_no, m.location_id, m.batch, m.quantity, m.unit_cost,
                    m.value, m.posted_by, m.reverses_move_id, m.expiry, m.production_date, m.currency,
                    m.document_value, rate if m.currency is not None else None)


def warehouse_stock(session: Session, warehouse_id: int) -> dict[int, tuple[Decimal, Decimal]]:
    """{product id: (on-hand, value)} over every location of a warehouse, from the balances."""
    query = (select(StockBalance.product_id, StockBalance.quantity, StockBalance.value)
             .join(Location, Location.id == StockBalance.location_id)
             .where(Location.warehouse_id == warehouse_id))
    if session.get_bind().dialect.name == "postgresql":
        grouped = query.with_only_columns(StockBalance.product_id, func.sum(StockBalance.quantity),
                                          func.sum(StockBalance.value)).group_by(StockBalance.product_id)
        return {pid: (Decimal(q), Decimal(v)) for pid, q, v in session.execute(grouped)}
    out: dict[int, tuple[Decimal, Decimal]] = {}
    for pid, quantity, value in session.execute(query):
        q, v = out.get(pid, (ZERO, ZERO))
        out[pid] = (q + quantity, v + value)
    return out


def moves_totals(session: Session, product_id: int) -> tuple[Decimal, Decimal]:
    """(quantity, value) of a product summed over its moves, not the cache (what the cache must equal)."""
    query = select(StockMove.quantity, StockMove.value).where(StockMove.product_id == product_id)
    if session.get_bind().dialect.name == "postgresql":
        q, v = session.execute(query.with_only_columns(func.coalesce(func.sum(StockMove.quantity), 0),
                                                       func.coalesce(func.sum(StockMove.value), 0))).one()
        return Decimal(q), Decimal(v)
    rows = session.execute(query).all()
    return sum((r[0] for r in rows), ZERO), sum((r[1] for r in rows), ZERO)
