"""Master data in and out: products, suppliers, supplier products, purchase orders (DESIGN.md, Contracts 5).

`import_master(session, data, kind=None)` reads a CSV or XLSX, tells the kind from the header when not given,
checks every row and either writes them all (insert or update by natural key) or nothing: on any error the
savepoint is rolled back and the report lists each (row, column, reason).  Columns beyond the known ones are
kept in the record's `extra`.  `aliases` and `barcode` hold several values separated by `|`.

Natural keys: products by `sku`; suppliers by `tax_id`, else `name`; supplier products by (supplier,
`supplier_sku`), else (supplier, `supplier_name`); purchase order lines by (`po_number`, `line_no`), line_no
counting the PO's rows in the file when the column is absent.  A `supplier` cell names a supplier by tax id,
name or alias.  Later rows see earlier rows of the same file (a PO can follow its supplier's import).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.errors import MasterImportError
from models.tables import Product, PurchaseOrder, PurchaseOrderLine, Supplier, SupplierProduct
from models.tabular import read_sheet
from models.types import QTY_SCALE, to_decimal

KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {   # kind: (required, optional)
    "products": (("sku", "name", "unit"), ("barcode", "aliases", "category", "tax_rate", "spec", "batch_tracked",
                                           "shelf_life_days", "allow_negative", "unit_conversions")),
    "suppliers": (("name",), ("tax_id", "aliases", "address", "phone", "bank_account", "email")),
    "supplier_products": (("supplier", "sku"), ("supplier_sku", "supplier_name", "unit", "factor", "price")),
    "purchase_orders": (("po_number", "supplier", "sku", "quantity", "unit"), ("price", "date", "line_no",
                                                                                 "factor", "received", "open")),
}
TRUE = {"1", "true", "yes", "y", "是", "x"}
FALSE = {"", "0", "false", "no", "n", "否"}


@dataclass(frozen=True, slots=True)
class RowError:
    row: int        # as the spreadsheet numbers it: the header is row 1
    column: str     # "" when the whole row is wrong
    reason: str

    def to_json(self) -> dict:
        return {"row": self.row, "column": self.column, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class ImportReport:
    kind: str
    rows: int
    created: int
    updated: int
    errors: tuple[RowError, ...]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict:
        return {"kind": self.kind, "rows": self.rows, "created": self.created, "updated": self.updated,
                "ok": self.ok, "errors": [e.to_json() for e in self.errors]}


class _RowProblem(Exception):
    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column, self.reason = column, reason


class _RowProblems(Exception):
    """Several columns of one row are wrong; each is reported."""
    def __init__(self, problems: list[_RowProblem]) -> None:
        super().__init__(f"{len(problems)} problems")
        self.problems = problems


class _Cells:
    """Reads a row's cells, collecting every column's problem instead of stopping at the first."""
    def __init__(self, row: dict[str, str]) -> None:
        self.row, self.problems = row, []

    def take(self, read: Callable, *args, **kwargs):
        try:
            return read(self.row, *args, **kwargs)
        except _RowProblem as problem:
            self.problems.append(problem)
            return None

    def done(self) -> None:
        if self.problems:
            raise _RowProblems(self.problems)


@dataclass
class _Tally:
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    seen: dict[tuple, int] = field(default_factory=dict)   # natural key -> first row, for duplicates
    po_lines: dict[str, int] = field(default_factory=dict)  # po_number -> line count in this file


def guess_kind(header: tuple[str, ...]) -> str | None:
    """The kind that a header row describes, or None."""
    cols = set(header)
    if "po_number" in cols:
        return "purchase_orders"
    if "supplier" in cols and "sku" in cols and cols & {"supplier_sku", "supplier_name"}:
        return "supplier_products"
    if {"sku", "name", "unit"} <= cols:
        return "products"
    if "name" in cols and "sku" not in cols:
        return "suppliers"
    return None


def import_master(session: Session, data: bytes, *, kind: str | None = None) -> ImportReport:
    """Import one file, all rows or none.  Raises MasterImportError only when the file or header is unusable."""
    sheet = read_sheet(data)
    kind = kind or guess_kind(sheet.header)
    if kind not in KINDS:
        raise MasterImportError(f"Cannot tell what this file holds from its header {list(sheet.header)}; "
                                f"use a header of DESIGN.md or give the kind ({', '.join(KINDS)}).", report=None)
    missing = [c for c in KINDS[kind][0] if c not in sheet.header]
    if missing:
        report = ImportReport(kind, len(sheet.rows), 0, 0, tuple(RowError(1, c, "required column missing")
                                                                    for c in missing))
        return report
    handler = _HANDLERS[kind]
    tally = _Tally()
    savepoint = session.begin_nested()
    try:
        for number, row in sheet.rows:
            _import_row(session, handler, row, number, tally)
        if tally.errors:
            savepoint.rollback()
            return ImportReport(kind, len(sheet.rows), 0, 0, tuple(tally.errors))
        savepoint.commit()
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise
    return ImportReport(kind, len(sheet.rows), tally.created, tally.updated, ())


def _import_row(session: Session, handler: Callable, row: dict[str, str], number: int, tally: _Tally) -> None:
    try:
        with session.begin_nested():
            handler(session, row, number, tally)
    except _RowProblem as problem:
        tally.errors.append(RowError(number, problem.column, problem.reason))
    except _RowProblems as problems:
        tally.errors.extend(RowError(number, p.column, p.reason) for p in problems.problems)
    except IntegrityError as exc:
        tally.errors.append(RowError(number, "", f"conflicts with another record: {exc.orig}".splitlines()[0]))


# -- cells ---------------------------------------------------------------------------------------------------

def _text(row: dict[str, str], column: str, *, required: bool = False) -> str | None:
    value = row.get(column, "").strip()
    if required and not value:
        raise _RowProblem(column, "required, but empty")
    return value or None


def _decimal(row: dict[str, str], column: str, *, required: bool = False, positive: bool = False) -> Decimal | None:
    text = _text(row, column, required=required)
    if text is None:
        return None
    try:
        number = to_decimal(text.replace(",", "") if "," in text and "." in text else text, scale=QTY_SCALE)
    except ValueError:
        raise _RowProblem(column, f"not a number with at most {QTY_SCALE} decimals (use '.'): {text!r}") from None
    if number < 0 or (positive and number == 0):
        raise _RowProblem(column, f"must be {'> 0' if positive else '>= 0'}: {text!r}")
    return number


def _tax_rate(row: dict[str, str]) -> Decimal | None:
    text = _text(row, "tax_rate")
    if text is None:
        return None
    percent = text.endswith("%")
    number = _decimal({"tax_rate": text.rstrip("%")}, "tax_rate")
    if number > 100:            # not a rate at all (and 1e22 would not fit the column)
        raise _RowProblem("tax_rate", f"must be a rate between 0 and 100 %: {text!r}")
    if percent or number > 1:   # "13%" and "13" both mean 0.13
        number = to_decimal(number / 100, scale=QTY_SCALE)
    return number


def _bool(row: dict[str, str], column: str) -> bool:
    text = (row.get(column) or "").strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise _RowProblem(column, f"expected yes/no (true/false, 1/0, 是/否): {text!r}")


def _int(row: dict[str, str], column: str) -> int | None:
    text = _text(row, column)
    if text is None:
        return None
    if not text.isdigit():
        raise _RowProblem(column, f"expected a whole number of days: {text!r}")
    return int(text)


def _date(row: dict[str, str], column: str) -> date | None:
    text = _text(row, column)
    if text is None:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise _RowProblem(column, f"expected an ISO date (2026-03-31): {text!r}") from None


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split("|") if part.strip()]


def _conversions(row: dict[str, str]) -> dict[str, str]:
    """unit_conversions "箱=24|盒=6": base units per unit."""
    out = {}
    for part in _split(row.get("unit_conversions")):
        unit, _, factor = part.partition("=")
        number = _decimal({"unit_conversions": factor}, "unit_conversions", required=True, positive=True)
        out[unit.strip()] = format(number.normalize(), "f")
    return out


def _extra(row: dict[str, str], kind: str) -> dict[str, str]:
    known = set(KINDS[kind][0]) | set(KINDS[kind][1])
    return {k: v for k, v in row.items() if k not in known and v != ""}


def _once(tally: _Tally, key: tuple, number: int, column: str) -> None:
    if key in tally.seen:
        raise _RowProblem(column, f"{key[-1]!r} appears again (first in row {tally.seen[key]})")
    tally.seen[key] = number


# -- one handler per kind ------------------------------------------------------------------------------------

def _product_row(session: Session, row: dict[str, str], number: int, tally: _Tally) -> None:
    cells = _Cells(row)
    sku = cells.take(_text, "sku", required=True)
    values = dict(name=cells.take(_text, "name", required=True), unit=cells.take(_text, "unit", required=True),
                  barcodes=_split(row.get("barcode")), aliases=_split(row.get("aliases")),
                  category=_text(row, "category"), tax_rate=cells.take(_tax_rate), spec=_text(row, "spec"),
                  batch_tracked=cells.take(_bool, "batch_tracked"),
                  shelf_life_days=cells.take(_int, "shelf_life_days"),
                  allow_negative=cells.take(_bool, "allow_negative"), unit_conversions=cells.take(_conversions),
                  extra=_extra(row, "products"))
    cells.done()
    _once(tally, ("sku", sku), number, "sku")
    product = session.scalars(select(Product).where(Product.sku == sku)).one_or_none()
    _upsert(session, product, Product, dict(sku=sku, **values), tally)


def _supplier_row(session: Session, row: dict[str, str], number: int, tally: _Tally) -> None:
    name = _text(row, "name", required=True)
    tax_id = (_text(row, "tax_id") or "").upper() or None
    _once(tally, ("supplier", tax_id or name), number, "tax_id" if tax_id else "name")
    supplier = None
    if tax_id:
        supplier = session.scalars(select(Supplier).where(Supplier.tax_id == tax_id)).one_or_none()
    if supplier is None:
        supplier = session.scalars(select(Supplier).where(Supplier.name == name)).one_or_none()
    values = dict(name=name, tax_id=tax_id, aliases=_split(row.get("aliases")), address=_text(row, "address"),
                  phone=_text(row, "phone"), bank_account=_text(row, "bank_account"), email=_text(row, "email"),
                  extra=_extra(row, "suppliers"))
    _upsert(session, supplier, Supplier, values, tally)


def _supplier_product_row(session: Session, row: dict[str, str], number: int, tally: _Tally) -> None:
    supplier = _find_supplier(session, row)
    product = _find_product(session, row)
    supplier_sku, supplier_name = _text(row, "supplier_sku"), _text(row, "supplier_name")
    if not supplier_sku and not supplier_name:
        raise _RowProblem("supplier_sku", "give supplier_sku or supplier_name")
    _once(tally, ("sp", supplier.id, supplier_sku or supplier_name), number,
          "supplier_sku" if supplier_sku else "supplier_name")
    key = (SupplierProduct.supplier_sku == supplier_sku) if supplier_sku else \
        (SupplierProduct.supplier_name == supplier_name)
    link = session.scalars(select(SupplierProduct).where(SupplierProduct.supplier_id == supplier.id, key)).one_or_none()
    values = dict(supplier_id=supplier.id, supplier_sku=supplier_sku, supplier_name=supplier_name,
                  product_id=product.id, unit=_text(row, "unit") or product.unit,
                  factor=_decimal(row, "factor", positive=True) or Decimal(1), last_price=_decimal(row, "price"),
                  extra=_extra(row, "supplier_products"))
    _upsert(session, link, SupplierProduct, values, tally)


def _po_row(session: Session, row: dict[str, str], number: int, tally: _Tally) -> None:
    cells = _Cells(row)
    po_number = cells.take(_text, "po_number", required=True)
    supplier = cells.take(lambda _row: _find_supplier(session, _row))
    product = cells.take(lambda _row: _find_product(session, _row))
    quantity = cells.take(_decimal, "quantity", required=True, positive=True)
    unit = cells.take(_text, "unit", required=True)
    given_factor, price = cells.take(_decimal, "factor", positive=True), cells.take(_decimal, "price")
    order_date, given_line = cells.take(_date, "date"), cells.take(_int, "line_no")
    cells.done()
    factor = given_factor or _unit_factor(session, product, supplier.id, unit)
    order = session.scalars(select(PurchaseOrder).where(PurchaseOrder.po_number == po_number)).one_or_none()
    if order is None:
        order = PurchaseOrder(po_number=po_number, supplier_id=supplier.id, order_date=order_date)
        session.add(order)
        session.flush()
    elif order.supplier_id != supplier.id:
        raise _RowProblem("supplier", f"PO {po_number} belongs to another supplier")
    tally.po_lines[po_number] = tally.po_lines.get(po_number, 0) + 1
    line_no = given_line or tally.po_lines[po_number]
    _once(tally, ("po", po_number, line_no), number, "line_no")
    line = session.scalars(select(PurchaseOrderLine).where(PurchaseOrderLine.purchase_order_id == order.id,
                                                           PurchaseOrderLine.line_no == line_no)).one_or_none()
    ordered_base = quantity * factor
    if ordered_base != ordered_base.quantize(Decimal(1).scaleb(-QTY_SCALE)):
        raise _RowProblem("quantity", f"{quantity} x {factor} has more than {QTY_SCALE} decimals")
    values = dict(purchase_order_id=order.id, line_no=line_no, product_id=product.id, unit=unit,
                  quantity=quantity, factor=factor, price=price, ordered_base=ordered_base,
                  extra=_extra(row, "purchase_orders"))
    _upsert(session, line, PurchaseOrderLine, values, tally)


def _unit_factor(session: Session, product: Product, supplier_id: int, unit: str) -> Decimal:
    if unit == product.unit:
        return Decimal(1)
    if unit in (product.unit_conversions or {}):
        return to_decimal(product.unit_conversions[unit], scale=QTY_SCALE)
    factor = session.scalar(select(SupplierProduct.factor).where(SupplierProduct.supplier_id == supplier_id,
                                                                 SupplierProduct.product_id == product.id,
                                                                 SupplierProduct.unit == unit).limit(1))
    if factor is None:
        raise _RowProblem("unit", f"{unit!r} is not {product.sku}'s unit {product.unit!r} and no conversion is "
                                  "known; add a factor column or a unit conversion")
    return factor


def _find_supplier(session: Session, row: dict[str, str]) -> Supplier:
    ref = _text(row, "supplier", required=True)
    found = session.scalars(select(Supplier).where((Supplier.tax_id == ref.upper()) | (Supplier.name == ref))
                            ).first()
    if found is None:
        found = next((s for s in session.scalars(select(Supplier)) if ref in (s.aliases or [])), None)
    if found is None:
        raise _RowProblem("supplier", f"no supplier with tax id, name or alias {ref!r}")
    return found


def _find_product(session: Session, row: dict[str, str]) -> Product:
    sku = _text(row, "sku", required=True)
    found = session.scalars(select(Product).where(Product.sku == sku)).one_or_none()
    if found is None:
        raise _RowProblem("sku", f"no product with sku {sku!r}")
    return found


def _upsert(session: Session, record: object | None, table: type, values: dict, tally: _Tally) -> None:
    if record is None:
        session.add(table(**values))
        tally.created += 1
    else:
        for name, value in values.items():
            setattr(record, name, value)  # columns of our own table, named above
        tally.updated += 1
    session.flush()


_HANDLERS: dict[str, Callable[[Session, dict[str, str], int, _Tally], None]] = {
    "products": _product_row, "suppliers": _supplier_row, "supplier_products": _supplier_product_row,
    "purchase_orders": _po_row,
}
