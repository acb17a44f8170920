"""The OCR path end to end on scans of our synthetic invoices: a phone-photo-like JPEG, and an image-only
PDF (no text layer) that must be rasterised and OCRed page by page."""

from __future__ import annotations

import pytest

from extractors.extract import extract_document
from extractors.options import ReadOptions
from fixtures.make_scans import image_only_pdf
from fixtures.synth import demo_invoices, ground_truth, invoice_pdf, scanned
from pipeline.bench.evaluate import score_document
from tests.conftest import ROOT

KEY_FIELDS = ("document_number", "document_date", "due_date", "total_amount", "subtotal", "tax_amount",
              "supplier_tax_id", "supplier_bank_account", "supplier_name")


def _assert_reads_like_the_original(extraction, invoice) -> None:
    truth = ground_truth(invoice)
    doc = score_document("scan", truth, extraction)
    missed = [m for m in doc.misses if m.split(":")[0] in KEY_FIELDS]
    assert not missed, missed
    lines = doc.lines
    assert sum(t.tp for t in lines.values()) >= 0.8 * sum(t.tp + t.fn for t in lines.values()), doc.misses


def test_scanned_jpeg_reads_like_the_original():
    invoice = demo_invoices()[0]
    data = (ROOT / "fixtures" / "demo" / "RE-2026-0412-scan.jpg").read_bytes()
    extraction = extract_document(data, source="scan.jpg", options=ReadOptions())
    assert extraction.reader.startswith("PP-OCR") or "ppocr" in extraction.reader.lower()
    _assert_reads_like_the_original(extraction, invoice)
    total = extraction.fields["total_amount"]
    assert total.bbox is not None and total.page == 1 and 0 < total.confidence <= 1


@pytest.mark.parametrize("angle", [0.0, 180.0])
def test_image_only_pdf_is_rasterised_and_read(angle):
    invoice = demo_invoices()[1]
    jpeg = scanned(invoice_pdf(invoice), dpi=160, angle=angle + 1.0, noise=8, quality=70)
    pdf = image_only_pdf([jpeg], [(595.0, 842.0)])
    extraction = extract_document(pdf, source="scan.pdf", options=ReadOptions())
    assert "text-layer" not in extraction.reader
    _assert_reads_like_the_original(extraction, invoice)
    # boxes are in page points of the PDF page, inside it
    box = extraction.fields["document_number"].bbox
    assert 0 <= box.x0 < box.x1 <= 595 and 0 <= box.y0 < box.y1 <= 842
