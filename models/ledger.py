"""The inventory ledger: posting receipts, reversing them, issuing stock.  Every function runs inside the
caller's transaction (`models.db.transaction`) and either writes all its rows or raises a `LedgerError`
before writing any.

Rules
-----
- Stock moves are append-only (database triggers refuse UPDATE and DELETE).  quantity is in the product's
  base unit (printed quantity x factor, which must come out exact to 6 places); `value` is the move's money in
  the company's base currency, signed: a receipt line's value is printed quantity x printed unit price x the
  posting's exchange rate (base currency per 1 unit of the document's currency; 1 when they are the same), to
  12 places; the move keeps the document-currency amount (quantity x price, exact) as `document_value`.
- Money never mixes currencies: a posting records its document's currency, the base currency and the rate; a
  document in a currency other than the base posts only with a rate (else NotPostable, nothing written).
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
  With `price_tolerance` given, so does a line whose cost per base unit is off the PO line's price per base
  unit by more than that fraction (a price variance).

Locking: the product's `product_costs` row is the lock (SELECT ... FOR UPDATE on PostgreSQL, taken in product
id order so two postings cannot deadlock); the document row is locked too.  On SQLite every transaction is
BEGIN IMMEDIATE (models.db), so writers run one at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from models.documents import POSTABLE, record_status
from models.errors import IdempotencyConflict, NeedsApproval, NotPostable
from models.ledger_state import REVALUATION_LINE, Move, check_negative, insert_posting, lock_products, write_moves
from models.tables import Document, Location, Posting, Product, PurchaseOrderLine, StockMove, Warehouse
from models.types import QTY_SCALE, VALUE_SCALE, to_decimal

ZERO = Decimal(0)
_Q_VALUE = Decimal(1).scaleb(-VALUE_SCALE)
_Q_QTY = Decimal(1).scaleb(-QTY_SCALE)
__all__ = ["ReceiptLine", "PostingResult", "post_receipt", "reverse_receipt", "issue_stock", "default_location_id",
           "REVALUATION_LINE"]


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    """One confirmed line to post.  Quantities and prices as printed; `factor` turns them into base units."""
    line_no: int
    product_id: int
    quantity: Decimal                  # in the printed unit, > 0
    unit_price: Decimal                # money per printed unit (net of tax), >= 0, in the document currency
    factor: Decimal = Decimal(1)       # base units per printed unit, > 0
    location_id: int | None = None     # None: the default location (warehouse MAIN, location DEFAULT)
    batch: str = ""                    # required for batch-tracked products
    expiry: date | None = None
    po_line_id: int | None = None
    production_date: date | None = None


@dataclass(frozen=True, slots=True)
class PostingResult:
    posting_id: int
    document_id: int | None
    kind: str                          # receipt | reversal | issue
    created: bool                      # False: it was already posted; this call changed nothing
    move_count: int


def post_receipt(session: Session, *, document_id: int, lines: list[ReceiptLine], posted_by: str,
                 idempotency_key: str | None = None, approved_by: str | None = None,
                 tolerance: Decimal = Decimal("0.05"), price_tolerance: Decimal | None = None,
                 currency: str | None = None, base_currency: str | None = None,
                 exchange_rate: Decimal | None = None) -> PostingResult:
    """Post a document's confirmed lines as stock.  Idempotent by document and by `idempotency_key`.
    `currency` is the document's (None: the base currency), `exchange_rate` base currency per 1 `currency`:
    required when the two differ; prices are in `currency`, the moves' values come out in `base_currency`."""
    document = _lock_document(session, document_id)
    done = _existing(session, document_id, "receipt", idempotency_key)
    if done is not None:
        return done
    if document.status not in POSTABLE:
        raise NotPostable(f"Document {document_id} is {document.status}; only {', '.join(POSTABLE)} can be posted.")
    if not lines:
        raise NotPostable(f"Document {document_id} has no lines to post.")
    currency, base_currency, rate = _money(currency, base_currency, exchange_rate)
    state = lock_products(session, {line.product_id for line in lines})
    default_location = default_location_id(session)
    moves = [_receipt_move(line, state.products, default_location, rate, currency) for line in lines]
    _check_locations(session, {m.location_id for m in moves} - {default_location})
    po = _lock_po_lines(session, moves)
    if approved_by is None:
        _check_approval(po, moves, tolerance, price_tolerance)
    posting_id = insert_posting(session, document_id=document_id, kind="receipt", idempotency_key=idempotency_key,
                                posted_by=posted_by, approved_by=approved_by, currency=currency,
                                base_currency=base_currency, exchange_rate=rate)
    if posting_id is None:
        return _existing(session, document_id, "receipt", idempotency_key) or _conflict(idempotency_key)
    po.apply()
    count = write_moves(session, state, posting_id=posting_id, document_id=document_id, moves=moves,
                        posted_by=posted_by)
    record_status(session, document, "posted", who=posted_by, why=f"posting {posting_id}")
    return PostingResult(posting_id, document_id, "receipt", True, count)


