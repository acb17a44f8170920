"""Receipt rules on hand-made till rolls (the real SROIE receipts are measured in test_realdocs)."""

from __future__ import annotations

from decimal import Decimal

from extractors.extract import extract_from_layout
from extractors.layout import BBox, Layout, Line, Page, Word
from extractors.receipt import canonical_legal_form


def _till(*rows: str) -> Layout:
    lines = []
    for i, row in enumerate(rows):
        words, x = [], 20.0
        for token in row.split():
            words.append(Word(token, BBox(x, 30 + 22 * i, x + 7 * len(token), 44 + 22 * i)))
            x += 7 * len(token) + 6
        lines.append(Line(tuple(words)))
    return Layout((Page(1, 300, 1100, tuple(lines), source="ppocr:test"),), "ppocr:test")


def test_shop_name_address_date_and_total_of_a_till_roll():
    layout = _till("TAN AH KOW", "KEDAI RUNCIT MAJU SDN BHD", "(123456-X)", "GST ID: 000123456789",
                   "NO 12, JALAN BESAR,", "43000 KAJANG, SELANGOR", "TEL: 03-8733 1234", "TAX INVOICE",
                   "Date: 05/03/2018 10:11", "SUGAR 1KG 2.90", "RICE 5KG 15.50", "Total Excl. GST: 17.36",
                   "GST 6%: 1.04", "Rounding Adj: 0.00", "Total Incl. GST: 18.40", "CASH 20.00", "CHANGE 1.60",
                   "THANK YOU")
    ex = extract_from_layout(layout)
    assert ex.document_type == "receipt"
    values = {k: f.value for k, f in ex.fields.items()}
    assert values["supplier_name"] == "KEDAI RUNCIT MAJU SDN BHD"
    assert values["supplier_address"] == "NO 12, JALAN BESAR, 43000 KAJANG, SELANGOR"
    assert str(values["document_date"]) == "2018-03-05"
    assert values["total_amount"] == Decimal("18.40")


def test_a_legal_form_alone_on_its_row_takes_the_row_above():
    layout = _till("LIAN CHI PU TIAN VEGETARIAN", "RESTAURANT SDN BHD", "(1095514-X)", "54,JALAN SS23/11.",
                   "TEL: 03-7805 7889", "CASH 10.00")
    assert extract_from_layout(layout).fields["supplier_name"].value == \
        "LIAN CHI PU TIAN VEGETARIAN RESTAURANT SDN BHD"


def test_ocr_confusions_in_legal_forms():
    assert canonical_legal_form("RAPID RAIL SUN BHD") == "RAPID RAIL SDN BHD"
    assert canonical_legal_form("99 SPEED MART 5/8") == "99 SPEED MART S/B"
    assert canonical_legal_form("BEMED (SP) SDN. BHD.") == "BEMED (SP) SDN BHD"
    assert canonical_legal_form("SUNWAY HOTEL") == "SUNWAY HOTEL"
