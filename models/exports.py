"""Posted receipts out, for the systems users already run: Kingdee (金蝶) and Yonyou (用友) purchase-receipt
import sheets (CSV or XLSX) and JSON.

One row per stock move of a receipt or reversal posting; a reversal is a red-letter receipt (红字入库单):
negative quantity and amounts, document number with the suffix "-R".  Quantities are in the product's base
unit (our SKU and unit, as the ERP's material master knows them), unit price = our unit cost, amount = the
move's value; money columns are rounded to 2 places (ROUND_HALF_UP, as the ERPs do), unit prices keep 6.

Columns followed
- Kingdee 云星空 采购入库单 (STK_InStock) import template, header and entry fields flattened into one row:
  单据编号, 单据类型, 入库日期, 供应商编码, 供应商, 源单编号 (PO), 物料编码, 物料名称, 规格型号, 库存单位,
  实收数量, 单价, 含税单价, 税率(%), 金额, 税额, 价税合计, 仓库, 仓位, 批号, 有效期至, 备注.
- Yonyou U8 采购入库单 (库存管理 > 入库业务) import columns: 入库单号, 入库日期, 仓库编码, 仓库, 供应商编码,
  供应商, 采购订单号, 存货编码, 存货名称, 规格型号, 主计量单位, 数量, 本币单价, 本币金额, 税率, 本币税额,
  本币价税合计, 批号, 失效日期, 备注.
Both ERPs map sheet columns by heading on import, so a site whose template differs renames headings only.
Money (issue 17): unit prices and amounts above are in the company's base currency (the ledger's values); the
document's own currency and the rate it was posted at follow at the end of each row: Kingdee 币别 (the
document's currency), 汇率 (base currency per 1 unit of it), 原币金额 (the amount in it), 本位币; Yonyou 币种,
汇率, 原币单价, 原币金额.  A posting made before the currency was recorded leaves them empty.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from extractors import Extraction
from models.tables import (Document, Location, Posting, Product, PurchaseOrder, PurchaseOrderLine, StockMove,
                           Supplier, Warehouse)
from models.tabular import cell_str, write_csv, write_xlsx

CENT = Decimal("0.01")
FORMATS = ("kingdee", "yonyou", "json")


@dataclass(frozen=True, slots=True)
class ExportLine:
    """One posted move, with what the ERP sheets need."""
    posting_id: int
    kind: str                 # receipt | reversal
    number: str               # the document's number (invoice / delivery note), "-R" for a reversal
    posted_at: datetime
    supplier_code: str        # tax id, else our supplier id
    supplier_name: str
    po_number: str
    sku: str
    name: str
    spec: str
    unit: str                 # base unit
    quantity: Decimal         # base units, negative for a reversal
    unit_cost: Decimal
    value: Decimal
    tax_rate: Decimal         # 0.13 for 13 %
    warehouse: str
    location: str
    batch: str
    expiry: date | None
    posted_by: str
    currency: str = ""                     # the document's currency ("" : not recorded)
    base_currency: str = ""
    exchange_rate: Decimal | None = None   # base currency per 1 `currency`
    document_value: Decimal | None = None  # the move's value in `currency`

    @property
    def document_amount(self) -> Decimal | None:
        return None if self.document_value is None else self.document_value.quantize(CENT, ROUND_HALF_UP)

    @property
    def document_unit_price(self) -> Decimal | None:
        if self.document_value is None or not self.quantity:
            return None
        return (self.document_value / self.quantity).quantize(Decimal("0.000001"), ROUND_HALF_UP)

    @property
    def amount(self) -> Decimal:
        return self.value.quantize(CENT, ROUND_HALF_UP)

    @property
    def tax(self) -> Decimal:
        return (self.value * self.tax_rate).quantize(CENT, ROUND_HALF_UP)

    @property
    def gross_unit_price(self) -> Decimal:
        return (self.unit_cost * (1 + self.tax_rate)).quantize(Decimal("0.000001"), ROUND_HALF_UP)


def posted_lines(session: Session, *, since: datetime | None = None, until: datetime | None = None) -> list[ExportLine]:
    """Moves of receipt and reversal postings, oldest first; `since`/`until` bound posted_at (UTC)."""
    query = (select(StockMove, Posting, Product, Location.code, Warehouse.code)
             .join(Posting, Posting.id == StockMove.posting_id)
             .join(Product, Product.id == StockMove.product_id)
             .join(Location, Location.id == StockMove.location_id)
             .join(Warehouse, Warehouse.id == Location.warehouse_id)
             .where(Posting.kind.in_(("receipt", "reversal"))).order_by(StockMove.id))
    if since is not None:
        query = query.where(Posting.posted_at >= since)
    if until is not None:
        query = query.where(Posting.posted_at < until)
    documents: dict[int, tuple[str, str, str]] = {}
    out = []
    for move, posting, product, location, warehouse in session.execute(query):
        if move.line_no == 0:
            continue  # a revaluation (cost difference), not a receipt line
        if move.document_id not in documents:
            documents[move.document_id] = _document_parties(session, move.document_id)
        number, code, supplier = documents[move.document_id]
        out.append(ExportLine(
            posting.id, posting.kind, number + ("-R" if posting.kind == "reversal" else ""), posting.posted_at,
            code, supplier, _po_number(session, move.po_line_id), product.sku, product.name, product.spec or "",
            product.unit, move.quantity, move.unit_cost, move.value, product.tax_rate or Decimal(0), warehouse,
            location, move.batch, move.expiry, posting.posted_by, move.currency or posting.currency or "",
            posting.base_currency or "", posting.exchange_rate, move.document_value))
    return out


def _document_parties(session: Session, document_id: int) -> tuple[str, str, str]:
    """(document number, supplier code, supplier name) from the reviewed reading and the matched supplier."""
    document = session.get(Document, document_id)
    reading = Extraction.from_json((document.current or {}).get("extraction"))
    number = reading.text("invoice_number") or reading.text("document_number") or f"DOC-{document_id}"
    supplier = session.get(Supplier, document.supplier_id) if document.supplier_id else None
    if supplier is not None:
        return number, supplier.tax_id or str(supplier.id), supplier.name
    return number, reading.text("supplier_tax_id"), reading.text("supplier_name")


def _po_number(session: Session, po_line_id: int | None) -> str:
    if po_line_id is None:
        return ""
    return session.scalar(select(PurchaseOrder.po_number).join(
        PurchaseOrderLine, PurchaseOrderLine.purchase_order_id == PurchaseOrder.id)
        .where(PurchaseOrderLine.id == po_line_id)) or ""


KINGDEE = ["单据编号", "单据类型", "入库日期", "供应商编码", "供应商", "源单编号", "物料编码", "物料名称", "规格型号",
           "库存单位", "实收数量", "单价", "含税单价", "税率(%)", "金额", "税额", "价税合计", "仓库", "仓位", "批号",
           "有效期至", "备注", "币别", "汇率", "原币金额", "本位币"]
YONYOU = ["入库单号", "入库日期", "仓库编码", "仓库", "供应商编码", "供应商", "采购订单号", "存货编码", "存货名称",
          "规格型号", "主计量单位", "数量", "本币单价", "本币金额", "税率", "本币税额", "本币价税合计", "批号",
          "失效日期", "备注", "币种", "汇率", "原币单价", "原币金额"]


def kingdee_row(line: ExportLine) -> list[object]:
    kind = "标准采购入库" if line.kind == "receipt" else "标准采购入库(红字)"
    return [line.number, kind, line.posted_at.date(), line.supplier_code, line.supplier_name, line.po_number,
            line.sku, line.name, line.spec, line.unit, line.quantity, line.unit_cost, line.gross_unit_price,
            line.tax_rate * 100, line.amount, line.tax, line.amount + line.tax, line.warehouse, line.location,
            line.batch, line.expiry, f"Inbound posting {line.posting_id}", line.currency, line.exchange_rate,
            line.document_amount, line.base_currency]


def yonyou_row(line: ExportLine) -> list[object]:
    return [line.number, line.posted_at.date(), line.warehouse, line.warehouse, line.supplier_code,
            line.supplier_name, line.po_number, line.sku, line.name, line.spec, line.unit, line.quantity,
            line.unit_cost, line.amount, line.tax_rate * 100, line.tax, line.amount + line.tax, line.batch,
            line.expiry, f"Inbound posting {line.posting_id}", line.currency, line.exchange_rate,
            line.document_unit_price, line.document_amount]


def export_receipts(session: Session, *, fmt: str, file_type: str = "csv", since: datetime | None = None,
                    until: datetime | None = None) -> bytes:
    """Posted receipts as a Kingdee or Yonyou sheet (`file_type` csv or xlsx), or as JSON (fmt "json")."""
    lines = posted_lines(session, since=since, until=until)
    if fmt == "json":
        return json.dumps(receipts_json(lines), ensure_ascii=False, indent=2).encode("utf-8")
    if fmt not in ("kingdee", "yonyou"):
        raise ValueError(f"format must be one of {FORMATS}, not {fmt!r}")
    header, to_row = (KINGDEE, kingdee_row) if fmt == "kingdee" else (YONYOU, yonyou_row)
    rows = [[_normal(c) for c in to_row(line)] for line in lines]
    if file_type == "xlsx":
        return write_xlsx(header, rows, title="采购入库单")
    return write_csv(header, rows)


def _normal(cell: object) -> object:
    return cell.normalize() if isinstance(cell, Decimal) else cell


def receipts_json(lines: list[ExportLine]) -> dict:
    """{"items": [posting with its lines], "total"}: decimals as strings, timestamps ISO UTC."""
    postings: dict[int, dict] = {}
    for line in lines:
        posting = postings.setdefault(line.posting_id, {
            "posting_id": line.posting_id, "kind": line.kind, "number": line.number,
            "posted_at": line.posted_at.isoformat(), "posted_by": line.posted_by,
            "supplier": {"code": line.supplier_code, "name": line.supplier_name},
            "currency": line.currency or None, "base_currency": line.base_currency or None,
            "exchange_rate": cell_str(line.exchange_rate) if line.exchange_rate is not None else None, "lines": []})
        posting["lines"].append({
            "sku": line.sku, "name": line.name, "unit": line.unit, "quantity": cell_str(line.quantity),
            "unit_cost": cell_str(line.unit_cost), "value": cell_str(line.value), "tax_rate": cell_str(line.tax_rate),
            "po_number": line.po_number or None, "warehouse": line.warehouse, "location": line.location,
            "batch": line.batch or None, "expiry": line.expiry.isoformat() if line.expiry else None,
            "document_value": cell_str(line.document_value) if line.document_value is not None else None})
    return {"items": list(postings.values()), "total": len(postings)}
