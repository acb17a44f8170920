"""OASIS UBL 2.1 Invoice / CreditNote (also XRechnung UBL, Peppol BIS 3) -> `Extraction`.

Header: cbc:ID, IssueDate, DueDate (or PaymentMeans/PaymentDueDate), Invoice/CreditNoteTypeCode,
DocumentCurrencyCode, OrderReference, DespatchDocumentReference, Delivery/ActualDeliveryDate;
AccountingSupplierParty / AccountingCustomerParty (RegistrationName or PartyName, PartyTaxScheme CompanyID:
VAT -> *_tax_id, other schemes -> *_tax_number, PostalAddress joined with ', '); PaymentMeans IBAN,
PaymentTerms notes; LegalMonetaryTotal and TaxTotal (same keys as the CII mapping).
Lines (InvoiceLine / CreditNoteLine): ID, Item Name / Sellers-, Buyers-, StandardItemIdentification,
Price (+ BaseQuantity, gross price from the price allowance), quantity (+ unitCode), ClassifiedTaxCategory
Percent, LineExtensionAmount.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from extractors.result import DocumentType, Extraction, Field, LineItem
from extractors.structured.elements import (READER_NAME, joined_address, credit_note_issue, date_field, decimal_field, find,
                                   find_all, guess_language, local, put, rate_field, text_field, text_of)

_ADDRESS_PARTS = ("StreetName", "AdditionalStreetName", "AddressLine/Line", "PostalZone", "CityName",
                  "CountrySubentity", "Country/IdentificationCode")
_MONETARY = (("line_total", "LineExtensionAmount"), ("subtotal", "TaxExclusiveAmount"),
             ("total_amount", "TaxInclusiveAmount"), ("amount_due", "PayableAmount"))
_NONZERO_MONETARY = (("allowance_total", "AllowanceTotalAmount"), ("charge_total", "ChargeTotalAmount"),
                     ("prepaid_amount", "PrepaidAmount"))


def parse_ubl(root: Element) -> Extraction:
    """The Extraction for a UBL Invoice or CreditNote root element."""
    fields: dict[str, Field] = {}
    is_credit_note = local(root.tag) == "CreditNote"
    _document_fields(root, fields)
    _party(find(root, "AccountingSupplierParty/Party"), "supplier", fields)
    _party(find(root, "AccountingCustomerParty/Party"), "buyer", fields)
    _payment_fields(root, fields)
    _monetary_fields(root, fields)
    line_tag = "CreditNoteLine" if is_credit_note else "InvoiceLine"
    lines = tuple(_line(el, no) for no, el in enumerate(find_all(root, line_tag), 1))
    type_code = text_of(root, "CreditNoteTypeCode", "InvoiceTypeCode") or ("381" if is_credit_note else None)
    issue = credit_note_issue(type_code)
    return Extraction(document_type=DocumentType.INVOICE, language=_language(root, lines), fields=fields,
                      lines=lines, issues=(issue,) if issue else (), reader=READER_NAME)


def _document_fields(root: Element, fields: dict[str, Field]) -> None:
    put(fields, "document_number", text_field(text_of(root, "ID")))
    put(fields, "document_date", date_field(text_of(root, "IssueDate")))
    put(fields, "due_date", date_field(text_of(root, "DueDate", "PaymentMeans/PaymentDueDate")))
    put(fields, "currency", text_field(text_of(root, "DocumentCurrencyCode")))
    put(fields, "po_number", text_field(text_of(root, "OrderReference/ID")))
    put(fields, "delivery_note_number", text_field(text_of(root, "DespatchDocumentReference/ID")))
    put(fields, "delivery_date", date_field(text_of(root, "Delivery/ActualDeliveryDate")))


def _party(party: Element | None, prefix: str, fields: dict[str, Field]) -> None:
    if party is None:
        return
    put(fields, f"{prefix}_name", text_field(text_of(party, "PartyLegalEntity/RegistrationName",
                                                     "PartyName/Name")))
    for scheme in find_all(party, "PartyTaxScheme"):
        kind = (text_of(scheme, "TaxScheme/ID") or "VAT").upper()
        key = "tax_id" if kind == "VAT" else "tax_number"
        put(fields, f"{prefix}_{key}", text_field(text_of(scheme, "CompanyID")))
    put(fields, f"{prefix}_address", text_field(joined_address(find(party, "PostalAddress"), _ADDRESS_PARTS)))


def _payment_fields(root: Element, fields: dict[str, Field]) -> None:
    for means in find_all(root, "PaymentMeans"):
        put(fields, "supplier_bank_account", text_field(text_of(means, "PayeeFinancialAccount/ID")))
    notes = [text_of(terms, "Note") for terms in find_all(root, "PaymentTerms")]
    put(fields, "payment_terms", text_field(" ".join(n for n in notes if n)))


def _monetary_fields(root: Element, fields: dict[str, Field]) -> None:
    total = find(root, "LegalMonetaryTotal", "RequestedMonetaryTotal")
    for name, element in _MONETARY:
        put(fields, name, decimal_field(text_of(total, element)))
    for name, element in _NONZERO_MONETARY:
        field = decimal_field(text_of(total, element))
        if field is not None and field.value != 0:
            put(fields, name, field)
    put(fields, "tax_amount", decimal_field(_tax_total(root, text_of(root, "DocumentCurrencyCode"))))


def _tax_total(root: Element, currency: str | None) -> str | None:
    """TaxTotal/TaxAmount in the document currency (a second TaxTotal may be in the tax currency)."""
    amounts = find_all(root, "TaxTotal/TaxAmount")
    for amount in amounts:
        if currency and amount.get("currencyID") == currency:
            return amount.text
    return amounts[0].text if amounts else None


def _line(line: Element, line_no: int) -> LineItem:
    fields: dict[str, Field] = {}
    put(fields, "printed_line_id", text_field(text_of(line, "ID")))
    item = find(line, "Item")
    put(fields, "description", text_field(text_of(item, "Name", "Description")))
    put(fields, "supplier_sku", text_field(text_of(item, "SellersItemIdentification/ID")))
    put(fields, "buyer_sku", text_field(text_of(item, "BuyersItemIdentification/ID")))
    put(fields, "barcode", text_field(text_of(item, "StandardItemIdentification/ID")))
    quantity = find(line, "InvoicedQuantity", "CreditedQuantity")
    put(fields, "quantity", decimal_field(text_of(quantity)))
    put(fields, "unit_code", text_field(quantity.get("unitCode") if quantity is not None else None))
    _price_fields(find(line, "Price"), fields)
    put(fields, "tax_rate", rate_field(text_of(item, "ClassifiedTaxCategory/Percent")))
    put(fields, "amount", decimal_field(text_of(line, "LineExtensionAmount")))
    return LineItem(line_no=line_no, fields=fields)


def _price_fields(price: Element | None, fields: dict[str, Field]) -> None:
    put(fields, "unit_price", decimal_field(text_of(price, "PriceAmount")))
    put(fields, "gross_unit_price", decimal_field(text_of(price, "AllowanceCharge/BaseAmount")))
    basis = decimal_field(text_of(price, "BaseQuantity"))
    if basis is not None and basis.value != 1:
        put(fields, "price_basis_quantity", basis)


def _language(root: Element, lines: tuple[LineItem, ...]) -> str:
    texts = [n.text or "" for n in find_all(root, "Note")]
    texts += [n.text or "" for n in find_all(root, "PaymentTerms/Note")]
    names = [str(li.fields["description"].value) for li in lines if "description" in li.fields]
    countries = (text_of(root, f"{party}/Party/PostalAddress/Country/IdentificationCode")
                 for party in ("AccountingSupplierParty", "AccountingCustomerParty"))
    return guess_language(texts, *countries, item_names=names)
