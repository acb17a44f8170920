"""VAT invoice parties when their labels are lost (a seal over them, OCR misreading them), and OCR
boxes that hold texts stacked one above the other."""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import pytest

from extractors.layout import Layout, Line
from extractors.ocr import _stack_gaps
from fixtures import synth_cn

needs_font = pytest.mark.skipif(not synth_cn.font_available(), reason="fonts-wqy-microhei not installed")


def _digital_invoice() -> synth_cn.CnInvoice:
    rng = random.Random(20)
    while True:
        inv = synth_cn.random_vat_invoice(rng)
        if inv.digital:
            return inv


def _without_words(layout: Layout, drop) -> Layout:
    pages = []
    for page in layout.pages:
        kept = [tuple(w for w in ln.words if not drop(w)) for ln in page.lines]
        pages.append(replace(page, lines=tuple(Line(words) for words in kept if words)))
    return replace(layout, pages=tuple(pages))


@needs_font
def test_the_sellers_tax_id_is_found_when_its_label_is_lost():
    from extractors.extract import extract_from_layout
    from extractors.options import ReadOptions
    from extractors.reader import read_document
    inv = _digital_invoice()
    layout = read_document(synth_cn.vat_invoice_pdf(inv), ReadOptions()).layout
    labels = sorted((w for p in layout.pages for ln in p.lines for w in ln.words if "识别号" in w.text),
                    key=lambda w: w.bbox.x0)
    assert len(labels) == 2
    seller_label = labels[-1]                                   # 数电: the seller's block is on the right
    got = extract_from_layout(_without_words(layout, lambda w: w is seller_label)).fields
    assert got["buyer_tax_id"].value == inv.buyer.tax_id
    assert got["supplier_tax_id"].value == inv.supplier.tax_id
    assert got["supplier_tax_id"].confidence < got["buyer_tax_id"].confidence


@needs_font
def test_one_tax_id_and_no_labels_is_not_guessed():
    from extractors.extract import extract_from_layout
    from extractors.options import ReadOptions
    from extractors.reader import read_document
    inv = _digital_invoice()
    layout = read_document(synth_cn.vat_invoice_pdf(inv), ReadOptions()).layout
    gone = _without_words(layout, lambda w: "识别号" in w.text or w.text.endswith(inv.buyer.tax_id))
    got = extract_from_layout(gone).fields
    assert "buyer_tax_id" not in got and "supplier_tax_id" not in got


def _rows_of_ink(heights: list[tuple[int, int]], size: int = 120) -> np.ndarray:
    crop = np.full((size, 40, 3), 255, np.uint8)
    for y0, y1 in heights:
        crop[y0:y1, 8:32] = 0
    return crop


def test_a_box_with_two_stacked_texts_is_cut_between_them():
    cuts = _stack_gaps(_rows_of_ink([(10, 40), (70, 100)]), median_h=30)
    assert len(cuts) == 1 and 40 / 120 < cuts[0] < 70 / 120


def test_a_column_of_three_characters_is_cut_twice_and_one_line_not_at_all():
    assert len(_stack_gaps(_rows_of_ink([(5, 30), (45, 70), (85, 110)]), median_h=25)) == 2
    assert _stack_gaps(_rows_of_ink([(30, 80)]), median_h=40) == []
    assert _stack_gaps(_rows_of_ink([(10, 40), (44, 46)]), median_h=30) == []   # a speck is no text


@needs_font
def test_a_lost_column_heading_takes_the_room_between_its_neighbours():
    """OCR missed 金额 over the goods table: amounts and unit prices still land in their columns."""
    from extractors.extract import extract_from_layout
    from extractors.options import ReadOptions
    from extractors.reader import read_document
    inv = _digital_invoice()
    layout = read_document(synth_cn.vat_invoice_pdf(inv), ReadOptions()).layout
    got = extract_from_layout(_without_words(layout, lambda w: w.text == "金额"))
    assert len(got.lines) == len(inv.lines)
    for line, want in zip(got.lines, inv.lines):
        assert line.fields["amount"].value == want.amount
        assert line.fields["unit_price"].value == want.unit_price
