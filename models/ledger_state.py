"""The ledger's write path, for models.ledger: lock the products, load their cost and balance rows once,
check the moves against them, then write moves, balances and costs in a few batched statements.

Round trips matter (a receipt is posted in about 15 statements): rows are read together, new balance rows
are inserted in one executemany, changed ones updated by primary key in one, costs likewise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import insert, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models.errors import NegativeStock, NotPostable
from models.tables import Posting, Product, ProductCost, StockBalance, StockMove
from models.types import QTY_SCALE, utcnow

ZERO = Decimal(0)
REVALUATION_LINE = 0   # line_no of the zero-quantity moves that clear value left at zero on-hand
_Q_QTY = Decimal(1).scaleb(-QTY_SCALE)


@dataclass(frozen=True, slots=True)
class Move:
    line_no: int
    product_id: int
    location_id: int
    batch: str
    expiry: date | None
    quantity: Decimal      # base units, signed
    value: Decimal         # money, signed
    unit_cost: Decimal
    po_line_id: int | None = None
    reverses_move_id: int | None = None
    production_date: date | None = None
    currency: str | None = None            # the document's currency (None: an issue or revaluation, base)
    document_value: Decimal | None = None  # the value in `currency`, signed


@dataclass
class Cost:
    quantity: Decimal
    value: Decimal
    average: Decimal


@dataclass
class Balance:
    id: int | None         # None: not in the table yet
    quantity: Decimal
    value: Decimal
    expiry: date | None
    changed: bool = False
    production_date: date | None = None


@dataclass
class State:
    """The locked products with their cost rows, and the balance rows the moves touch."""
    products: dict[int, Product]
    costs: dict[int, Cost]
    balances: dict[tuple[int, int, str], Balance] = field(default_factory=dict)


def _insert_for(session: Session):
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def lock_products(session: Session, product_ids: set[int]) -> State:
    """Lock each product's cost row (made when missing) in id order, so two postings cannot deadlock.
    One statement when every product has posted before: products joined to their locked cost rows."""
    ids = sorted(product_ids)
    rows = _locked_rows(session, ids)
    if len(rows) < len(ids):
        known = set(session.scalars(select(Product.id).where(Product.id.in_(ids))))
        if len(known) < len(ids):
            raise NotPostable(f"No product with id {sorted(set(ids) - known)[0]}.")
        now = utcnow()
        session.execute(_insert_for(session)(ProductCost).values(
            [dict(product_id=i, quantity=ZERO, value=ZERO, average_cost=ZERO, updated_at=now) for i in ids]
        ).on_conflict_do_nothing())
        rows = _locked_rows(session, ids)
    return State({p.id: p for p, *_ in rows}, {p.id: Cost(q, v, a) for p, q, v, a in rows})


def _locked_rows(session: Session, ids: list[int]) -> list:
    return session.execute(select(Product, ProductCost.quantity, ProductCost.value, ProductCost.average_cost)
                           .join(ProductCost, ProductCost.product_id == Product.id).where(Product.id.in_(ids))
                           .order_by(Product.id).with_for_update(of=ProductCost)).all()


def load_balances(session: Session, state: State, moves: list[Move]) -> None:
    """Read the balance rows these moves touch (one query); rows not there yet start at zero."""
    keys = {(m.product_id, m.location_id, m.batch) for m in moves} - set(state.balances)
    if not keys:
        return
    rows = session.execute(select(StockBalance.id, StockBalance.product_id, StockBalance.location_id,
                                  StockBalance.batch, StockBalance.quantity, StockBalance.value, StockBalance.expiry,
                                  StockBalance.production_date)
                           .where(tuple_(StockBalance.product_id, StockBalance.location_id, StockBalance.batch)
                                  .in_(sorted(keys))))
    for bid, pid, loc, batch, qty, value, expiry, produced in rows:
        state.balances[(pid, loc, batch)] = Balance(bid, qty, value, expiry, production_date=produced)
    for key in keys:
        state.balances.setdefault(key, Balance(None, ZERO, ZERO, None))


def check_negative(session: Session, state: State, moves: list[Move]) -> None:
    """Refuse moves that would take a (product, location, batch) below zero, unless the product allows it."""
    load_balances(session, state, moves)
    after: dict[tuple[int, int, str], Decimal] = {}
    for move in moves:
        key = (move.product_id, move.location_id, move.batch)
        after[key] = after.get(key, state.balances[key].quantity) + move.quantity
        product = state.products[move.product_id]
        if after[key] < 0 and not product.allow_negative:
            raise NegativeStock(f"{product.sku}: not enough on hand at location {move.location_id}"
                                f"{' batch ' + move.batch if move.batch else ''} to take "
                                f"{(-move.quantity).normalize():f} {product.unit}.")


def insert_posting(session: Session, **values) -> int | None:
    """The posting row, or None when a UNIQUE constraint says it exists already (a concurrent twin)."""
    statement = _insert_for(session)(Posting).values(posted_at=utcnow(), **values)
    return session.scalar(statement.on_conflict_do_nothing().returning(Posting.id))


def write_moves(session: Session, state: State, *, posting_id: int, document_id: int | None, moves: list[Move],
                posted_by: str) -> int:
    """Moves, then balances and costs from them, in this transaction; returns the number of moves written."""
    load_balances(session, state, moves)
    written = list(moves)
    for product_id in sorted({m.product_id for m in moves}):
        _apply(state, [m for m in moves if m.product_id == product_id])
        revaluation = _clear_leftover_value(state, product_id)
        _apply(state, revaluation)
        written += revaluation
    now = utcnow()
    session.execute(insert(StockMove), [
        dict(posting_id=posting_id, document_id=document_id, line_no=m.line_no, product_id=m.product_id,
             location_id=m.location_id, batch=m.batch, expiry=m.expiry, quantity=m.quantity,
             unit_cost=m.unit_cost, value=m.value, po_line_id=m.po_line_id,
             reverses_move_id=m.reverses_move_id, posted_by=posted_by, posted_at=now,
             production_date=m.production_date, currency=m.currency, document_value=m.document_value)
        for m in written])
    _store(session, state, {m.product_id for m in moves}, now)
    return len(written)


def _apply(state: State, moves: list[Move]) -> None:
    for move in moves:
        balance = state.balances[(move.product_id, move.location_id, move.batch)]
        balance.quantity += move.quantity
        balance.value += move.value
        if move.expiry is not None and move.quantity > 0:
            balance.expiry = move.expiry
        if move.production_date is not None and move.quantity > 0:
            balance.production_date = move.production_date
        balance.changed = True
        cost = state.costs[move.product_id]
        cost.quantity += move.quantity
        cost.value += move.value
    for product_id in {m.product_id for m in moves}:
        cost = state.costs[product_id]
        if cost.quantity > 0:
            cost.average = (cost.value / cost.quantity).quantize(_Q_QTY, ROUND_HALF_EVEN)


def _clear_leftover_value(state: State, product_id: int) -> list[Move]:
    """Zero-quantity revaluation moves that take a product's value to 0 when its on-hand is 0."""
    cost = state.costs[product_id]
    if cost.quantity != 0 or cost.value == 0:
        return []
    return [Move(REVALUATION_LINE, pid, loc, batch, None, ZERO, -b.value, ZERO)
            for (pid, loc, batch), b in sorted(state.balances.items()) if pid == product_id and b.value != 0]


def _store(session: Session, state: State, product_ids: set[int], now: datetime) -> None:
    changed = [(key, b) for key, b in state.balances.items() if b.changed]
    new = [dict(product_id=k[0], location_id=k[1], batch=k[2], quantity=b.quantity, value=b.value, expiry=b.expiry,
                production_date=b.production_date) for k, b in changed if b.id is None]
    old = [dict(id=b.id, quantity=b.quantity, value=b.value, expiry=b.expiry, production_date=b.production_date)
           for _, b in changed if b.id is not None]
    if new:
        session.execute(insert(StockBalance), new)
    if old:
        session.execute(update(StockBalance), old)
    session.execute(update(ProductCost), [
        dict(product_id=pid, quantity=state.costs[pid].quantity, value=state.costs[pid].value,
             average_cost=state.costs[pid].average, updated_at=now) for pid in sorted(product_ids)])
    state.balances.clear()   # ids of new rows are unknown here; a later write reloads
