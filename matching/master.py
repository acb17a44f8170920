"""The master data snapshot the matchers read: products, suppliers, supplier products, purchase orders
and learned facts, each a frozen record mirroring DESIGN.md's import columns, bundled in `MasterData`
with the lookup indexes built once.

Callers (the DB layer, the bench, tests) build plain records and call `MasterData.build(...)`; reuse the
result for many documents.  After a reviewer teaches something, `master.with_facts(facts)` gives a new
snapshot that shares the heavy indexes and rebuilds only the learned-fact lookups (cheap).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Iterable, Mapping

import numpy as np

from matching.index import NgramIndex
from matching.normalize import fold_code, gtin_key, normalize_company, normalize_name
from matching.specs import Spec, read_specs

__all__ = [
    "LearnedFact", "LearnedIndex", "LearnedKind", "MasterData", "POLine", "Product", "PurchaseOrder", "Supplier",
    "SupplierProduct",
]


@dataclass(frozen=True, slots=True)
class Product:
    """One of our products.  unit: the base unit stock is kept in (瓶, kg, pcs).  conversions: other
    units -> base units per one of them ({"箱": 24}); never None.  tax_rate: a fraction (0.13) or None."""

    id: str
    sku: str
    name: str
    unit: str
    barcodes: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    category: str = ""
    tax_rate: Decimal | None = None
    spec: str = ""
    conversions: Mapping[str, Decimal] = field(default_factory=dict)
    batch_tracked: bool = False
    shelf_life_days: int | None = None

    @property
    def label(self) -> str:
        return f"{self.name} {self.spec}".strip()


@dataclass(frozen=True, slots=True)
class Supplier:
    """A supplier; every text attribute is "" when unknown, never None."""

    id: str
    name: str
    tax_id: str = ""
    aliases: tuple[str, ...] = ()
    address: str = ""
    phone: str = ""
    bank_account: str = ""
    email: str = ""


@dataclass(frozen=True, slots=True)
class SupplierProduct:
    """How one supplier prints one of our products.  unit: as printed ("箱"); factor: our base units per
    printed unit (24), None when the link does not say.  price: per printed unit, None when unknown."""

    supplier_id: str
    product_id: str
    supplier_sku: str = ""
    supplier_name: str = ""
    unit: str = ""
    factor: Decimal | None = None
    price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class POLine:
    """A purchase-order line; quantities in `unit` (normally the product's base unit), price per `unit`."""

    line_no: int
    product_id: str
    ordered: Decimal
    received: Decimal = Decimal(0)
    unit: str = ""
    price: Decimal | None = None

    @property
    def open(self) -> Decimal:
        return max(Decimal(0), self.ordered - self.received)


@dataclass(frozen=True, slots=True)
class PurchaseOrder:
    po_number: str
    supplier_id: str
    date: date | None
    lines: tuple[POLine, ...]


class LearnedKind(StrEnum):
    SUPPLIER_ALIAS = "supplier_alias"    # key: normalised printed supplier name -> target_id supplier
    PRODUCT_ALIAS = "product_alias"      # key: "sku:<code>" or "text:<name>" for supplier_id -> target_id product
    UNIT_FACTOR = "unit_factor"          # key: "<product_id>|<unit>" for supplier_id -> factor
    LAYOUT_HINT = "layout_hint"          # key: po_label | date_order | columns; payload["value"]
    LAYOUT_RULE = "layout_rule"          # key: "<document kind>|<field>" (or "...|line.<cell>"): where the supplier
                                         # prints it; payload["rule"] (JSON, extractors.learned_layout.Rule)


@dataclass(frozen=True, slots=True)
class LearnedFact:
    """Something a reviewer taught.  supplier_id: "" for facts that hold for every supplier.  target_id:
    the product or supplier id ("" for unit factors and hints).  payload: small string extras (the printed
    text, the hint's value).  created_at decides between conflicting facts: the latest wins."""

    kind: LearnedKind
    supplier_id: str
    key: str
    target_id: str = ""
    factor: Decimal | None = None
    payload: Mapping[str, str] = field(default_factory=dict)
    created_at: datetime = datetime(1970, 1, 1)
    id: str = ""


@dataclass(frozen=True, slots=True)
class LearnedIndex:
    """Latest fact per (kind, supplier, key).  confirmed: supplier -> the ids of the products its lines were
    confirmed as (the targets of its latest product aliases), for the matcher's history lift.  contested:
    (supplier, key) of product aliases taught as more than one product over time (a bare "Chip Resistor"
    that is one size today and another tomorrow): such a key names no product by itself."""

    latest: Mapping[tuple[str, str, str], LearnedFact]
    texts: Mapping[str, tuple[tuple[str, LearnedFact], ...]]   # supplier -> (printed text, product alias)
    confirmed: Mapping[str, frozenset[str]] = field(default_factory=dict)
    contested: frozenset[tuple[str, str]] = frozenset()

    @classmethod
    def build(cls, facts: Iterable[LearnedFact]) -> LearnedIndex:
        latest: dict[tuple[str, str, str], LearnedFact] = {}
        targets: dict[tuple[str, str], set[str]] = {}
        for fact in sorted(facts, key=lambda f: f.created_at):
            latest[(str(fact.kind), fact.supplier_id, fact.key)] = fact
            if fact.kind == LearnedKind.PRODUCT_ALIAS:
                targets.setdefault((fact.supplier_id, fact.key), set()).add(fact.target_id)
        texts: dict[str, list[tuple[str, LearnedFact]]] = {}
        confirmed: dict[str, set[str]] = {}
        for (kind, supplier, key), fact in latest.items():
            if kind == LearnedKind.PRODUCT_ALIAS and key.startswith("text:"):
                texts.setdefault(supplier, []).append((key[5:], fact))
            if kind == LearnedKind.PRODUCT_ALIAS and fact.target_id:
                confirmed.setdefault(supplier, set()).add(fact.target_id)
        return cls(latest=latest, texts={k: tuple(v) for k, v in texts.items()},
                   confirmed={k: frozenset(v) for k, v in confirmed.items()},
                   contested=frozenset(k for k, v in targets.items() if len(v) > 1))

    def get(self, kind: LearnedKind, supplier_id: str, key: str) -> LearnedFact | None:
        return self.latest.get((str(kind), supplier_id, key))

    def hints(self, supplier_id: str) -> dict[str, str]:
        """The supplier's layout hints, key -> value."""
        return {k: f.payload.get("value", "") for (kind, s, k), f in self.latest.items()
                if kind == LearnedKind.LAYOUT_HINT and s == supplier_id}


@dataclass(frozen=True, slots=True)
class MasterData:
    """Everything the matchers read, with indexes.  Build with `MasterData.build`; never mutate.

    row_product: index row -> product position (a product has a row for name + spec and one per alias).
    """

    products: tuple[Product, ...]
    suppliers: tuple[Supplier, ...]
    supplier_products: tuple[SupplierProduct, ...]
    purchase_orders: tuple[PurchaseOrder, ...]
    facts: tuple[LearnedFact, ...]
    product_pos: Mapping[str, int]
    by_sku: Mapping[str, int]
    by_barcode: Mapping[str, int]
    product_specs: tuple[Spec, ...]
    product_norm: tuple[str, ...]
    index: NgramIndex
    row_product: np.ndarray
    supplier_pos: Mapping[str, int]
    supplier_by_tax: Mapping[str, int]
    supplier_by_name: Mapping[str, int]
    supplier_norm: tuple[str, ...]
    sp_by_code: Mapping[tuple[str, str], SupplierProduct]
    sp_by_name: Mapping[tuple[str, str], SupplierProduct]
    sp_by_product: Mapping[tuple[str, str], tuple[SupplierProduct, ...]]
    supplier_catalogue: Mapping[str, frozenset[int]]
    po_by_number: Mapping[str, PurchaseOrder]
    learned: LearnedIndex

    @classmethod
    def build(cls, *, products: Iterable[Product], suppliers: Iterable[Supplier] = (),
              supplier_products: Iterable[SupplierProduct] = (), purchase_orders: Iterable[PurchaseOrder] = (),
              facts: Iterable[LearnedFact] = ()) -> MasterData:
        products, suppliers = tuple(products), tuple(suppliers)
        sps, pos, facts = tuple(supplier_products), tuple(purchase_orders), tuple(facts)
        texts, row_product = _index_rows(products)
        product_pos = {p.id: i for i, p in enumerate(products)}
        return cls(
            products=products, suppliers=suppliers, supplier_products=sps, purchase_orders=pos, facts=facts,
            product_pos=product_pos, by_sku=_sku_index(products),
            by_barcode={k: i for i, p in enumerate(products) for b in p.barcodes if (k := gtin_key(b))},
            product_specs=tuple(read_specs(p.label) for p in products),
            product_norm=tuple(normalize_name(p.label) for p in products),
            index=NgramIndex.build(texts), row_product=np.asarray(row_product, dtype=np.int32),
            supplier_pos={s.id: i for i, s in enumerate(suppliers)},
            supplier_by_tax={fold_code(s.tax_id): i for i, s in enumerate(suppliers) if s.tax_id},
            supplier_by_name=_supplier_names(suppliers),
            supplier_norm=tuple(normalize_company(s.name) for s in suppliers),
            sp_by_code={(sp.supplier_id, fold_code(sp.supplier_sku)): sp for sp in sps if sp.supplier_sku},
            sp_by_name=_unique_names(sps),
            sp_by_product=_group_sp(sps), supplier_catalogue=_catalogues(sps, product_pos),
            po_by_number={fold_code(po.po_number): po for po in pos}, learned=LearnedIndex.build(facts))

    def with_facts(self, facts: Iterable[LearnedFact]) -> MasterData:
        """The same snapshot with these learned facts (all of them, not only new ones)."""
        facts = tuple(facts)
        return replace(self, facts=facts, learned=LearnedIndex.build(facts))

    def with_purchase_orders(self, orders: Iterable[PurchaseOrder]) -> MasterData:
        orders = tuple(orders)
        return replace(self, purchase_orders=orders, po_by_number={fold_code(po.po_number): po for po in orders})

    def product(self, product_id: str) -> Product | None:
        i = self.product_pos.get(product_id)
        return None if i is None else self.products[i]

    def supplier(self, supplier_id: str) -> Supplier | None:
        i = self.supplier_pos.get(supplier_id)
        return None if i is None else self.suppliers[i]


def _index_rows(products: tuple[Product, ...]) -> tuple[list[str], list[int]]:
    texts, owners = [], []
    for i, p in enumerate(products):
        texts.append(p.label)
        owners.append(i)
        for alias in p.aliases:
            texts.append(alias)
            owners.append(i)
    return texts, owners


def _sku_index(products: tuple[Product, ...]) -> dict[str, int]:
    return {fold_code(p.sku): i for i, p in enumerate(products) if fold_code(p.sku)}


def _unique_names(sps: tuple[SupplierProduct, ...]) -> dict[tuple[str, str], SupplierProduct]:
    """Supplier's own item names that name one product only (a name without its size may name several)."""
    out: dict[tuple[str, str], SupplierProduct] = {}
    clashes: set[tuple[str, str]] = set()
    for sp in sps:
        key = (sp.supplier_id, normalize_name(sp.supplier_name))
        if not key[1]:
            continue
        if key in out and out[key].product_id != sp.product_id:
            clashes.add(key)
        out.setdefault(key, sp)
    return {k: v for k, v in out.items() if k not in clashes}


def _supplier_names(suppliers: tuple[Supplier, ...]) -> dict[str, int]:
    """Full names (legal form kept) and names without the legal form, each only where it names one
    supplier: "Wayne Wholesale B.V." and "Wayne Wholesale S.A.S." are two companies."""
    out: dict[str, int] = {}
    clashes: set[str] = set()
    for i, s in enumerate(suppliers):
        for name in (s.name, *s.aliases):
            for key in {"=" + normalize_name(name), normalize_company(name)}:
                if key in ("=", ""):
                    continue
                if out.get(key, i) != i:
                    clashes.add(key)
                out.setdefault(key, i)
    return {k: v for k, v in out.items() if k not in clashes}


def _group_sp(sps: tuple[SupplierProduct, ...]) -> dict[tuple[str, str], tuple[SupplierProduct, ...]]:
    out: dict[tuple[str, str], list[SupplierProduct]] = {}
    for sp in sps:
        out.setdefault((sp.supplier_id, sp.product_id), []).append(sp)
    return {k: tuple(v) for k, v in out.items()}


def _catalogues(sps: tuple[SupplierProduct, ...], product_pos: Mapping[str, int]) -> dict[str, frozenset[int]]:
    out: dict[str, set[int]] = {}
    for sp in sps:
        if sp.product_id in product_pos:
            out.setdefault(sp.supplier_id, set()).add(product_pos[sp.product_id])
    return {k: frozenset(v) for k, v in out.items()}
