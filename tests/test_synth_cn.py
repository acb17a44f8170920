"""Synthetic Chinese VAT invoices and delivery notes (fixtures/synth_cn.py) read back by the extractors.

Two invoices (one 数电, one older 电子普通/专用发票) and two 送货单 are drawn as text-layer PDFs in
tmp_path and extracted; the fields the extractors read correctly today are asserted against the
generator's exact ground truth.

A generated set of all three kinds (VAT invoices, 送货单, 小票) is also scored with `inbound eval`'s
scorer and must be read in full.  Remarks come back NFKC-normalised ("订单号:PO..." for the printed
"订单号：PO..."); the scorer treats full- and half-width forms as the same text.  Letter-spaced titles ("送 货 单") are covered by
tests/test_validate.py.
"""

from __future__ import annotations

import random
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from extractors.cn.checks import amount_in_words_to_decimal, uscc_is_valid
from fixtures import synth_cn

pytestmark = pytest.mark.skipif(not synth_cn.font_available(),
                                reason=f"CJK font {synth_cn.FONT_PATH} missing (apt-get install fonts-wqy-microhei)")


def _value(obj: dict, name: str) -> str | None:
    v = obj.get(name)
    return v.get("value") if isinstance(v, dict) else v


def _same(truth: str, got: str | None) -> bool:
    if got is None:
        return False
    try:
        return Decimal(truth) == Decimal(got)
    except ArithmeticError:
        return truth.replace(" ", "") == got.replace(" ", "")


def _invoices() -> list[synth_cn.CnInvoice]:
    """One 数电 and one older-style invoice, from a fixed seed."""
    rng, found = random.Random(20), {}
    while len(found) < 2:
        inv = synth_cn.random_vat_invoice(rng)
        found.setdefault(inv.digital, inv)
    return [found[True], found[False]]


def _notes() -> list[synth_cn.CnDeliveryNote]:
    rng = random.Random(21)
    return [replace(synth_cn.random_delivery_note(rng), title_one_line=True) for _ in range(2)]


def _extract(tmp_path: Path, name: str, pdf: bytes) -> dict:
    from extractors.extract import extract_document
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    return extract_document(path.read_bytes(), source=path.name).to_json()


def _check(truth: dict, got: dict, fields: tuple[str, ...], line_fields: tuple[str, ...]) -> None:
    for name in fields:
        if name in truth["fields"]:
            assert _same(truth["fields"][name], _value(got["fields"], name)), name
    assert len(got["lines"]) == len(truth["lines"])
    for want, line in zip(truth["lines"], got["lines"]):
        for name in line_fields:
            assert _same(want[name], _value(line, name)), (want["line_no"], name)


def test_generated_values_are_consistent():
    rng = random.Random(3)
    for _ in range(30):
        inv, note = synth_cn.random_vat_invoice(rng), synth_cn.random_delivery_note(rng)
        assert uscc_is_valid(inv.buyer.tax_id) and uscc_is_valid(inv.supplier.tax_id)
        assert amount_in_words_to_decimal(synth_cn.amount_in_words(inv.total)) == inv.total
        assert amount_in_words_to_decimal(synth_cn.amount_in_words(note.total)) == note.total
        assert inv.qr_payload.split(",")[3] == inv.number
    for v in ("0.05", "0.50", "10.00", "10203.04", "100000.10", "1000001.00"):
        assert amount_in_words_to_decimal(synth_cn.amount_in_words(Decimal(v))) == Decimal(v)


def test_vat_invoices_read_back(tmp_path):
    from extractors.cn.qr import parse_vat_qr
    for i, inv in enumerate(_invoices()):
        truth = synth_cn.ground_truth(inv)
        got = _extract(tmp_path, f"vat{i}", synth_cn.vat_invoice_pdf(inv))
        assert got["document_type"] == "vat_invoice"
        _check(truth, got, ("document_number", "document_date", "invoice_code", "buyer_name", "buyer_tax_id",
                            "supplier_name", "supplier_tax_id", "subtotal", "tax_amount", "total_amount",
                            "total_amount_in_words", "issuer_clerk"),
               ("amount", "quantity", "unit_price", "tax_rate", "tax_amount", "description", "unit"))
        qr = parse_vat_qr(truth["gt_meta"]["qr_graph_code"])
        assert qr is not None and qr.document_number == inv.number and qr.is_fully_digital == inv.digital


