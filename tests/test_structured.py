"""Tests for extractors.structured (e-invoice XML -> Extraction, located in print) and the PDF reader's
`embedded_invoice_xml`.

The ground truth is shared/realdocs (ZUGFeRD / Factur-X corpus and the OFD e-invoice XML); those tests are
skipped when the shared folder is absent.  Layouts of the corpus PDFs are built here straight from the
pypdfium2 text layer, so these tests do not depend on the PDF reader in extractors/.
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from extractors import pdf_text
from extractors.errors import CorruptFile, UnsafeContent
from extractors.layout import BBox, Layout, Line, Page, Word, group_words_into_lines
from extractors.result import DocumentType, Extraction, Field, LineItem, Severity
from extractors.pdf_text import embedded_invoice_xml
from extractors.structured import locate_in_layout, parse_invoice_xml

REALDOCS = Path(__file__).resolve().parents[2] / "shared" / "realdocs"
ZUGFERD = REALDOCS / "zugferd_corpus"
OFD_XML = REALDOCS / "ofdrw_ofd_einvoices" / "ofd_fapiao_shili.source.xml"
UBL_FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ubl" / "minimal_invoice.xml"

needs_realdocs = pytest.mark.skipif(not ZUGFERD.is_dir(), reason="shared/realdocs not available")
CORPUS_PDFS = sorted(ZUGFERD.glob("*.pdf")) if ZUGFERD.is_dir() else []
GT_SOURCES = (sorted(ZUGFERD.glob("*.source.xml")) + ([OFD_XML] if OFD_XML.is_file() else [])
              if ZUGFERD.is_dir() else [])


# --------------------------------------------------------------------------- helpers

def _same(got: object, expected: str) -> bool:
    """Decimals compared as Decimal, dates as ISO strings, text casefolded with whitespace collapsed."""
    if isinstance(got, Decimal):
        return got == Decimal(expected)
    if isinstance(got, date):
        return got.isoformat() == expected
    return " ".join(str(got).split()).casefold() == " ".join(expected.split()).casefold()


def _ground_truth(source_xml: Path) -> dict:
    return json.loads(source_xml.with_name(source_xml.name.replace(".source.xml", ".json")).read_text("utf-8"))


def _gt_differences(extraction: Extraction, gt: dict) -> list[str]:
    """Every GT field and line field that the extraction does not reproduce."""
    bad = [f"{k}: want {v!r}, got {extraction.fields[k].value if k in extraction.fields else None!r}"
           for k, v in gt["fields"].items()
           if k not in extraction.fields or not _same(extraction.fields[k].value, v)]
    if not gt.get("gt_meta", {}).get("lines_annotated", True):
        return bad
    lines = {li.line_no: li for li in extraction.lines}
    if len(lines) != len(gt["lines"]):
        bad.append(f"{len(lines)} lines, want {len(gt['lines'])}")
    for gl in gt["lines"]:
        line = lines.get(gl["line_no"])
        for k, v in gl.items():
            if k != "line_no" and (line is None or k not in line.fields or not _same(line.fields[k].value, v)):
                bad.append(f"line {gl['line_no']} {k}: want {v!r}")
    return bad


def _pdf_layout(data: bytes) -> Layout:
    """Words from the pypdfium2 text layer (split at spaces and gaps), grouped into lines."""
    pdf = pdfium.PdfDocument(data)
    try:
        pages = tuple(_pdf_page(pdf[i], i + 1) for i in range(len(pdf)))
    finally:
        pdf.close()
    return Layout(pages=pages, source="text-layer")


def _pdf_page(page: pdfium.PdfPage, number: int) -> Page:
    textpage, height = page.get_textpage(), page.get_height()
    words: list[Word] = []
    text, box = "", None
    for i in range(textpage.count_chars()):
        ch = textpage.get_text_range(i, 1)
        left, bottom, right, top = textpage.get_charbox(i)
        char_box = BBox(left, height - top, right, height - bottom)
        breaks = box is not None and (abs(char_box.cy - box.cy) > 0.8 * max(box.height, char_box.height)
                                      or char_box.x0 - box.x1 > max(box.height, char_box.height) * 0.6)
        if (not ch.strip() or breaks) and text:
            words.append(Word(text, box))
            text, box = "", None
        if ch.strip():
            text, box = text + ch, char_box if box is None else box.union(char_box)
    if text:
        words.append(Word(text, box))
    lines = group_words_into_lines(words) if words else ()
    return Page(number=number, width=page.get_width(), height=height, lines=lines)


def _hand_layout(rows: list[list[tuple[str, float]]], *, y0: float = 100.0) -> Layout:
    """A one-page layout: each row is a list of (text, x) words, 20 pt apart vertically."""
    lines = []
    for r, row in enumerate(rows):
        y = y0 + 20 * r
        lines.append(Line(tuple(Word(t, BBox(x, y, x + 6 * len(t), y + 10)) for t, x in row)))
    return Layout(pages=(Page(number=1, width=595, height=842, lines=tuple(lines)),), source="test")


def _extraction(**values: object) -> Extraction:
    fields = {k: Field(v, str(v), 1.0) for k, v in values.items()}
    return Extraction(document_type=DocumentType.INVOICE, language="de", fields=fields, lines=())


# --------------------------------------------------------------------------- ground truth

@needs_realdocs
@pytest.mark.parametrize("pdf_path", CORPUS_PDFS, ids=lambda p: p.stem)
def test_embedded_xml_is_found_in_every_corpus_pdf(pdf_path: Path) -> None:
    found = embedded_invoice_xml(pdf_path.read_bytes())
    assert found is not None
    name, xml = found
    assert name.casefold() in pdf_text.KNOWN_ATTACHMENT_NAMES
    assert xml == pdf_path.with_suffix(".source.xml").read_bytes()


@needs_realdocs
@pytest.mark.parametrize("pdf_path", CORPUS_PDFS, ids=lambda p: p.stem)
def test_embedded_xml_maps_to_ground_truth(pdf_path: Path) -> None:
    _name, xml = embedded_invoice_xml(pdf_path.read_bytes()) or ("", b"")
    extraction = parse_invoice_xml(xml)
    assert extraction is not None
    gt = _ground_truth(pdf_path.with_suffix(".source.xml"))
    assert _gt_differences(extraction, gt) == []
    assert extraction.document_type == DocumentType(gt["document_type"])
    assert all(f.confidence == 1.0 for f in extraction.fields.values())


@needs_realdocs
@pytest.mark.parametrize("source_xml", GT_SOURCES, ids=lambda p: p.name.replace(".source.xml", ""))
def test_source_xml_maps_to_ground_truth(source_xml: Path) -> None:
    extraction = parse_invoice_xml(source_xml.read_bytes())
    assert extraction is not None
    gt = _ground_truth(source_xml)
    assert _gt_differences(extraction, gt) == []
    assert extraction.language == gt["language"]


@pytest.mark.skipif(not OFD_XML.is_file(), reason="shared/realdocs not available")
def test_fapiao_xml_is_a_vat_invoice_in_chinese() -> None:
    extraction = parse_invoice_xml(OFD_XML.read_bytes())
    assert extraction is not None
    assert extraction.document_type is DocumentType.VAT_INVOICE
    assert extraction.language == "zh"
    assert extraction.fields["document_date"].value == date(2020, 10, 10)
    assert extraction.lines[0].fields["tax_rate"].value == Decimal("0.06")


@needs_realdocs
def test_credit_note_gets_an_info_issue() -> None:
    credit = parse_invoice_xml((ZUGFERD / "FNFE_Avoir_FR_type381_BASIC.source.xml").read_bytes())
    invoice = parse_invoice_xml((ZUGFERD / "FX_EN16931_Einfach.source.xml").read_bytes())
    assert credit is not None and invoice is not None
    assert [(i.code, i.severity) for i in credit.issues] == [("credit_note", Severity.INFO)]
    assert invoice.issues == ()


# --------------------------------------------------------------------------- safety

XXE = (b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
       b'<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100">'
       b'&x;</rsm:CrossIndustryInvoice>')
BILLION_LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
                  b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
                  b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">'
                  b'<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>\n'
                  b'<lolz>&lol4;</lolz>')


@pytest.mark.parametrize("xml", [XXE, BILLION_LAUGHS], ids=["xxe", "billion_laughs"])
def test_dtd_and_entities_are_refused(xml: bytes) -> None:
    with pytest.raises(UnsafeContent) as caught:
        parse_invoice_xml(xml)
    assert caught.value.code == "unsafe_xml"


@pytest.mark.parametrize("xml", [b"<Invoice><cbc:ID>1</Invoice>", b"", b"not xml at all"])
def test_malformed_xml_is_a_corrupt_file(xml: bytes) -> None:
    with pytest.raises(CorruptFile):
        parse_invoice_xml(xml)


def test_other_xml_is_not_an_invoice() -> None:
    assert parse_invoice_xml(b'<?xml version="1.0"?><order xmlns="urn:example"><id>1</id></order>') is None


# --------------------------------------------------------------------------- UBL

def test_minimal_ubl_invoice_parses() -> None:
    extraction = parse_invoice_xml(UBL_FIXTURE.read_bytes())
    assert extraction is not None
    f = {k: v.value for k, v in extraction.fields.items()}
    assert f["document_number"] == "INV-2024-0042"
    assert f["document_date"] == date(2024, 5, 17) and f["due_date"] == date(2024, 6, 16)
    assert f["supplier_name"] == "Example Supplies GmbH" and f["supplier_tax_id"] == "DE123456789"
    assert f["supplier_address"] == "Hauptstraße 1, 10115, Berlin, DE"
    assert f["buyer_name"] == "Buyer Trading AG"
    assert (f["po_number"], f["delivery_note_number"], f["currency"]) == ("PO-7781", "DN-5512", "EUR")
    assert (f["subtotal"], f["tax_amount"], f["total_amount"]) == (Decimal("125.00"), Decimal("23.75"),
                                                                 Decimal("148.75"))
    assert f["supplier_bank_account"] == "DE02120300000000202051"
    first = {k: v.value for k, v in extraction.lines[0].fields.items()}
    assert first["description"] == "Copy paper A4" and first["supplier_sku"] == "CP-A4-500"
    assert first["barcode"] == "4012345000016" and first["unit_code"] == "H87"
    assert (first["quantity"], first["unit_price"], first["amount"], first["tax_rate"]) == (
        Decimal("10"), Decimal("10.00"), Decimal("100.00"), Decimal("0.19"))
    assert len(extraction.lines) == 2 and extraction.issues == ()


def test_ubl_credit_note_gets_an_info_issue() -> None:
    xml = (UBL_FIXTURE.read_text("utf-8")
           .replace("xsd:Invoice-2", "xsd:CreditNote-2").replace("<Invoice ", "<CreditNote ")
           .replace("</Invoice>", "</CreditNote>").replace("InvoiceTypeCode>380", "CreditNoteTypeCode>381")
           .replace("InvoiceTypeCode>", "CreditNoteTypeCode>").replace("InvoiceLine>", "CreditNoteLine>")
           .replace("InvoicedQuantity", "CreditedQuantity"))
    extraction = parse_invoice_xml(xml.encode("utf-8"))
    assert extraction is not None
    assert [i.code for i in extraction.issues] == ["credit_note"]
    assert extraction.lines[1].fields["quantity"].value == Decimal("5")


# --------------------------------------------------------------------------- PDF attachments

def _pdf_with_attachments(files: dict[str, bytes]) -> bytes:
    pdf = pdfium.PdfDocument.new()
    pdf.new_page(595, 842)
    for name, data in files.items():
        pdf.new_attachment(name).set_data(data)
    buffer = io.BytesIO()
    pdf.save(buffer)
    pdf.close()
    return buffer.getvalue()


def test_pdf_without_invoice_attachment_gives_none() -> None:
    assert embedded_invoice_xml(_pdf_with_attachments({})) is None
    assert embedded_invoice_xml(_pdf_with_attachments({"notes.xml": b"<notes/>"})) is None


def test_any_xml_attachment_with_an_invoice_root_is_found() -> None:
    ubl = UBL_FIXTURE.read_bytes()
    found = embedded_invoice_xml(_pdf_with_attachments({"notes.xml": b"<notes/>", "rechnung_42.xml": ubl}))
    assert found == ("rechnung_42.xml", ubl)


def test_oversized_attachments_are_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    pdf = _pdf_with_attachments({"factur-x.xml": UBL_FIXTURE.read_bytes()})
    monkeypatch.setattr(pdf_text, "MAX_XML_ATTACHMENT_BYTES", 100)
    assert embedded_invoice_xml(pdf) is None


def test_non_pdf_bytes_are_a_corrupt_file() -> None:
    with pytest.raises(CorruptFile):
        embedded_invoice_xml(b"this is not a PDF")


# --------------------------------------------------------------------------- locating in print

@needs_realdocs
@pytest.mark.parametrize("pdf_path", CORPUS_PDFS, ids=lambda p: p.stem)
def test_corpus_values_are_located_without_false_mismatches(pdf_path: Path) -> None:
    data = pdf_path.read_bytes()
    extraction = parse_invoice_xml((embedded_invoice_xml(data) or ("", b""))[1])
    assert extraction is not None
    located = locate_in_layout(extraction, _pdf_layout(data))
    assert [i for i in located.issues if i.code == "embedded_data_mismatch"] == []
    number = located.fields["document_number"]
    assert number.page >= 1 and number.bbox is not None
    assert located.fields["total_amount"].bbox is not None
    assert {k: f.value for k, f in located.fields.items()} == {k: f.value for k, f in extraction.fields.items()}


@needs_realdocs
def test_changed_total_is_reported_as_mismatch() -> None:
    data = (ZUGFERD / "FX_EN16931_Einfach.pdf").read_bytes()
    extraction = parse_invoice_xml((ZUGFERD / "FX_EN16931_Einfach.source.xml").read_bytes())
    assert extraction is not None
    total = extraction.fields["total_amount"]
    changed = replace(extraction, fields={**extraction.fields,
                                          "total_amount": replace(total, value=Decimal("531.00"))})
    issues = locate_in_layout(changed, _pdf_layout(data)).issues
    assert [(i.code, i.severity, i.field) for i in issues] == [
        ("embedded_data_mismatch", Severity.WARNING, "total_amount")]


@needs_realdocs
def test_locating_is_fast() -> None:
    data = (ZUGFERD / "intarsys_2p0_EXTENDED_Warenrechnung.pdf").read_bytes()
    extraction = parse_invoice_xml((ZUGFERD / "intarsys_2p0_EXTENDED_Warenrechnung.source.xml").read_bytes())
    layout = _pdf_layout(data)
    assert extraction is not None
    start = time.perf_counter()
    located = locate_in_layout(extraction, layout)
    assert time.perf_counter() - start < 0.25
    assert sum(f.bbox is not None for li in located.lines for f in li.fields.values()) >= 40


def test_printed_variants_are_matched_in_a_hand_made_layout() -> None:
    layout = _hand_layout([
        [("Rechnung", 50), ("Nr.", 120), ("RE-2024/17", 150), ("vom", 230), ("05.03.2024", 260)],
        [("USt-IdNr.:DE123456789", 50)],
        [("Lieferant", 50), ("GmbH", 110)],
        [("Gesamtbetrag:", 50), ("1.234,50", 300), ("€", 360)],
    ])
    extraction = _extraction(document_number="RE-2024/17", document_date=date(2024, 3, 5),
                             supplier_tax_id="DE123456789", supplier_name="Lieferant GmbH",
                             total_amount=Decimal("1234.5"), currency="EUR")
    located = locate_in_layout(extraction, layout)
    f = located.fields
    assert f["document_number"].bbox == BBox(150, 100, 150 + 6 * 10, 110) and f["document_number"].page == 1
    assert f["document_date"].bbox is not None and f["document_date"].bbox.x0 == 260
    assert f["supplier_tax_id"].bbox is not None
    assert f["supplier_name"].bbox == BBox(50, 140, 110 + 6 * 4, 150)
    assert f["total_amount"].bbox is not None and f["total_amount"].bbox.x0 == 300
    assert f["currency"].bbox is None and f["currency"].page == 0
    assert located.issues == ()


def test_total_printed_differently_gives_a_warning() -> None:
    layout = _hand_layout([[("Gesamtbetrag:", 50), ("999,99", 300), ("EUR", 350)]])
    located = locate_in_layout(_extraction(total_amount=Decimal("529.87")), layout)
    assert [(i.code, i.field) for i in located.issues] == [("embedded_data_mismatch", "total_amount")]
    assert located.fields["total_amount"].bbox is None
    again = locate_in_layout(located, layout)
    assert len(again.issues) == 1


def test_unlabelled_missing_total_gives_no_warning() -> None:
    layout = _hand_layout([[("Positionen", 50), ("999,99", 300)]])
    assert locate_in_layout(_extraction(total_amount=Decimal("529.87")), layout).issues == ()


def test_chinese_values_and_lines_are_located() -> None:
    layout = _hand_layout([
        [("开票日期:", 50), ("2020年10月10日", 120)],
        [("*餐饮服务*餐费", 50), ("次", 200), ("4", 240), ("25", 280), ("100.00", 320), ("6%", 380), ("6.00", 420)],
        [("*餐饮服务*餐费", 50), ("次", 200), ("4", 240), ("25", 280), ("100.00", 320), ("6%", 380), ("6.00", 420)],
        [("价税合计（小写）", 50), ("¥318.00", 300)],
        [("北京海淀区西钓鱼台", 50), ("嘉园北门13392342520", 160)],
    ])
    line_fields = {"description": Field("*餐饮服务*餐费", "", 1.0), "quantity": Field(Decimal("4"), "4", 1.0),
                   "amount": Field(Decimal("100.00"), "100.00", 1.0),
                   "tax_rate": Field(Decimal("0.06"), "6%", 1.0)}
    extraction = replace(_extraction(document_date=date(2020, 10, 10), total_amount=Decimal("318.00"),
                                     buyer_address_phone="北京海淀区西钓鱼台嘉园北门13392342520"),
                         lines=(LineItem(1, line_fields), LineItem(2, line_fields)))
    located = locate_in_layout(extraction, layout)
    assert located.fields["document_date"].bbox is not None
    assert located.fields["total_amount"].bbox is not None and located.fields["total_amount"].bbox.x0 == 300
    assert located.fields["buyer_address_phone"].bbox == BBox(50, 180, 160 + 6 * 15, 190)
    rows = [{k: f.bbox.y0 for k, f in li.fields.items() if f.bbox is not None} for li in located.lines]
    assert rows == [dict.fromkeys(line_fields, 120.0), dict.fromkeys(line_fields, 140.0)]
    assert located.issues == ()


@pytest.mark.skipif(not OFD_XML.is_file(), reason="shared/realdocs not available")
def test_fapiao_values_are_located_in_the_ofd_page() -> None:
    ofd = pytest.importorskip("extractors.ofd")
    from extractors.options import ReadOptions
    layout = ofd.read_ofd(OFD_XML.with_name("ofd_fapiao_shili.ofd").read_bytes(), ReadOptions())
    extraction = parse_invoice_xml(OFD_XML.read_bytes())
    assert extraction is not None
    located = locate_in_layout(extraction, layout)
    assert [k for k, f in located.fields.items() if f.bbox is None] == ["currency"]  # printed as ¥ only
    assert all(f.bbox is not None for li in located.lines for f in li.fields.values())
    tax_rate, tax_amount = (located.lines[0].fields[k].bbox for k in ("tax_rate", "tax_amount"))
    assert tax_rate is not None and tax_amount is not None and tax_rate.x1 < tax_amount.x0
    assert located.issues == ()
