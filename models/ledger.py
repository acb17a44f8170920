"""The inventory ledger: posting receipts, reversing them, issuing stock.  Every function runs inside the
caller's transaction (`models.db.transaction`) and either writes all its rows or raises a `LedgerError`
before writing any.

Rules
-----
- Stock moves are append-only (database triggers refuse UPDATE and DELETE).  quantity is in the product's
  base unit (printed quantity x factor, which must come out exact to 6 places); `value` is the move's money,
  signed: a receipt line's value is printed quantity x printed unit price, exactly.
- A receipt posts at most once per document, and an Idempotency-Key is used at most once: UNIQUE constraints
  on `postings` enforce it.  Posting again returns the first posting (`created=False`) and changes nothing;
  reusing a key for another document raises `IdempotencyConflict`.
- A posted receipt is undone only by a reversal posting: one move per original move, same product, location,
  batch and unit cost, opposite quantity and value.  It goes out at the cost it came in at.
- Moving average cost per product, kept in `product_costs`:
      new average = (old qty x old average + in qty x in cost) / (old qty + in qty)
  which is value / quantity, since value is the sum of move values.  While on-hand <= 0 the average keeps
  its last value (there is nothing to average).  A reversal after some stock went out at the average moves
  out at its own (different) cost, so value can be left over: when a posting leaves a product's on-hand at
  exactly 0, the same posting adds zero-quantity revaluation moves (line_no 0, one per balance row) that
  take its value to 0; their value is the cost difference an accountant books as a price variance.  With
  stock left, the difference stays in the average (it can even drive it to 0 or below; a rare case).
  An issue (stock out) goes out at the current average: value = quantity x value / on-hand, rounded to 12
  places (quantity x last average while on-hand <= 0); issuing the whole on-hand takes the whole value, so
  nothing is left behind by rounding.
- On-hand never goes below zero at a (product, location, batch) unless the product has `allow_negative`.
- A receipt line tied to a PO line adds its base quantity to the PO line's `received_base`; beyond
  ordered x (1 + tolerance) the posting needs `approved_by` (else `NeedsApproval`, nothing written).

Locking: the product's `product_costs` row is the lock (SELECT ... FOR UPDATE on PostgreSQL, taken in product
id order so two postings cannot deadlock); the document row is locked too.  On SQLite every transaction is
BEGIN IMMEDIATE (models.db), so writers run one at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.documents import POSTABLE, record_status
from models.errors import IdempotencyConflict, NeedsApproval, NegativeStock, NotPostable
from models.tables import (Document, Location, Posting, Product, ProductCost, PurchaseOrderLine, StockBalance,
                           StockMove, Warehouse)
from models.types import QTY_SCALE, VALUE_SCALE, to_decimal, utcnow

ZERO = Decimal(0)
REVALUATION_LINE = 0   # line_no of the zero-quantity moves that clear value left at zero on-hand
_Q_VALUE = Decimal(1).scaleb(-VALUE_SCALE)
_Q_QTY = Decimal(1).scaleb(-QTY_SCALE)


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    """One confirmed line to post.  Quantities and prices as printed; `factor` turns them into base units."""
    line_no: int
    product_id: int
    quantity: Decimal                  # in the printed unit, > 0
    unit_price: Decimal                # money per printed unit (net of tax), >= 0
    factor: Decimal = Decimal(1)       # base units per printed unit, > 0
    location_id: int | None = None     # None: the default location (warehouse MAIN, location DEFAULT)
    batch: str = ""                    # required for batch-tracked products
    expiry: date | None = None
    po_line_id: int | None = None


@dataclass(frozen=True, slots=True)
class PostingResult:
    posting_id: int
    document_id: int | None
    kind: str                          # receipt | reversal | issue
    created: bool                      # False: it was already posted; this call changed nothing
    move_count: int


@dataclass(frozen=True, slots=True)
class _Move:
    line_no: int
    product_id: int
    location_id: int
    batch: str
    expiry: date | None
    quantity: Decimal
    value: Decimal
    unit_cost: Decimal
    po_line_id: int | None = None
    reverses_move_id: int | None = None


def post_receipt(session: Session, *, document_id: int, lines: list[ReceiptLine], posted_by: str,
                 idempotency_key: str | None = None, approved_by: str | None = None,
                 tolerance: Decimal = Decimal("0.05")) -> PostingResult:
    """Post a document's confirmed lines as stock.  Idempotent by document and by `idempotency_key`."""
    done = _existing(session, document_id, "receipt", idempotency_key)
    if done is not None:
        return done
    document = _lock_document(session, document_id)
    done = _existing(session, document_id, "receipt", idempotency_key)  # a concurrent post got there first
    if done is not None:
        return done
    if document.status not in POSTABLE:
        raise NotPostable(f"Document {document_id} is {document.status}; only {', '.join(POSTABLE)} can be posted.")
    if not lines:
        raise NotPostable(f"Document {document_id} has no lines to post.")
    products = _lock_products(session, {line.product_id for line in lines})
    default_location = default_location_id(session)
    moves = [_receipt_move(line, products, default_location) for line in lines]
    _check_locations(session, {m.location_id for m in moves})
    over = _receive_on_po(session, moves, tolerance, approved=approved_by is not None)
    if over:
        raise NeedsApproval(f"Over-receipt beyond {tolerance:%} of the order on PO line(s) {over}: "
                            "an approver must confirm.")
    posting_id = _insert_posting(session, document_id=document_id, kind="receipt", key=idempotency_key,
                                 posted_by=posted_by, approved_by=approved_by)
    if posting_id is None:
        return _existing(session, document_id, "receipt", idempotency_key) or _conflict(idempotency_key)
    _write_moves(session, posting_id, document_id, moves, products, posted_by)
    record_status(session, document, "posted", who=posted_by, why=f"posting {posting_id}")
    return PostingResult(posting_id, document_id, "receipt", True, len(moves))