def reverse_receipt(session: Session, *, document_id: int, posted_by: str, reason: str,
                    idempotency_key: str | None = None) -> PostingResult:
    """Undo a posted receipt with mirror moves at the cost they came in at.  Idempotent like posting."""
    document = _lock_document(session, document_id)
    done = _existing(session, document_id, "reversal", idempotency_key)
    if done is not None:
        return done
    receipt = session.scalars(select(Posting).where(Posting.document_id == document_id,
                                                    Posting.kind == "receipt")).one_or_none()
    if receipt is None:
        raise NotPostable(f"Document {document_id} has no posted receipt to reverse.")
    originals = session.scalars(select(StockMove).where(StockMove.posting_id == receipt.id,
                                                        StockMove.line_no != REVALUATION_LINE)
                                .order_by(StockMove.id)).all()
    state = lock_products(session, {m.product_id for m in originals})
    moves = [Move(m.line_no, m.product_id, m.location_id, m.batch, m.expiry, -m.quantity, -m.value,
                  m.unit_cost, m.po_line_id, m.id, m.production_date, m.currency,
                  None if m.document_value is None else -m.document_value) for m in originals]
    check_negative(session, state, moves)
    po = _lock_po_lines(session, moves)
    posting_id = insert_posting(session, document_id=document_id, kind="reversal", idempotency_key=idempotency_key,
                                posted_by=posted_by, reverses_id=receipt.id, reason=reason,
                                currency=receipt.currency, base_currency=receipt.base_currency,
                                exchange_rate=receipt.exchange_rate)
    if posting_id is None:
        return _existing(session, document_id, "reversal", idempotency_key) or _conflict(idempotency_key)
    po.apply()
    count = write_moves(session, state, posting_id=posting_id, document_id=document_id, moves=moves,
                        posted_by=posted_by)
    record_status(session, document, "reversed", who=posted_by, why=reason)
    return PostingResult(posting_id, document_id, "reversal", True, count)


def issue_stock(session: Session, *, product_id: int, quantity: Decimal, posted_by: str,
                idempotency_key: str | None = None, location_id: int | None = None, batch: str = "",
                reason: str | None = None) -> PostingResult:
    """Take `quantity` base units out at the moving average cost (a delivery, a write-off)."""
    quantity = _positive(quantity, QTY_SCALE, "quantity")
    state = lock_products(session, {product_id})
    if idempotency_key is not None:
        done = _existing(session, None, "issue", idempotency_key)
        if done is not None:
            return done
    cost = state.costs[product_id]
    move = Move(1, product_id, location_id or default_location_id(session), batch, None, -quantity,
                -_issue_value(quantity, cost.quantity, cost.value, cost.average), cost.average)
    check_negative(session, state, [move])
    posting_id = insert_posting(session, document_id=None, kind="issue", idempotency_key=idempotency_key,
                                posted_by=posted_by, reason=reason)
    if posting_id is None:
        return _existing(session, None, "issue", idempotency_key) or _conflict(idempotency_key)
    count = write_moves(session, state, posting_id=posting_id, document_id=None, moves=[move], posted_by=posted_by)
    return PostingResult(posting_id, None, "issue", True, count)


def _issue_value(quantity: Decimal, on_hand: Decimal, value: Decimal, average: Decimal) -> Decimal:
    if quantity == on_hand:
        return value
    if on_hand > 0:
        return (quantity * value / on_hand).quantize(_Q_VALUE, ROUND_HALF_EVEN)
    return (quantity * average).quantize(_Q_VALUE, ROUND_HALF_EVEN)


