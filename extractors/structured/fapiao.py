"""Chinese VAT e-invoice XML (namespace http://www.edrm.org.cn/schema/e-invoice/2019, the
`original_invoice.xml` inside an OFD e-invoice) -> `Extraction` of type vat_invoice.

Fields: InvoiceCode -> invoice_code, InvoiceNo -> document_number, IssueDate (2020年10月10日) ->
document_date, InvoiceCheckCode -> check_code, MachineNo -> machine_no, Buyer*/Seller* -> buyer_*/supplier_*
(name, tax id, 地址电话 as *_address_phone, 开户行及账号 as *_bank_account), TaxExclusiveTotalAmount ->
subtotal, TaxTotalAmount -> tax_amount, TaxInclusiveTotalAmount -> total_amount, currency CNY (implied),
InvoiceClerk / Payee / Checker -> issuer_clerk / payee / checker, Note -> remarks.
Lines (GoodsInfos/GoodsInfo): Item, Specification, MeasurementDimension, Price, Quantity, Amount,
TaxScheme (6% -> 0.06), TaxAmount.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from extractors.result import DocumentType, Extraction, Field, LineItem
from extractors.structured.elements import (FAPIAO_NAMESPACE, READER_NAME, date_field, decimal_field, find_all,
                                   local, namespace, put, rate_field, text_field, text_of)

_HEADER_TEXT = (("invoice_code", "InvoiceCode"), ("document_number", "InvoiceNo"),
                ("check_code", "InvoiceCheckCode"), ("machine_no", "MachineNo"),
                ("buyer_name", "Buyer/BuyerName"), ("buyer_tax_id", "Buyer/BuyerTaxID"),
                ("buyer_address_phone", "Buyer/BuyerAddrTel"),
                ("buyer_bank_account", "Buyer/BuyerFinancialAccount"),
                ("supplier_name", "Seller/SellerName"), ("supplier_tax_id", "Seller/SellerTaxID"),
                ("supplier_address_phone", "Seller/SellerAddrTel"),
                ("supplier_bank_account", "Seller/SellerFinancialAccount"),
                ("issuer_clerk", "InvoiceClerk"), ("payee", "Payee"), ("checker", "Checker"),
                ("remarks", "Note"))
_HEADER_AMOUNTS = (("subtotal", "TaxExclusiveTotalAmount"), ("tax_amount", "TaxTotalAmount"),
                   ("total_amount", "TaxInclusiveTotalAmount"))
_LINE_TEXT = (("description", "Item"), ("spec", "Specification"), ("unit", "MeasurementDimension"))
_LINE_AMOUNTS = (("quantity", "Quantity"), ("unit_price", "Price"), ("amount", "Amount"),
                 ("tax_amount", "TaxAmount"))


def is_fapiao(root: Element) -> bool:
    """True for the e-invoice root (`eInvoice`, itself often without namespace, children in fp:)."""
    if namespace(root.tag) == FAPIAO_NAMESPACE:
        return True
    return local(root.tag) == "eInvoice" and any(namespace(c.tag) == FAPIAO_NAMESPACE for c in root)


def parse_fapiao(root: Element) -> Extraction:
    fields: dict[str, Field] = {}
    for name, path in _HEADER_TEXT:
        put(fields, name, text_field(text_of(root, path)))
    put(fields, "document_date", date_field(text_of(root, "IssueDate")))
    for name, path in _HEADER_AMOUNTS:
        put(fields, name, decimal_field(text_of(root, path)))
    fields["currency"] = Field("CNY", "", 1.0)
    lines = tuple(_line(goods, no) for no, goods in enumerate(find_all(root, "GoodsInfos/GoodsInfo"), 1))
    return Extraction(document_type=DocumentType.VAT_INVOICE, language="zh", fields=fields, lines=lines,
                      reader=READER_NAME)


def _line(goods: Element, line_no: int) -> LineItem:
    fields: dict[str, Field] = {}
    for name, path in _LINE_TEXT:
        put(fields, name, text_field(text_of(goods, path)))
    for name, path in _LINE_AMOUNTS:
        put(fields, name, decimal_field(text_of(goods, path)))
    put(fields, "tax_rate", rate_field(text_of(goods, "TaxScheme")))
    return LineItem(line_no=line_no, fields=fields)