def reverse_receipt(session: Session, *, document_id: int, posted_by: str, reason: str,
                    idempotency_key: str | None = None) -> PostingResult:
    """Undo a posted receipt with mirror moves at the cost they came in at.  Idempotent like posting."""
    done = _existing(session, document_id, "reversal", idempotency_key)
    if done is not None:
        return done
    document = _lock_document(session, document_id)
    receipt = session.scalars(select(Posting).where(Posting.document_id == document_id,
                                                    Posting.kind == "receipt")).one_or_none()
    if receipt is None:
        raise NotPostable(f"Document {document_id} has no posted receipt to reverse.")
    done = _existing(session, document_id, "reversal", idempotency_key)
    if done is not None:
        return done
    originals = session.scalars(select(StockMove).where(StockMove.posting_id == receipt.id)
                                .order_by(StockMove.id)).all()
    products = _lock_products(session, {m.product_id for m in originals})
    moves = [_Move(m.line_no, m.product_id, m.location_id, m.batch, m.expiry, -m.quantity, -m.value,
                   m.unit_cost, m.po_line_id, m.id) for m in originals]
    _check_negative(session, moves, products)
    _receive_on_po(session, moves, Decimal(0), approved=True)
    posting_id = _insert_posting(session, document_id=document_id, kind="reversal", key=idempotency_key,
                                 posted_by=posted_by, reverses_id=receipt.id, reason=reason)
    if posting_id is None:
        return _existing(session, document_id, "reversal", idempotency_key) or _conflict(idempotency_key)
    _write_moves(session, posting_id, document_id, moves, products, posted_by)
    record_status(session, document, "reversed", who=posted_by, why=reason)
    return PostingResult(posting_id, document_id, "reversal", True, len(moves))


