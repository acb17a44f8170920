"""UN/CEFACT Cross Industry Invoice -> `Extraction`: CII D16B (ZUGFeRD 2.x, Factur-X, XRechnung CII) and
ZUGFeRD 1.0 (CrossIndustryDocument), which differ mostly in element names (`Dialect`).

Header: ExchangedDocument ID / IssueDateTime / TypeCode; SellerTradeParty and BuyerTradeParty (name, VAT id
schemeID VA, Steuernummer schemeID FC, postal address joined with ', '); BuyerOrderReferencedDocument,
DespatchAdvice / DeliveryNote reference, ActualDeliverySupplyChainEvent; InvoiceCurrencyCode, payment terms
(descriptions joined, first due date), IBAN; the monetary summation (TaxBasisTotalAmount -> subtotal,
TaxTotalAmount in the invoice currency -> tax_amount, GrandTotalAmount -> total_amount, DuePayableAmount ->
amount_due, LineTotalAmount -> line_total, non-zero allowance/charge/prepaid totals).
Lines: LineID -> printed_line_id, product Name / SellerAssignedID / BuyerAssignedID / GlobalID, net and gross
price, BilledQuantity (+ unitCode), tax rate as a fraction, LineTotalAmount.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element

from extractors.result import DocumentType, Extraction, Field, LineItem
from extractors.structured.elements import (READER_NAME, joined_address, credit_note_issue, date_field, decimal_field, find,
                                   find_all, guess_language, put, rate_field, text_field, text_of)


@dataclass(frozen=True, slots=True)
class Dialect:
    """Element names that differ between CII D16B and ZUGFeRD 1.0."""

    document: str
    transaction: str
    agreement: str
    delivery: str
    settlement: str
    summation: str
    line_agreement: str
    line_delivery: str
    line_settlement: str
    line_summation: str


D16B = Dialect("ExchangedDocument", "SupplyChainTradeTransaction", "ApplicableHeaderTradeAgreement",
               "ApplicableHeaderTradeDelivery", "ApplicableHeaderTradeSettlement",
               "SpecifiedTradeSettlementHeaderMonetarySummation", "SpecifiedLineTradeAgreement",
               "SpecifiedLineTradeDelivery", "SpecifiedLineTradeSettlement",
               "SpecifiedTradeSettlementLineMonetarySummation")
ZUGFERD1 = Dialect("HeaderExchangedDocument", "SpecifiedSupplyChainTradeTransaction",
                   "ApplicableSupplyChainTradeAgreement", "ApplicableSupplyChainTradeDelivery",
                   "ApplicableSupplyChainTradeSettlement", "SpecifiedTradeSettlementMonetarySummation",
                   "SpecifiedSupplyChainTradeAgreement", "SpecifiedSupplyChainTradeDelivery",
                   "SpecifiedSupplyChainTradeSettlement", "SpecifiedTradeSettlementMonetarySummation")

_PERCENT = ("RateApplicablePercent", "ApplicablePercent")
_REF_ID = ("IssuerAssignedID", "ID")
_ADDRESS_PARTS = ("LineOne", "LineTwo", "LineThree", "PostcodeCode", "CityName", "CountrySubDivisionName",
                  "CountryID")
_SUMMATION = (("subtotal", "TaxBasisTotalAmount"), ("total_amount", "GrandTotalAmount"),
              ("amount_due", "DuePayableAmount"), ("line_total", "LineTotalAmount"))
_NONZERO_SUMMATION = (("allowance_total", "AllowanceTotalAmount"), ("charge_total", "ChargeTotalAmount"),
                      ("prepaid_amount", "TotalPrepaidAmount"))


def parse_cii(root: Element, dialect: Dialect) -> Extraction:
    """The Extraction for a CrossIndustryInvoice / CrossIndustryDocument root element."""
    fields: dict[str, Field] = {}
    document = find(root, dialect.document)
    transaction = find(root, dialect.transaction)
    agreement = find(transaction, dialect.agreement)
    settlement = find(transaction, dialect.settlement)
    _document_fields(document, fields)
    _party(find(agreement, "SellerTradeParty"), "supplier", fields)
    _party(find(agreement, "BuyerTradeParty"), "buyer", fields)
    put(fields, "po_number", text_field(text_of(agreement, *_refs("BuyerOrderReferencedDocument"))))
    _delivery_fields(find(transaction, dialect.delivery), fields)
    _settlement_fields(settlement, dialect, fields)
    lines = tuple(_line(item, no, dialect)
                  for no, item in enumerate(find_all(transaction, "IncludedSupplyChainTradeLineItem"), 1))
    type_code = text_of(document, "TypeCode")
    issue = credit_note_issue(type_code)
    return Extraction(document_type=DocumentType.INVOICE, language=_language(root, dialect, lines),
                      fields=fields, lines=lines, issues=(issue,) if issue else (), reader=READER_NAME)


def _refs(document: str) -> tuple[str, ...]:
    return tuple(f"{document}/{name}" for name in _REF_ID)


def _document_fields(document: Element | None, fields: dict[str, Field]) -> None:
    put(fields, "document_number", text_field(text_of(document, "ID")))
    put(fields, "document_date", date_field(text_of(document, "IssueDateTime/DateTimeString",
                                                    "IssueDateTime")))


def _party(party: Element | None, prefix: str, fields: dict[str, Field]) -> None:
    if party is None:
        return
    put(fields, f"{prefix}_name", text_field(text_of(party, "Name")))
    for reg in find_all(party, "SpecifiedTaxRegistration/ID"):
        scheme = (reg.get("schemeID") or "VA").upper()
        key = {"VA": "tax_id", "FC": "tax_number"}.get(scheme)
        if key:
            put(fields, f"{prefix}_{key}", text_field(reg.text))
    put(fields, f"{prefix}_address", text_field(joined_address(find(party, "PostalTradeAddress"), _ADDRESS_PARTS)))


def _delivery_fields(delivery: Element | None, fields: dict[str, Field]) -> None:
    event = "ActualDeliverySupplyChainEvent/OccurrenceDateTime"
    put(fields, "delivery_date", date_field(text_of(delivery, f"{event}/DateTimeString", event)))
    put(fields, "delivery_note_number", text_field(text_of(
        delivery, *_refs("DespatchAdviceReferencedDocument"), *_refs("DeliveryNoteReferencedDocument"))))


def _settlement_fields(settlement: Element | None, dialect: Dialect, fields: dict[str, Field]) -> None:
    currency = text_of(settlement, "InvoiceCurrencyCode")
    put(fields, "currency", text_field(currency))
    terms = find_all(settlement, "SpecifiedTradePaymentTerms")
    put(fields, "due_date", date_field(_first_text(terms, "DueDateDateTime/DateTimeString",
                                                   "DueDateDateTime")))
    descriptions = [text_of(t, "Description") for t in terms]
    put(fields, "payment_terms", text_field(" ".join(d for d in descriptions if d)))
    put(fields, "supplier_bank_account", text_field(_first_text(
        find_all(settlement, "SpecifiedTradeSettlementPaymentMeans"),
        "PayeePartyCreditorFinancialAccount/IBANID", "PayeePartyCreditorFinancialAccount/ProprietaryID")))
    _summation_fields(find(settlement, dialect.summation), currency, fields)


def _first_text(elements: list[Element], *paths: str) -> str | None:
    for el in elements:
        value = text_of(el, *paths)
        if value:
            return value
    return None


def _summation_fields(summation: Element | None, currency: str | None, fields: dict[str, Field]) -> None:
    for name, element in _SUMMATION:
        put(fields, name, decimal_field(text_of(summation, element)))
    put(fields, "tax_amount", decimal_field(_tax_total(summation, currency)))
    for name, element in _NONZERO_SUMMATION:
        field = decimal_field(text_of(summation, element))
        if field is not None and field.value != 0:
            put(fields, name, field)


def _tax_total(summation: Element | None, currency: str | None) -> str | None:
    """TaxTotalAmount in the invoice currency (a second one may be in the accounting currency)."""
    totals = find_all(summation, "TaxTotalAmount")
    for total in totals:
        if currency and total.get("currencyID") == currency:
            return total.text
    return totals[0].text if totals else None


def _line(item: Element, line_no: int, dialect: Dialect) -> LineItem:
    fields: dict[str, Field] = {}
    put(fields, "printed_line_id", text_field(text_of(item, "AssociatedDocumentLineDocument/LineID")))
    _product_fields(find(item, "SpecifiedTradeProduct"), fields)
    _price_fields(find(item, dialect.line_agreement), fields)
    quantity = find(item, f"{dialect.line_delivery}/BilledQuantity")
    put(fields, "quantity", decimal_field(text_of(quantity)))
    put(fields, "unit_code", text_field(quantity.get("unitCode") if quantity is not None else None))
    settlement = find(item, dialect.line_settlement)
    put(fields, "tax_rate", rate_field(text_of(settlement, *(f"ApplicableTradeTax/{p}" for p in _PERCENT))))
    put(fields, "amount", decimal_field(text_of(settlement, f"{dialect.line_summation}/LineTotalAmount")))
    if not fields:
        put(fields, "note", text_field(text_of(item, "AssociatedDocumentLineDocument/IncludedNote/Content")))
    return LineItem(line_no=line_no, fields=fields)


def _product_fields(product: Element | None, fields: dict[str, Field]) -> None:
    put(fields, "description", text_field(text_of(product, "Name")))
    put(fields, "supplier_sku", text_field(text_of(product, "SellerAssignedID")))
    put(fields, "buyer_sku", text_field(text_of(product, "BuyerAssignedID")))
    put(fields, "barcode", text_field(text_of(product, "GlobalID")))


def _price_fields(agreement: Element | None, fields: dict[str, Field]) -> None:
    net = find(agreement, "NetPriceProductTradePrice")
    put(fields, "unit_price", decimal_field(text_of(net, "ChargeAmount")))
    gross = text_of(agreement, "GrossPriceProductTradePrice/ChargeAmount")
    put(fields, "gross_unit_price", decimal_field(gross))
    basis = decimal_field(text_of(net, "BasisQuantity"))
    if basis is not None and basis.value != 1:
        put(fields, "price_basis_quantity", basis)


def _language(root: Element, dialect: Dialect, lines: tuple[LineItem, ...]) -> str:
    document = find(root, dialect.document)
    declared = text_of(document, "LanguageID")
    if declared:
        return declared.split("-")[0].casefold()
    texts = [n.text or "" for n in find_all(document, "IncludedNote/Content")]
    names = [str(li.fields["description"].value) for li in lines if "description" in li.fields]
    agreement = find(find(root, dialect.transaction), dialect.agreement)
    terms = find_all(find(find(root, dialect.transaction), dialect.settlement), "SpecifiedTradePaymentTerms")
    texts += [text_of(t, "Description") or "" for t in terms]
    countries = (text_of(agreement, f"{party}/PostalTradeAddress/CountryID")
                 for party in ("SellerTradeParty", "BuyerTradeParty"))
    return guess_language(texts, *countries, item_names=names)