def default_location_id(session: Session) -> int:
    """The location DEFAULT of warehouse MAIN (made by the first migration; remembered per connection)."""
    cache = session.connection().info
    if "inbound_default_location" not in cache:
        location_id = session.scalar(select(Location.id).join(Warehouse, Warehouse.id == Location.warehouse_id)
                                     .where(Warehouse.code == "MAIN", Location.code == "DEFAULT"))
        if location_id is None:
            raise NotPostable("The default location MAIN/DEFAULT is missing; run `inbound db upgrade`.")
        cache["inbound_default_location"] = location_id
    return cache["inbound_default_location"]


def _existing(session: Session, document_id: int | None, kind: str, key: str | None) -> PostingResult | None:
    """The posting already made for this document (or this key), or None; a key used elsewhere is a conflict."""
    conditions = []
    if key is not None:
        conditions.append(Posting.idempotency_key == key)
    if document_id is not None:
        conditions.append((Posting.document_id == document_id) & (Posting.kind == kind))
    if not conditions:
        return None
    found = session.scalars(select(Posting).where(or_(*conditions)).order_by(Posting.id)).all()
    for posting in found:
        if key is not None and posting.idempotency_key == key and (posting.document_id, posting.kind) != (document_id, kind):
            _conflict(key)
    if not found:
        return None
    count = session.scalar(select(func.count()).select_from(StockMove).where(StockMove.posting_id == found[0].id))
    return PostingResult(found[0].id, found[0].document_id, found[0].kind, False, count)


def _conflict(key: str | None) -> PostingResult:
    raise IdempotencyConflict(f"The Idempotency-Key {key!r} was already used for another posting.")


def _lock_document(session: Session, document_id: int) -> Document:
    document = session.scalars(select(Document).where(Document.id == document_id)
                               .with_for_update()).one_or_none()
    if document is None:
        raise NotPostable(f"No document {document_id}.")
    return document


def _positive(value: Decimal, scale: int, name: str, *, allow_zero: bool = False) -> Decimal:
    try:
        number = to_decimal(value, scale=scale)
    except ValueError as exc:
        raise NotPostable(f"{name}: {exc}") from exc
    if number < 0 or (number == 0 and not allow_zero):
        raise NotPostable(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value}")
    return number


def _to_places(value: object, scale: int) -> object:
    """A finite Decimal rounded (half even) to `scale` places; anything else as it is, for `_positive` to refuse."""
    if isinstance(value, Decimal) and value.is_finite():
        return value.quantize(Decimal(1).scaleb(-scale), ROUND_HALF_EVEN)
    return value


def _money(currency: str | None, base_currency: str | None,
           rate: Decimal | None) -> tuple[str | None, str | None, Decimal]:
    """(document currency, base currency, rate) of a posting; NotPostable for a foreign currency without a rate."""
    currency = (currency or "").strip().upper() or base_currency
    base_currency = base_currency or currency
    if rate is None:
        if currency != base_currency:
            raise NotPostable(f"The document is in {currency} and stock is kept in {base_currency}: enter the "
                              f"exchange rate ({base_currency} per 1 {currency}) before confirming.")
        return currency, base_currency, Decimal(1)
    rate = _positive(rate, QTY_SCALE, "exchange rate")
    if currency == base_currency and rate != 1:
        raise NotPostable(f"The document is in the base currency {base_currency}: its exchange rate is 1, not {rate}.")
    return currency, base_currency, rate