def issue_stock(session: Session, *, product_id: int, quantity: Decimal, posted_by: str,
                idempotency_key: str | None = None, location_id: int | None = None, batch: str = "",
                reason: str | None = None) -> PostingResult:
    """Take `quantity` base units out at the moving average cost (a delivery, a write-off)."""
    quantity = _positive(quantity, QTY_SCALE, "quantity")
    if idempotency_key is not None:
        done = _existing(session, None, "issue", idempotency_key)
        if done is not None:
            return done
    products = _lock_products(session, {product_id})
    cost = session.get(ProductCost, product_id)
    value = _issue_value(quantity, cost)
    location = location_id or default_location_id(session)
    move = _Move(1, product_id, location, batch, None, -quantity, -value, cost.average_cost)
    _check_negative(session, [move], products)
    posting_id = _insert_posting(session, document_id=None, kind="issue", key=idempotency_key,
                                 posted_by=posted_by, reason=reason)
    if posting_id is None:
        return _existing(session, None, "issue", idempotency_key) or _conflict(idempotency_key)
    _write_moves(session, posting_id, None, [move], products, posted_by)
    return PostingResult(posting_id, None, "issue", True, 1)


def _issue_value(quantity: Decimal, cost: ProductCost) -> Decimal:
    if quantity == cost.quantity:
        return cost.value
    if cost.quantity > 0:
        return (quantity * cost.value / cost.quantity).quantize(_Q_VALUE, ROUND_HALF_EVEN)
    return (quantity * cost.average_cost).quantize(_Q_VALUE, ROUND_HALF_EVEN)


def default_location_id(session: Session) -> int:
    """The location DEFAULT of warehouse MAIN (made by the first migration)."""
    location_id = session.scalar(select(Location.id).join(Warehouse, Warehouse.id == Location.warehouse_id)
                                 .where(Warehouse.code == "MAIN", Location.code == "DEFAULT"))
    if location_id is None:
        raise NotPostable("The default location MAIN/DEFAULT is missing; run `inbound db upgrade`.")
    return location_id


def _existing(session: Session, document_id: int | None, kind: str, key: str | None) -> PostingResult | None:
    """The posting already made for this document (or this key), or None; a key used elsewhere is a conflict."""
    if key is not None:
        found = session.scalars(select(Posting).where(Posting.idempotency_key == key)).one_or_none()
        if found is not None:
            if found.document_id != document_id or found.kind != kind:
                _conflict(key)
            return _result(session, found)
    if document_id is None:
        return None
    found = session.scalars(select(Posting).where(Posting.document_id == document_id,
                                                  Posting.kind == kind)).one_or_none()
    return None if found is None else _result(session, found)


def _result(session: Session, posting: Posting) -> PostingResult:
    count = len(session.scalars(select(StockMove.id).where(StockMove.posting_id == posting.id)).all())
    return PostingResult(posting.id, posting.document_id, posting.kind, False, count)


def _conflict(key: str | None) -> PostingResult:
    raise IdempotencyConflict(f"The Idempotency-Key {key!r} was already used for another posting.")


def _lock_document(session: Session, document_id: int) -> Document:
    document = session.scalars(select(Document).where(Document.id == document_id)
                               .with_for_update()).one_or_none()
    if document is None:
        raise NotPostable(f"No document {document_id}.")
    return document


def _lock_products(session: Session, product_ids: set[int]) -> dict[int, Product]:
    """Lock each product's cost row, in id order (no deadlocks); create missing rows first."""
    ids = sorted(product_ids)
    products = {p.id: p for p in session.scalars(select(Product).where(Product.id.in_(ids)))}
    missing = [i for i in ids if i not in products]
    if missing:
        raise NotPostable(f"No product with id {missing[0]}.")
    have = set(session.scalars(select(ProductCost.product_id).where(ProductCost.product_id.in_(ids))))
    for product_id in ids:
        if product_id not in have:
            _insert_cost_row(session, product_id)
    session.execute(select(ProductCost.product_id).where(ProductCost.product_id.in_(ids))
                    .order_by(ProductCost.product_id).with_for_update())
    return products