def test_delivery_notes_read_back(tmp_path):
    for i, note in enumerate(_notes()):
        truth = synth_cn.ground_truth(note)
        got = _extract(tmp_path, f"dn{i}", synth_cn.delivery_note_pdf(note))
        assert got["document_type"] == "delivery_note"
        _check(truth, got, ("document_number", "document_date", "buyer_name", "supplier_name", "po_number",
                            "total_amount"),
               ("quantity", "unit", "description", "amount", "batch_no", "production_date", "expiry_date"))


def test_scanned_variant_is_a_jpeg():
    from PIL import Image
    import io
    inv = _invoices()[0]
    data = synth_cn.scanned_variant(synth_cn.vat_invoice_pdf(inv), random.Random(1), dpi=100)
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "JPEG" and im.mode == "RGB" and im.width > 800


def test_chinese_receipts_read_back(tmp_path):
    from fixtures.synth_cn_receipt import random_receipt, receipt_pdf, receipt_truth
    rng = random.Random(22)
    for i in range(3):
        rc = random_receipt(rng)
        truth = receipt_truth(rc)
        got = _extract(tmp_path, f"rc{i}", receipt_pdf(rc))
        assert got["document_type"] == "receipt"
        _check(truth, got, tuple(truth["fields"]), ("description", "quantity", "unit_price", "amount"))


def test_a_generated_set_of_every_kind_is_read_in_full(tmp_path):
    """`python -m fixtures.synth_cn OUT --kinds vat,dn,rcpt`, scored like `inbound eval OUT`."""
    from extractors.options import ReadOptions
    from pipeline.bench.runner import evaluate_folder
    synth_cn.main([str(tmp_path), "--count", "9", "--seed", "5", "--kinds", "vat,dn,rcpt"])
    assert len(list(tmp_path.glob("cn-rcpt-*.pdf"))) == 3
    report = evaluate_folder(tmp_path, ReadOptions())
    assert report.overall("fields").f1 == 1.0, [m for d in report.docs for m in d.misses]
    assert report.overall("lines").f1 == 1.0, [m for d in report.docs for m in d.misses]


def test_grid_style_delivery_notes_read_back(tmp_path):
    """Boxed header (label cell, value cell) and the supplier signing at the bottom: 供货单位（盖章）：name."""
    rng = random.Random(23)
    for i in range(2):
        note = replace(synth_cn.random_delivery_note(rng), style="grid")
        truth = synth_cn.ground_truth(note)
        got = _extract(tmp_path, f"grid{i}", synth_cn.delivery_note_pdf(note))
        assert got["document_type"] == "delivery_note"
        _check(truth, got, tuple(truth["fields"]), ("quantity", "unit", "description", "amount", "batch_no"))


def _invoice_where(pred, seed: int = 30) -> synth_cn.CnInvoice:
    rng = random.Random(seed)
    while True:
        inv = synth_cn.random_vat_invoice(rng)
        if pred(inv):
            return inv


def test_red_letter_invoice_reads_back_negative(tmp_path):
    """红字发票: quantities, amounts, taxes and totals below zero, 大写 with （负数）; the QR carries the sign."""
    inv = _invoice_where(lambda i: i.red and not i.detail_list)
    truth = synth_cn.ground_truth(inv)
    got = _extract(tmp_path, "red", synth_cn.vat_invoice_pdf(inv))
    assert Decimal(_value(got["fields"], "total_amount")) == inv.total < 0
    assert amount_in_words_to_decimal(_value(got["fields"], "total_amount_in_words")) == inv.total
    _check(truth, got, ("subtotal", "tax_amount", "remarks"), ("quantity", "amount", "tax_amount"))
    assert not [i for i in got["issues"] if i["code"] in ("totals_mismatch", "amount_in_words_mismatch")]


def test_continuation_list_gives_the_goods_not_the_see_list_row(tmp_path):
    """More goods than the form holds: page 1 prints one （详见销货清单） row, page 2 the 清单 with 小计/总计."""
    inv = _invoice_where(lambda i: i.detail_list)
    truth = synth_cn.ground_truth(inv)
    got = _extract(tmp_path, "list", synth_cn.vat_invoice_pdf(inv))
    assert len(got["lines"]) == len(inv.lines) > 7
    assert not any("详见" in (_value(li, "description") or "") for li in got["lines"])
    _check(truth, got, ("document_number", "supplier_name", "subtotal", "total_amount"),
           ("description", "quantity", "unit_price", "amount", "tax_amount"))
