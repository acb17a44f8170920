"""The master data as the matcher sees it: database rows -> a `matching.MasterData` snapshot.

Ids become strings (the matcher's ids are opaque); learned facts in force come along.  Building the index
costs milliseconds per thousand products, so `MasterCache` keeps the last snapshot and rebuilds it only when a
cheap fingerprint of the tables (row counts, newest update, newest fact) has changed.
"""

from __future__ import annotations

import threading
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matching import LearnedFact, LearnedKind, MasterData, POLine, Product, PurchaseOrder, Supplier, SupplierProduct
from models.learned import current_facts
from models.tables import LearnedFact as FactRow
from models.tables import Product as ProductRow
from models.tables import PurchaseOrder as PoRow
from models.tables import PurchaseOrderLine, SupplierProduct as SpRow
from models.tables import Supplier as SupplierRow


def load_master(session: Session) -> MasterData:
    products = [Product(str(p.id), p.sku, p.name, p.unit, tuple(p.barcodes or ()), tuple(p.aliases or ()),
                        p.category or "", p.tax_rate, p.spec or "",
                        {k: Decimal(str(v)) for k, v in (p.unit_conversions or {}).items()},
                        bool(p.batch_tracked), p.shelf_life_days)
                for p in session.scalars(select(ProductRow).order_by(ProductRow.id))]
    suppliers = [Supplier(str(s.id), s.name, s.tax_id or "", tuple(s.aliases or ()), s.address or "", s.phone or "",
                          s.bank_account or "", s.email or "")
                 for s in session.scalars(select(SupplierRow).order_by(SupplierRow.id))]
    links = [SupplierProduct(str(sp.supplier_id), str(sp.product_id), sp.supplier_sku or "", sp.supplier_name or "",
                             sp.unit or "", sp.factor, sp.last_price)
             for sp in session.scalars(select(SpRow).order_by(SpRow.id))]
    return MasterData.build(products=products, suppliers=suppliers, supplier_products=links,
                            purchase_orders=_orders(session), facts=learned_facts(session))


def _orders(session: Session) -> list[PurchaseOrder]:
    lines: dict[int, list[POLine]] = {}
    for line in session.scalars(select(PurchaseOrderLine).order_by(PurchaseOrderLine.purchase_order_id,
                                                                   PurchaseOrderLine.line_no)):
        # the matcher compares in the product's base unit (what receipts convert to): 2 reels of 5000 ->
        # 10000 pcs at 21.50 / 5000 each
        factor = line.factor or Decimal(1)
        price = line.price / factor if line.price is not None else None
        lines.setdefault(line.purchase_order_id, []).append(
            POLine(line.line_no, str(line.product_id), line.ordered_base, line.received_base, "", price))
    return [PurchaseOrder(po.po_number, str(po.supplier_id), po.order_date, tuple(lines.get(po.id, ())))
            for po in session.scalars(select(PoRow).where(PoRow.status == "open").order_by(PoRow.id))]


def learned_facts(session: Session) -> list[LearnedFact]:
    return [LearnedFact(LearnedKind(f.kind), str(f.supplier_id) if f.supplier_id else "", f.key,
                        str(f.target_id) if f.target_id is not None else "",
                        f.factor.normalize() if f.factor is not None else None,
                        {k: str(v) for k, v in f.payload.items()}, f.created_at.replace(tzinfo=None), str(f.id))
            for f in current_facts(session)]


def fingerprint(session: Session) -> tuple:
    """Changes whenever anything the snapshot reads has changed (rows added, updated, facts learned)."""
    return (tuple(session.execute(select(func.count(), func.max(ProductRow.updated_at)).select_from(ProductRow)).one())
            + tuple(session.execute(select(func.count(), func.max(SupplierRow.updated_at)).select_from(SupplierRow)).one())
            + (session.scalar(select(func.count()).select_from(SpRow)),
               session.scalar(select(func.sum(PurchaseOrderLine.received_base))),
               session.scalar(select(func.count()).select_from(PurchaseOrderLine)),
               session.scalar(select(func.max(FactRow.id))),
               session.scalar(select(func.count()).select_from(FactRow).where(FactRow.superseded_at.is_not(None)))))


class MasterCache:
    """The newest snapshot, rebuilt when the fingerprint changes; safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._master: MasterData | None = None

    def get(self, session: Session) -> MasterData:
        key = fingerprint(session)
        with self._lock:
            if self._master is None or key != self._key:
                self._master, self._key = load_master(session), key
            return self._master