def _insert_cost_row(session: Session, product_id: int) -> None:
    try:
        with session.begin_nested():
            session.execute(insert(ProductCost).values(product_id=product_id, quantity=ZERO, value=ZERO,
                                                       average_cost=ZERO, updated_at=utcnow()))
    except IntegrityError:
        pass  # another transaction made it first; the lock below waits for it


def _positive(value: Decimal, scale: int, name: str, *, allow_zero: bool = False) -> Decimal:
    try:
        number = to_decimal(value, scale=scale)
    except ValueError as exc:
        raise NotPostable(f"{name}: {exc}") from exc
    if number < 0 or (number == 0 and not allow_zero):
        raise NotPostable(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value}")
    return number


def _receipt_move(line: ReceiptLine, products: dict[int, Product], default_location: int) -> _Move:
    quantity = _positive(line.quantity, QTY_SCALE, f"line {line.line_no} quantity")
    price = _positive(line.unit_price, QTY_SCALE, f"line {line.line_no} unit price", allow_zero=True)
    factor = _positive(line.factor, QTY_SCALE, f"line {line.line_no} factor")
    base = quantity * factor
    if base != base.quantize(_Q_QTY):
        raise NotPostable(f"line {line.line_no}: {quantity} x {factor} has more than {QTY_SCALE} decimal places")
    product = products[line.product_id]
    if product.batch_tracked and not line.batch:
        raise NotPostable(f"line {line.line_no}: {product.sku} is batch-tracked; give a batch number")
    value = (quantity * price).quantize(_Q_VALUE)
    unit_cost = (value / base).quantize(_Q_QTY, ROUND_HALF_EVEN)
    return _Move(line.line_no, line.product_id, line.location_id or default_location, line.batch, line.expiry,
                 base.quantize(_Q_QTY), value, unit_cost, line.po_line_id)


def _check_locations(session: Session, location_ids: set[int]) -> None:
    found = set(session.scalars(select(Location.id).where(Location.id.in_(location_ids))))
    if found != location_ids:
        raise NotPostable(f"No location with id {sorted(location_ids - found)[0]}.")


def _receive_on_po(session: Session, moves: list[_Move], tolerance: Decimal, *, approved: bool) -> list[int]:
    """Add each move's quantity to its PO line; return the PO line ids over tolerance (nothing kept if any)."""
    by_line: dict[int, Decimal] = {}
    for move in moves:
        if move.po_line_id is not None:
            by_line[move.po_line_id] = by_line.get(move.po_line_id, ZERO) + move.quantity
    if not by_line:
        return []
    rows = {r.id: r for r in session.scalars(select(PurchaseOrderLine).where(PurchaseOrderLine.id.in_(by_line))
                                             .order_by(PurchaseOrderLine.id).with_for_update())}
    if set(rows) != set(by_line):
        raise NotPostable(f"No PO line with id {sorted(set(by_line) - set(rows))[0]}.")
    over = [i for i, qty in by_line.items()
            if rows[i].received_base + qty > rows[i].ordered_base * (1 + tolerance)]
    if over and not approved:
        return sorted(over)
    for line_id, qty in by_line.items():
        rows[line_id].received_base = rows[line_id].received_base + qty
    return []


def _insert_posting(session: Session, *, document_id: int | None, kind: str, key: str | None, posted_by: str,
                    approved_by: str | None = None, reverses_id: int | None = None,
                    reason: str | None = None) -> int | None:
    """The posting row, or None when a UNIQUE constraint says it exists already (a concurrent twin)."""
    try:
        with session.begin_nested():
            return session.scalar(insert(Posting).values(
                document_id=document_id, kind=kind, idempotency_key=key, posted_by=posted_by,
                approved_by=approved_by, reverses_id=reverses_id, reason=reason, posted_at=utcnow(),
            ).returning(Posting.id))
    except IntegrityError:
        return None


