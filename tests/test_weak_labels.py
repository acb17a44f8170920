"""Tests for fixtures.weak_labels: e-invoice XML values aligned to the printed words (issue 14, item 3).

The documents are made here: a page drawn with fpdf2 that prints most of fixtures/ubl/minimal_invoice.xml's
values, with that UBL attached as factur-x.xml through pypdfium2.  Tests on the real e-invoices of
../shared/realdocs are skipped when that folder is absent.
"""

from __future__ import annotations

import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import jsonschema
import pypdfium2 as pdfium
import pytest
from fpdf import FPDF

from extractors.layout import BBox, Layout, Line, Page, Word
from fixtures.weak_labels import Skip, align_document, collect_sources
from fixtures.weak_labels.__main__ import main
from fixtures.weak_labels.forms import printed_forms
from fixtures.weak_labels.search import find_hits, page_texts
from pipeline.bench.evaluate import documents_in
from tests.conftest import REALDOCS, needs_realdocs

UBL = (Path(__file__).resolve().parents[1] / "fixtures" / "ubl" / "minimal_invoice.xml").read_bytes()

# what the page prints, (x, baseline y) in points; not printed: the currency, PO-7781, DN-5512, the IBAN and
# line 1's barcode
_PRINT = [
    (50, 60, "Example Supplies GmbH"), (50, 75, "Hauptstraße 1"), (50, 90, "10115 Berlin"),
    (50, 105, "VAT ID: DE123456789"),
    (50, 150, "Buyer Trading AG"), (50, 165, "Marktplatz 5"), (50, 180, "20095 Hamburg"),
    (330, 150, "Invoice no.:"), (420, 150, "INV-2024-0042"),
    (330, 165, "Invoice date:"), (420, 165, "17.05.2024"),
    (330, 180, "Delivery date:"), (420, 180, "15.05.2024"),
    (330, 195, "Due date:"), (420, 195, "June 16, 2024"),
    (50, 240, "Pos"), (80, 240, "Item no."), (160, 240, "Description"), (330, 240, "Qty"),
    (370, 240, "Unit price"), (440, 240, "VAT"), (500, 240, "Amount"),
    (50, 260, "1"), (80, 260, "CP-A4-500"), (160, 260, "Copy paper A4"), (330, 260, "10"),
    (370, 260, "10,00"), (440, 260, "19 %"), (500, 260, "100,00"),
    (50, 280, "2"), (80, 280, "BP-BLUE"), (160, 280, "Ballpoint pen, blue"), (330, 280, "5"),
    (370, 280, "5,00"), (440, 280, "19 %"), (500, 280, "25,00"),
    (330, 320, "Net amount"), (500, 320, "125,00"),
    (330, 335, "VAT 19 %"), (500, 335, "23,75"),
    (330, 350, "Total"), (500, 350, "148,75"),
    (330, 365, "Amount due"), (500, 365, "148,75"),
    (50, 400, "Payment terms: Net 30 days"),
    (50, 800, "Example Supplies GmbH, thank you"),
]
_NOT_PRINTED = ["currency", "delivery_note_number", "po_number", "supplier_bank_account", "lines[1].barcode"]


def _page_pdf(texts: list[tuple[float, float, str]] = _PRINT) -> bytes:
    pdf = FPDF(unit="pt", format="A4")
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    for x, y, text in texts:
        pdf.text(x, y, text)
    return bytes(pdf.output())


def _with_attachments(pdf_bytes: bytes, files: dict[str, bytes]) -> bytes:
    pdf = pdfium.PdfDocument(pdf_bytes)
    for name, data in files.items():
        pdf.new_attachment(name).set_data(data)
    buffer = io.BytesIO()
    pdf.save(buffer)
    pdf.close()
    return buffer.getvalue()


@pytest.fixture(scope="module")
def invoice_pdf() -> bytes:
    return _with_attachments(_page_pdf(), {"factur-x.xml": UBL})


