"""Master records from plain rows with DESIGN.md's import columns (contract 5), for whoever holds them:
the DB layer, an import preview, tests.  Pure: dicts of strings in, records and a `MasterData` out.

    products:          sku, name, unit; barcode, aliases, category, tax_rate, spec, batch_tracked,
                       shelf_life_days (and `id`, `conversions` "箱=24|盒=6" where the caller has them)
    suppliers:         name; tax_id, aliases, address, phone, bank_account, email (and `id`)
    supplier products: supplier (tax id or name), supplier_sku or supplier_name, sku (ours), unit, factor, price
    purchase orders:   po_number, supplier, sku, quantity, unit, price, date (one row per line)
`aliases` and `barcode` hold several values separated by `|`.  Without an `id` column a product's id is
its SKU and a supplier's its tax id (else its name).  Rows that name an unknown supplier or product are
returned in `skipped`, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Iterable, Mapping

from matching.master import MasterData, POLine, Product, PurchaseOrder, Supplier, SupplierProduct
from matching.normalize import fold_code, normalize_company

__all__ = ["RowsRead", "master_from_rows", "product_from_row", "supplier_from_row"]

Row = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class RowsRead:
    master: MasterData
    skipped: tuple[tuple[str, Row], ...]   # (why, row)


def _get(row: Row, name: str) -> str:
    return (row.get(name) or "").strip()


def _split(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split("|") if v.strip())


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text) if text else None
    except InvalidOperation:
        return None


def _conversions(text: str) -> dict[str, Decimal]:
    out = {}
    for part in _split(text):
        unit, _, factor = part.partition("=")
        if (value := _decimal(factor.strip())) is not None and unit.strip():
            out[unit.strip()] = value
    return out


def product_from_row(row: Row) -> Product:
    shelf = _get(row, "shelf_life_days")
    return Product(
        id=_get(row, "id") or _get(row, "sku"), sku=_get(row, "sku"), name=_get(row, "name"), unit=_get(row, "unit"),
        barcodes=_split(_get(row, "barcode")), aliases=_split(_get(row, "aliases")), category=_get(row, "category"),
        tax_rate=_decimal(_get(row, "tax_rate")), spec=_get(row, "spec"),
        conversions=_conversions(_get(row, "conversions")),
        batch_tracked=_get(row, "batch_tracked").lower() in ("1", "true", "yes", "y", "是"),
        shelf_life_days=int(shelf) if shelf.isdigit() else None)


def supplier_from_row(row: Row) -> Supplier:
    return Supplier(id=_get(row, "id") or _get(row, "tax_id") or _get(row, "name"), name=_get(row, "name"),
                    tax_id=_get(row, "tax_id"), aliases=_split(_get(row, "aliases")), address=_get(row, "address"),
                    phone=_get(row, "phone"), bank_account=_get(row, "bank_account"), email=_get(row, "email"))


def _supplier_lookup(suppliers: list[Supplier]) -> dict[str, str]:
    out = {}
    for s in suppliers:
        out[normalize_company(s.name)] = s.id
        if s.tax_id:
            out[fold_code(s.tax_id)] = s.id
        out[s.id] = s.id
    return out


def _link(row: Row, suppliers: dict[str, str], skus: dict[str, str]) -> SupplierProduct | str:
    text = _get(row, "supplier")
    supplier = suppliers.get(text) or suppliers.get(fold_code(text)) or suppliers.get(normalize_company(text))
    product = skus.get(_get(row, "sku"))
    if supplier is None:
        return "unknown supplier"
    if product is None:
        return "unknown sku"
    return SupplierProduct(supplier, product, _get(row, "supplier_sku"), _get(row, "supplier_name"),
                           _get(row, "unit"), _decimal(_get(row, "factor")), _decimal(_get(row, "price")))


def _orders(rows: Iterable[Row], suppliers: dict[str, str], skus: dict[str, str],
            skipped: list[tuple[str, Row]]) -> list[PurchaseOrder]:
    heads: dict[str, tuple[str, date | None]] = {}
    lines: dict[str, list[POLine]] = {}
    for row in rows:
        number, text = _get(row, "po_number"), _get(row, "supplier")
        supplier = suppliers.get(text) or suppliers.get(fold_code(text)) or suppliers.get(normalize_company(text))
        product, quantity = skus.get(_get(row, "sku")), _decimal(_get(row, "quantity"))
        if not number or supplier is None or product is None or quantity is None:
            skipped.append(("purchase order row incomplete or unknown", row))
            continue
        when = _get(row, "date")
        heads.setdefault(number, (supplier, date.fromisoformat(when) if when else None))
        po_lines = lines.setdefault(number, [])
        po_lines.append(POLine(len(po_lines) + 1, product, quantity, Decimal(0), _get(row, "unit"),
                               _decimal(_get(row, "price"))))
    return [PurchaseOrder(n, heads[n][0], heads[n][1], tuple(ls)) for n, ls in lines.items()]


def master_from_rows(*, products: Iterable[Row], suppliers: Iterable[Row] = (),
                     supplier_products: Iterable[Row] = (), purchase_orders: Iterable[Row] = ()) -> RowsRead:
    """A `MasterData` from import rows (see the module docstring) and the rows it could not use."""
    product_list = [product_from_row(r) for r in products if _get(r, "sku") and _get(r, "name")]
    supplier_list = [supplier_from_row(r) for r in suppliers if _get(r, "name")]
    by_supplier, skus = _supplier_lookup(supplier_list), {p.sku: p.id for p in product_list}
    skipped: list[tuple[str, Row]] = []
    links = []
    for row in supplier_products:
        link = _link(row, by_supplier, skus)
        if isinstance(link, str):
            skipped.append((link, row))
        else:
            links.append(link)
    orders = _orders(purchase_orders, by_supplier, skus, skipped)
    master = MasterData.build(products=product_list, suppliers=supplier_list, supplier_products=links,
                              purchase_orders=orders)
    return RowsRead(master, tuple(skipped))