def _receipt_move(line: ReceiptLine, products: dict[int, Product], default_location: int,
                  rate: Decimal = Decimal(1), currency: str | None = None) -> Move:
    quantity = _positive(line.quantity, QTY_SCALE, f"line {line.line_no} quantity")
    # a printed price may carry more places than a stored cost (a 增值税发票 prints 8.65137615): it only multiplies
    # into the value, which keeps 12 places, so it is taken to those 12 places rather than refused
    price = _positive(_to_places(line.unit_price, VALUE_SCALE), VALUE_SCALE, f"line {line.line_no} unit price",
                      allow_zero=True)
    factor = _positive(line.factor, QTY_SCALE, f"line {line.line_no} factor")
    base = quantity * factor
    if base != base.quantize(_Q_QTY):
        raise NotPostable(f"line {line.line_no}: {quantity} x {factor} has more than {QTY_SCALE} decimal places")
    product = products[line.product_id]
    if product.batch_tracked and not line.batch:
        raise NotPostable(f"line {line.line_no}: {product.sku} is batch-tracked; give a batch number")
    document_value = (quantity * price).quantize(_Q_VALUE)
    value = (document_value * rate).quantize(_Q_VALUE, ROUND_HALF_EVEN)
    unit_cost = (value / base).quantize(_Q_QTY, ROUND_HALF_EVEN)
    return Move(line.line_no, line.product_id, line.location_id or default_location, line.batch, line.expiry,
                base.quantize(_Q_QTY), value, unit_cost, line.po_line_id, None, line.production_date, currency,
                document_value)


def _check_locations(session: Session, location_ids: set[int]) -> None:
    if not location_ids:
        return
    found = set(session.scalars(select(Location.id).where(Location.id.in_(location_ids))))
    if found != location_ids:
        raise NotPostable(f"No location with id {sorted(location_ids - found)[0]}.")


@dataclass(frozen=True, slots=True)
class _PoReceipt:
    """The locked PO lines a posting receives against, and the base quantity for each."""
    rows: dict[int, PurchaseOrderLine]
    quantities: dict[int, Decimal]

    def over(self, tolerance: Decimal) -> list[int]:
        """PO line ids that would be received beyond ordered x (1 + tolerance)."""
        return sorted(i for i, qty in self.quantities.items()
                      if self.rows[i].received_base + qty > self.rows[i].ordered_base * (1 + tolerance))

    def price_off(self, moves: list[Move], tolerance: Decimal) -> list[int]:
        """Receipt line numbers whose cost per base unit differs from the PO line's by more than `tolerance`."""
        off = []
        for move in moves:
            row = self.rows.get(move.po_line_id) if move.po_line_id is not None else None
            if row is None or row.price is None or not row.factor:
                continue
            ordered = row.price / row.factor      # in the supplier's (the document's) currency
            cost = move.unit_cost if move.document_value is None else move.document_value / move.quantity
            if abs(cost - ordered) > abs(ordered) * tolerance:
                off.append(move.line_no)
        return off

    def apply(self) -> None:
        for line_id, qty in self.quantities.items():
            self.rows[line_id].received_base = self.rows[line_id].received_base + qty


def _check_approval(po: _PoReceipt, moves: list[Move], tolerance: Decimal, price_tolerance: Decimal | None) -> None:
    """NeedsApproval when the posting receives beyond the order or (with price_tolerance) off its price."""
    reasons = []
    over = set(po.over(tolerance))
    if over:
        lines = sorted({m.line_no for m in moves if m.po_line_id in over})
        reasons.append(f"over-receipt beyond {tolerance:%} of the order on {_line_list(lines)}")
    if price_tolerance is not None:
        off = po.price_off(moves, price_tolerance)
        if off:
            reasons.append(f"price off the order by more than {price_tolerance:%} on {_line_list(off)}")
    if reasons:
        raise NeedsApproval("; ".join(reasons) + ": an approver must confirm.")


def _line_list(numbers: list[int]) -> str:
    return ("line " if len(numbers) == 1 else "lines ") + ", ".join(str(n) for n in numbers)


def _lock_po_lines(session: Session, moves: list[Move]) -> _PoReceipt:
    quantities: dict[int, Decimal] = {}
    for move in moves:
        if move.po_line_id is not None:
            quantities[move.po_line_id] = quantities.get(move.po_line_id, ZERO) + move.quantity
    if not quantities:
        return _PoReceipt({}, {})
    rows = {r.id: r for r in session.scalars(select(PurchaseOrderLine).where(PurchaseOrderLine.id.in_(quantities))
                                             .order_by(PurchaseOrderLine.id).with_for_update())}
    if set(rows) != set(quantities):
        raise NotPostable(f"No PO line with id {sorted(set(quantities) - set(rows))[0]}.")
    return _PoReceipt(rows, quantities)