@pytest.fixture(scope="module")
def aligned(invoice_pdf):
    return align_document(invoice_pdf, source="made/acme_invoice.pdf")


def _labelled(words_json: dict) -> dict[str, list[tuple[str, int | None]]]:
    """label -> [(word text, line_no)] in reading order."""
    out: dict[str, list] = {}
    for page in words_json["pages"]:
        for w in page["words"]:
            if w["label"]:
                out.setdefault(w["label"], []).append((w["text"], w["line_no"]))
    return out


# --------------------------------------------------------------------------- labels

def test_header_values_label_the_words_that_print_them(aligned) -> None:
    labels = _labelled(aligned.words())
    assert labels["document_number"] == [("INV-2024-0042", None)]
    assert labels["document_date"] == [("17.05.2024", None)]
    assert labels["delivery_date"] == [("15.05.2024", None)]
    assert labels["due_date"] == [("June", None), ("16,", None), ("2024", None)]
    # a name printed again (the footer) labels both places; the ground truth keeps the first
    assert labels["supplier_name"] == [("Example", None), ("Supplies", None), ("GmbH", None),
                                       ("Example", None), ("Supplies", None), ("GmbH,", None)]
    assert aligned.truth("invoice.pdf")["fields"]["supplier_name"]["bbox"][1] < 60
    assert aligned.truth("invoice.pdf")["gt_meta"]["repeated_places_labelled"] == 1
    assert labels["supplier_tax_id"] == [("DE123456789", None)]
    # an address joined from XML parts ('Hauptstraße 1, 10115, Berlin, DE') is found over two printed lines
    assert labels["supplier_address"] == [("Hauptstraße", None), ("1", None), ("10115", None), ("Berlin", None)]
    assert labels["payment_terms"] == [("Net", None), ("30", None), ("days", None)]
    # an amount printed twice goes to the field whose label is printed next to it
    truth = aligned.truth("invoice.pdf")["fields"]
    assert truth["total_amount"]["bbox"][1] < truth["amount_due"]["bbox"][1]
    assert labels["total_amount"] == [("148,75", None)] and labels["amount_due"] == [("148,75", None)]
    assert labels["tax_amount"] == [("23,75", None)]
    # the label words carry nothing
    assert not any(text in {"Invoice", "Total", "Due", "date:", "VAT"} for v in labels.values() for text, _ in v)


def test_line_cells_are_labelled_on_their_own_rows(aligned) -> None:
    labels = _labelled(aligned.words())
    assert labels["line.description"] == [("Copy", 1), ("paper", 1), ("A4", 1),
                                          ("Ballpoint", 2), ("pen,", 2), ("blue", 2)]
    assert labels["line.supplier_sku"] == [("CP-A4-500", 1), ("BP-BLUE", 2)]
    assert labels["line.quantity"] == [("10", 1), ("5", 2)]
    assert labels["line.unit_price"] == [("10,00", 1), ("5,00", 2)]
    assert labels["line.amount"] == [("100,00", 1), ("25,00", 2)]
    assert labels["line.tax_rate"] == [("19", 1), ("%", 1), ("19", 2), ("%", 2)]   # not the '19 %' of the totals
    assert labels["line.printed_line_id"] == [("1", 1), ("2", 2)]


def test_ground_truth_holds_the_printed_values_with_raw_text_and_boxes(aligned, schema) -> None:
    truth = aligned.truth("invoice.pdf")
    jsonschema.validate(truth, schema)
    number = truth["fields"]["document_number"]
    assert number == {"value": "INV-2024-0042", "raw": "INV-2024-0042", "page": 1, "bbox": number["bbox"]}
    words = {w["text"]: w["bbox"] for w in aligned.words()["pages"][0]["words"]}
    assert number["bbox"] == words["INV-2024-0042"]
    x0, y0, x1, y1 = number["bbox"]
    assert 419 <= x0 < x1 < 520 and 140 <= y0 < y1 <= 153       # printed at (420, baseline 150), 10 pt
    assert truth["fields"]["due_date"]["value"] == "2024-06-16"
    assert truth["fields"]["due_date"]["raw"] == "June 16, 2024"
    assert truth["fields"]["total_amount"]["value"] == "148.75"
    line1 = truth["lines"][0]
    assert line1["line_no"] == 1 and line1["tax_rate"]["value"] == "0.19" and line1["tax_rate"]["raw"] == "19 %"
    assert truth["document_type"] == "invoice" and truth["issues"] == []