def _write_moves(session: Session, posting_id: int, document_id: int | None, moves: list[_Move],
                 products: dict[int, Product], posted_by: str) -> None:
    """Moves, then balances and costs from them, in this transaction (product rows are locked)."""
    now = utcnow()
    written = list(moves)
    for product_id in sorted({m.product_id for m in moves}):
        mine = [m for m in moves if m.product_id == product_id]
        _apply_balances(session, mine)
        _apply_cost(session, product_id, mine, now)
        revaluation = _clear_leftover_value(session, product_id)
        if revaluation:
            _apply_balances(session, revaluation)
            _apply_cost(session, product_id, revaluation, now)
            written += revaluation
    session.execute(insert(StockMove), [
        dict(posting_id=posting_id, document_id=document_id, line_no=m.line_no, product_id=m.product_id,
             location_id=m.location_id, batch=m.batch, expiry=m.expiry, quantity=m.quantity,
             unit_cost=m.unit_cost, value=m.value, po_line_id=m.po_line_id,
             reverses_move_id=m.reverses_move_id, posted_by=posted_by, posted_at=now)
        for m in written])


def _clear_leftover_value(session: Session, product_id: int) -> list[_Move]:
    """Zero-quantity revaluation moves (line 0) that take a product's value to 0 when its on-hand is 0."""
    cost = session.get(ProductCost, product_id)
    if cost.quantity != 0 or cost.value == 0:
        return []
    rows = session.scalars(select(StockBalance).where(StockBalance.product_id == product_id)
                           .order_by(StockBalance.id)).all()
    return [_Move(REVALUATION_LINE, product_id, r.location_id, r.batch, None, ZERO, -r.value, ZERO)
            for r in rows if r.value != 0]


def _balance_row(session: Session, move: _Move) -> StockBalance | None:
    return session.scalars(select(StockBalance).where(
        StockBalance.product_id == move.product_id, StockBalance.location_id == move.location_id,
        StockBalance.batch == move.batch)).one_or_none()


def _check_negative(session: Session, moves: list[_Move], products: dict[int, Product]) -> None:
    """Refuse moves that would take a (product, location, batch) below zero, unless the product allows it."""
    after: dict[tuple[int, int, str], Decimal] = {}
    for move in moves:
        key = (move.product_id, move.location_id, move.batch)
        if key not in after:
            row = _balance_row(session, move)
            after[key] = ZERO if row is None else row.quantity
        after[key] += move.quantity
        product = products[move.product_id]
        if after[key] < 0 and not product.allow_negative:
            raise NegativeStock(f"{product.sku}: not enough on hand at location {move.location_id}"
                                f"{' batch ' + move.batch if move.batch else ''} to take "
                                f"{(-move.quantity).normalize():f} {product.unit}.")


def _apply_balances(session: Session, moves: list[_Move]) -> None:
    for move in moves:
        row = _balance_row(session, move)
        if row is None:
            row = StockBalance(product_id=move.product_id, location_id=move.location_id, batch=move.batch,
                               expiry=move.expiry, quantity=ZERO, value=ZERO)
            session.add(row)
        row.quantity = row.quantity + move.quantity
        row.value = row.value + move.value
        if move.expiry is not None and move.quantity > 0:
            row.expiry = move.expiry
    session.flush()


def _apply_cost(session: Session, product_id: int, moves: list[_Move], now) -> None:
    cost = session.get(ProductCost, product_id)
    quantity = cost.quantity + sum((m.quantity for m in moves), ZERO)
    value = cost.value + sum((m.value for m in moves), ZERO)
    average = cost.average_cost
    if quantity > 0:
        average = (value / quantity).quantize(_Q_QTY, ROUND_HALF_EVEN)
    session.execute(update(ProductCost).where(ProductCost.product_id == product_id)
                    .values(quantity=quantity, value=value, average_cost=average, updated_at=now))
    session.expire(cost)
