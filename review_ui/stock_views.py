"""What the stock pages show (issue 17), as plain dicts for the templates: every product with moves, its on-hand
and value per warehouse (quantity with its unit, value with its currency), its batches with production and
expiry dates and the moves behind each, and the near-expiry list (临期预警).

Values are the ledger's, in the company's base currency (models.company); a move from a document in another
currency also shows the document's amount and the rate it was posted at.  Times are shown in the configured time
zone (storage stays UTC); "today" for expiry is today in that zone.  Reads only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models.company import CompanySettings
from models.ledger_state import REVALUATION_LINE
from models.tables import Location, Posting, Product, ProductCost, StockBalance, StockMove, Warehouse

MOVES_PER_PRODUCT = 100
CENT = Decimal("0.01")
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Clock:
    """Local time for the screens: the configured zone, and today in it."""
    settings: CompanySettings
    now: datetime | None = None          # UTC; None: the current time

    def local(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(self.settings.zone)

    def shown(self, moment: datetime) -> str:
        return self.local(moment).strftime("%Y-%m-%d %H:%M")

    def today(self) -> date:
        return self.local(self.now or datetime.now(timezone.utc)).date()

    def offset(self) -> str:
        """ "UTC+08:00" for Asia/Shanghai now."""
        text = self.local(self.now or datetime.now(timezone.utc)).strftime("%z") or "+0000"
        return f"UTC{text[:3]}:{text[3:]}"


def money(value: Decimal) -> str:
    """A value as the screen shows money: 2 places, grouped ("1,260.00", "-4.50")."""
    return f"{value.quantize(CENT, ROUND_HALF_UP):,.2f}"


def number(value: Decimal) -> str:
    """A quantity or rate without trailing zeros ("5000", "0.25")."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def stock_rows(session: Session, clock: Clock) -> list[dict]:
    """Every product that has moves: totals, the per-warehouse breakdown, batches and moves (newest first)."""
    ids = list(session.scalars(select(StockMove.product_id).distinct().order_by(StockMove.product_id)))
    if not ids:
        return []
    products = {p.id: p for p in session.scalars(select(Product).where(Product.id.in_(ids)))}
    costs = {c.product_id: c for c in session.scalars(select(ProductCost).where(ProductCost.product_id.in_(ids)))}
    batches = _batches(session, ids, clock)
    moves = _moves(session, ids, clock)
    base = clock.settings.base_currency
    out = []
    for product_id in ids:
        product, cost = products[product_id], costs.get(product_id)
        own = [b for b in batches if b["product_id"] == product_id]
        warehouses: dict[str, dict] = {}
        for row in own:
            totals = warehouses.setdefault(row["warehouse"], {"code": row["warehouse"], "name": row["warehouse_name"],
                                                              "quantity": ZERO, "amount": ZERO})
            totals["quantity"] += row["quantity"]
            totals["amount"] += row["amount"]
        for row in own:
            row["moves"] = [m for m in moves.get(product_id, ())
                            if m["location_id"] == row["location_id"] and m["batch"] == row["batch"]]
        out.append({
            "id": product_id, "sku": product.sku, "name": product.name, "category": product.category or "",
            "unit": product.unit, "currency": base,
            "on_hand": number(cost.quantity if cost else ZERO), "value": money(cost.value if cost else ZERO),
            "average_cost": number(cost.average_cost if cost else ZERO),
            "warehouses": [{**w, "on_hand": number(w["quantity"]), "value": money(w["amount"])}
                           for w in warehouses.values()],
            "batches": own, "tracked": bool(product.batch_tracked) or any(b["batch"] or b["expiry"] for b in own),
            "moves": moves.get(product_id, [])})
    return out