def test_values_not_printed_are_left_out_and_counted(aligned) -> None:
    truth = aligned.truth("invoice.pdf")
    meta = truth["gt_meta"]
    for name in ("currency", "po_number", "delivery_note_number", "supplier_bank_account"):
        assert name not in truth["fields"]
    assert "barcode" not in truth["lines"][0]
    assert sorted(meta["not_found_in_print"]) == sorted(_NOT_PRINTED)
    assert meta["values_in_xml"] == 34 and meta["values_found"] == 29       # unit codes are not looked for
    assert meta["coverage"] == round(29 / 34, 4)
    assert meta["generator"] == "weak-xml" and meta["source"] == "made/acme_invoice.pdf"
    assert meta["family"] == "acme"           # no Creator/Producer left after pypdfium2 saved it: the name's prefix
    assert meta["lines_annotated"] is True
    assert {"description", "quantity", "unit_price", "amount", "tax_rate"} <= set(meta["line_fields_annotated"])
    assert "barcode" not in meta["line_fields_annotated"]
    found, missing = aligned.counts()
    assert missing["currency"] == 1 and missing["line.barcode"] == 1 and found["line.amount"] == 2


def test_words_json_has_every_printed_word_in_the_shared_shape(aligned) -> None:
    data = aligned.words()
    assert list(data) == ["pages"]
    page = data["pages"][0]
    assert set(page) == {"number", "width", "height", "words"}
    assert (page["number"], page["width"], page["height"]) == (1, 595.28, 841.89)
    assert len(page["words"]) == sum(len(t.split()) for _x, _y, t in _PRINT)
    for w in page["words"]:
        assert set(w) == {"text", "bbox", "label", "line_no"}
        assert len(w["bbox"]) == 4 and w["bbox"][0] < w["bbox"][2] and w["bbox"][1] < w["bbox"][3]
        assert (w["line_no"] is None) == (w["label"] is None or not w["label"].startswith("line."))


# --------------------------------------------------------------------------- printed forms, loose text

def _layout(*rows: tuple[float, float, str]) -> Layout:
    lines = []
    for x, y, text in rows:
        words, cursor = [], x
        for part in text.split():
            words.append(Word(part, BBox(cursor, y, cursor + 6 * len(part), y + 10)))
            cursor += 6 * len(part) + 4
        lines.append(Line(tuple(words)))
    return Layout(pages=(Page(1, 595, 842, tuple(lines)),), source="test")


def _found(name: str, value, layout: Layout) -> list[list[str]]:
    pages = page_texts(layout.pages)
    return [[pages[0].words[w].text for w in h.words(pages)] for h in find_hits(printed_forms(name, value), pages)]


@pytest.mark.parametrize(("value", "printed"), [
    (Decimal("1234.5"), "1.234,50"), (Decimal("1234.5"), "1,234.50"), (Decimal("1234.5"), "1 234,50"),
    (Decimal("20.0000"), "20"), (Decimal("529.87"), "-529,87"), (Decimal("529.87"), "EUR529,87"),
])
def test_amounts_are_found_in_their_printed_forms(value, printed) -> None:
    assert _found("total_amount", value, _layout((10, 10, f"Summe {printed}"))) == [printed.split()]


@pytest.mark.parametrize("printed", ["05.03.2018", "2018-03-05", "2018年3月5日", "March 5, 2018",
                                     "5. März 2018", "05/03/2018"])
def test_dates_are_found_in_their_printed_forms(printed) -> None:
    assert _found("document_date", date(2018, 3, 5), _layout((10, 10, f"Datum: {printed}"))) == [printed.split()]


def test_rates_are_percentages_and_numbers_stand_apart() -> None:
    layout = _layout((10, 10, "MwSt 19,00% 19,25 119"))
    assert _found("tax_rate", Decimal("0.19"), layout) == [["19,00%"]]


def test_text_is_found_case_folded_split_differently_or_glued_and_wrapped() -> None:
    assert _found("supplier_tax_id", "DE123456789", _layout((10, 10, "USt-IdNr: DE 123 456 789"))) == \
        [["DE", "123", "456", "789"]]
    assert _found("document_number", "RE-4711", _layout((10, 10, "Rechnung Nr.:RE-4711"))) == [["Nr.:RE-4711"]]
    assert _found("supplier_name", "Lieferant GmbH", _layout((10, 10, "LIEFERANT GMBH"))) == [["LIEFERANT", "GMBH"]]
    # the XML's parts in another order, one glued to the next, over two lines, a column printed beside them
    address = _layout((10, 100, "Bahnstr. 42"), (300, 100, "phone 555 23"), (10, 114, "88802Spielkreis"),
                      (300, 114, "info@example.com"))
    assert _found("buyer_address", "Bahnstr. 42, 88802, Spielkreis, DE", address)[0] == \
        ["Bahnstr.", "42", "88802Spielkreis"]


# --------------------------------------------------------------------------- skipped documents