def near_expiry(session: Session, clock: Clock) -> list[dict]:
    """Batches on hand whose expiry is at most their category's threshold away (expired ones too), soonest
    first."""
    ids = list(session.scalars(select(StockBalance.product_id).where(StockBalance.expiry.is_not(None),
                                                                     StockBalance.quantity > 0).distinct()))
    if not ids:
        return []
    products = {p.id: p for p in session.scalars(select(Product).where(Product.id.in_(ids)))}
    out = []
    for row in _batches(session, ids, clock):
        product = products[row["product_id"]]
        if row["expiry"] is None or row["quantity"] <= 0:
            continue
        threshold = clock.settings.days_for(product.category)
        if row["days_left"] <= threshold:
            out.append({**row, "sku": product.sku, "name": product.name, "category": product.category or "",
                        "unit": product.unit, "threshold": threshold})
    out.sort(key=lambda r: (r["expiry"], r["sku"], r["batch"]))
    return out


def _batches(session: Session, ids: list[int], clock: Clock) -> list[dict]:
    """Balance rows with something on hand (or value left), by warehouse, location and batch."""
    rows = session.execute(
        select(StockBalance, Location.code, Warehouse.code, Warehouse.name)
        .join(Location, Location.id == StockBalance.location_id)
        .join(Warehouse, Warehouse.id == Location.warehouse_id)
        .where(StockBalance.product_id.in_(ids), or_(StockBalance.quantity != 0, StockBalance.value != 0))
        .order_by(StockBalance.product_id, Warehouse.code, StockBalance.expiry, Location.code, StockBalance.batch))
    today, out = clock.today(), []
    for balance, location, warehouse, warehouse_name in rows:
        days = (balance.expiry - today).days if balance.expiry else None
        out.append({"product_id": balance.product_id, "location_id": balance.location_id, "warehouse": warehouse,
                    "warehouse_name": warehouse_name if warehouse_name != warehouse else "", "location": location,
                    "batch": balance.batch, "production_date": _iso(balance.production_date),
                    "expiry": balance.expiry, "expiry_text": _iso(balance.expiry), "days_left": days,
                    "state": _state(days, clock.settings.days_for(None)) if days is not None else "",
                    "quantity": balance.quantity, "amount": balance.value,
                    "on_hand": number(balance.quantity), "value": money(balance.value)})
    products = {p.id: p.category for p in session.execute(select(Product.id, Product.category)
                                                           .where(Product.id.in_(ids)))}
    for row in out:             # the state by the product's own category threshold
        if row["days_left"] is not None:
            row["state"] = _state(row["days_left"], clock.settings.days_for(products.get(row["product_id"])))
    return out


def _state(days_left: int, threshold: int) -> str:
    if days_left < 0:
        return "expired"
    return "near" if days_left <= threshold else "ok"


def _moves(session: Session, ids: list[int], clock: Clock) -> dict[int, list[dict]]:
    rows = session.execute(
        select(StockMove, Posting.kind, Posting.exchange_rate, Location.code, Warehouse.code)
        .join(Posting, Posting.id == StockMove.posting_id)
        .join(Location, Location.id == StockMove.location_id)
        .join(Warehouse, Warehouse.id == Location.warehouse_id)
        .where(StockMove.product_id.in_(ids)).order_by(StockMove.product_id, StockMove.id.desc()))
    base = clock.settings.base_currency
    out: dict[int, list[dict]] = {}
    for move, kind, rate, location, warehouse in rows:
        listed = out.setdefault(move.product_id, [])
        if len(listed) >= MOVES_PER_PRODUCT:
            continue
        foreign = move.currency not in (None, base) and move.document_value is not None
        listed.append({
            "id": move.id, "when": clock.shown(move.posted_at), "utc": move.posted_at.isoformat(),
            "kind": "revaluation" if move.line_no == REVALUATION_LINE and move.quantity == 0 else kind,
            "document_id": move.document_id, "line_no": move.line_no, "location_id": move.location_id,
            "warehouse": warehouse, "location": location, "batch": move.batch,
            "production_date": _iso(move.production_date), "expiry": _iso(move.expiry),
            "quantity": number(move.quantity), "value": money(move.value), "currency": base,
            "unit_cost": number(move.unit_cost),
            "document_value": money(move.document_value) if foreign else "",
            "document_currency": move.currency if foreign else "",
            "rate": number(rate) if foreign and rate is not None else "",
            "posted_by": move.posted_by})
    return out


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""