def test_documents_without_good_xml_are_skipped_with_their_reason(bad_inputs) -> None:
    page = _page_pdf()
    cases = {
        "no_xml": page,
        "not_invoice_xml": _with_attachments(page, {"factur-x.xml": b"<notes><note>hello</note></notes>"}),
        "broken_xml": _with_attachments(page, {"factur-x.xml": UBL[: len(UBL) // 2]}),
        "encrypted_document": bad_inputs["user-password.pdf"].read_bytes(),
        "corrupt_file": bad_inputs["garbage.pdf"].read_bytes(),
        "empty_file": b"",
        "not_pdf_or_ofd": b"just some text, not a document\n" * 10,
    }
    for reason, data in cases.items():
        with pytest.raises(Skip) as caught:
            align_document(data, source="x.pdf")
        assert caught.value.reason == reason


def test_the_command_writes_labelled_documents_skips_the_rest_and_is_deterministic(
        tmp_path, invoice_pdf, bad_inputs, capsys) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "acme_invoice.pdf").write_bytes(invoice_pdf)
    (src / "plain.pdf").write_bytes(_page_pdf())
    (src / "locked.pdf").write_bytes(bad_inputs["user-password.pdf"].read_bytes())
    (src / "notes.txt").write_text("not a document")
    out = tmp_path / "out"

    assert main([str(src), str(out), "--quiet"]) == 0
    summary = capsys.readouterr().out
    assert "documents seen: 3" in summary and "labelled: 1" in summary
    assert "no_xml: 1" in summary and "encrypted_document: 1" in summary
    assert "currency" in summary and "line.barcode" in summary
    assert sorted(p.name for p in out.iterdir()) == ["acme_invoice.json", "acme_invoice.pdf",
                                                     "acme_invoice.words.json"]
    assert (out / "acme_invoice.pdf").read_bytes() == invoice_pdf
    truth = json.loads((out / "acme_invoice.json").read_text(encoding="utf-8"))
    assert truth["gt_meta"]["source"] == "src/sub/acme_invoice.pdf" and truth["source"] == "acme_invoice.pdf"
    assert json.loads((out / "acme_invoice.words.json").read_text(encoding="utf-8")) == \
        align_document(invoice_pdf, source="src/sub/acme_invoice.pdf").words()
    assert [(d.name, g.name) for d, g in documents_in(out)] == [("acme_invoice.pdf", "acme_invoice.json")]

    first = {p.name: p.read_bytes() for p in out.iterdir()}
    assert main([str(src), str(out), "--quiet"]) == 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first

    # raised above its coverage, the document is skipped and its earlier labels are removed
    assert main([str(src), str(out), "--quiet", "--min-coverage", "0.95"]) == 0
    assert "low_coverage: 1" in capsys.readouterr().out
    assert not (out / "acme_invoice.json").exists() and not (out / "acme_invoice.words.json").exists()


def test_an_output_folder_holding_the_sources_is_refused(tmp_path, invoice_pdf) -> None:
    (tmp_path / "a.pdf").write_bytes(invoice_pdf)
    with pytest.raises(ValueError, match="holds source documents"):
        collect_sources([tmp_path], tmp_path)
    with pytest.raises(SystemExit):
        main([str(tmp_path), str(tmp_path), "--quiet"])


def test_repeated_file_names_get_unique_output_names(tmp_path, invoice_pdf) -> None:
    for folder in ("a", "b"):
        (tmp_path / "src" / folder).mkdir(parents=True)
        (tmp_path / "src" / folder / "inv.pdf").write_bytes(invoice_pdf)
    names = [s.name for s in collect_sources([tmp_path / "src"], tmp_path / "out")]
    assert names == ["src__a__inv", "src__b__inv"]


# --------------------------------------------------------------------------- real e-invoices

@needs_realdocs("zugferd_corpus")
def test_a_factur_x_invoice_is_labelled_completely() -> None:
    path = REALDOCS / "zugferd_corpus" / "FX_EN16931_Einfach.pdf"
    aligned = align_document(path.read_bytes(), source="zugferd_corpus/FX_EN16931_Einfach.pdf")
    truth = aligned.truth(path.name)
    assert truth["gt_meta"]["coverage"] == 1.0 and truth["gt_meta"]["family"] == "intarsys ZUGFeRD Toolkit"
    labels = _labelled(aligned.words())
    assert labels["document_number"] == [("471102", None)]
    assert labels["delivery_date"] == [("05.03.2018", None)]       # the 'Liefer- und Leistungsdatum' row
    assert truth["fields"]["delivery_date"]["bbox"][1] > truth["fields"]["document_date"]["bbox"][1]
    assert labels["supplier_address"] == [("Lieferantenstraße", None), ("20", None), ("DE", None),
                                          ("80333", None), ("München", None)]
    assert labels["line.tax_rate"] == [("19", 1), ("%", 1), ("7", 2), ("%", 2)]
    assert truth["fields"]["total_amount"]["page"] == 2


@needs_realdocs("ofdrw_ofd_einvoices")
def test_an_ofd_e_invoice_is_labelled_from_its_attached_xml() -> None:
    path = REALDOCS / "ofdrw_ofd_einvoices" / "ofd_fapiao_shili.ofd"
    aligned = align_document(path.read_bytes(), source="ofdrw_ofd_einvoices/ofd_fapiao_shili.ofd")
    truth = aligned.truth("ofd_fapiao_shili.ofd")
    assert aligned.suffix == ".ofd" and aligned.xml_name == "original_invoice.xml"
    assert truth["document_type"] == "vat_invoice" and truth["gt_meta"]["coverage"] > 0.9
    labels = _labelled(aligned.words())
    assert labels["check_code"] == [("14754", None), ("82292", None), ("98567", None), ("72523", None)]
    assert labels["document_date"] == [("2020年10月10日", None)]
    assert [n for _t, n in labels["line.amount"]] == [1, 2, 3]     # three identical lines, one row each
    assert truth["fields"]["total_amount"]["raw"] == "¥318.00"


def test_an_output_folder_inside_a_source_folder_is_left_out_of_the_sources(tmp_path, invoice_pdf) -> None:
    (tmp_path / "inv.pdf").write_bytes(invoice_pdf)
    out = tmp_path / "labels"
    assert main([str(tmp_path), str(out), "--quiet"]) == 0
    assert (out / "inv.pdf").exists()
    assert [s.relative for s in collect_sources([tmp_path], out)] == [f"{tmp_path.name}/inv.pdf"]
