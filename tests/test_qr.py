"""extractors.cn.qr: decoding QR codes from page images, parsing VAT-invoice payloads, cross-checking.

QR images are generated here with the `qrcode` package (pure Python) and pasted onto an A4 page
at 200 dpi with text around them.
"""

from __future__ import annotations

import io
import json
from datetime import date
from decimal import Decimal

import numpy as np
import pytest
import qrcode
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFilter

from extractors.errors import ReadError
from extractors.layout import BBox
from extractors.cn.qr import (QrCode, VatQr, cross_check, decode_qr_codes, merge_qr, otsu_threshold,
                           parse_vat_qr, qr_bbox_points, qr_fields)
from extractors.result import Field, Severity
from tests.conftest import REALDOCS, needs_realdocs

OFD_PAYLOAD = "01,10,050001700111,99999951,300.00,20201010,14754822929856772523,E400,"
SHUDIAN_PAYLOAD = "01,32,,24442000000123456789,1260.18,20240315,,A1B2,"
A4_200DPI = (1654, 2339)
QR_AT = (1380, 90)          # top-right corner, where VAT invoices print it
MODULE_PX = 4               # about 0.5 mm per module at 200 dpi, like a printed invoice


def _qr_image(payload: str, box: int = MODULE_PX, border: int = 2) -> Image.Image:
    return qrcode.make(payload, box_size=box, border=border).get_image().convert("L")


def _page(payload: str | None) -> Image.Image:
    page = Image.new("RGB", A4_200DPI, "white")
    draw = ImageDraw.Draw(page)
    draw.text((600, 80), "Electronic VAT invoice - dianzi fapiao", fill="black")
    for i in range(30):
        draw.text((120, 300 + 55 * i), f"row {i}  item description  qty 4  price 25.00  amount 100.00",
                  fill="black")
    if payload is not None:
        page.paste(_qr_image(payload), QR_AT)
    return page


def _jpeg(image: Image.Image, quality: int = 50) -> Image.Image:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


@pytest.fixture(scope="module")
def ofd_page() -> Image.Image:
    return _page(OFD_PAYLOAD)


# --------------------------------------------------------------------------------------------
# decoding
# --------------------------------------------------------------------------------------------

def _expected_box(payload: str) -> tuple[int, int, int, int]:
    size = _qr_image(payload).width
    quiet = 2 * MODULE_PX
    return (QR_AT[0] + quiet, QR_AT[1] + quiet, QR_AT[0] + size - quiet, QR_AT[1] + size - quiet)


def _close(box: tuple[int, ...], expected: tuple[int, ...], tol: int = 3) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(box, expected))


@pytest.mark.parametrize("payload", [OFD_PAYLOAD, SHUDIAN_PAYLOAD])
def test_decode_clean_page_gives_text_and_pixel_box(payload: str) -> None:
    codes = decode_qr_codes(_page(payload))
    assert [c.text for c in codes] == [payload]
    assert _close(codes[0].bbox, _expected_box(payload))
    assert parse_vat_qr(codes[0].text) is not None


def test_decode_rotated_jpeg_page(ofd_page: Image.Image) -> None:
    scan = _jpeg(ofd_page.rotate(5, expand=True, fillcolor="white", resample=Image.Resampling.BICUBIC))
    codes = decode_qr_codes(scan)
    assert [c.text for c in codes] == [OFD_PAYLOAD]
    x0, y0, x1, y1 = codes[0].bbox
    assert 0 <= x0 < x1 <= scan.width and 0 <= y0 < y1 <= scan.height
    assert parse_vat_qr(codes[0].text) == parse_vat_qr(OFD_PAYLOAD)


def test_decode_blurred_page(ofd_page: Image.Image) -> None:
    codes = decode_qr_codes(ofd_page.filter(ImageFilter.GaussianBlur(1.5)))
    assert [c.text for c in codes] == [OFD_PAYLOAD]


def test_page_without_code_gives_empty_list() -> None:
    assert decode_qr_codes(_page(None)) == []
    assert decode_qr_codes(Image.new("L", (0, 0))) == []


def test_transparent_png_is_found_by_the_flattened_grayscale_retry() -> None:
    code = np.asarray(_qr_image(SHUDIAN_PAYLOAD, border=4))
    rgba = np.zeros(code.shape + (4,), np.uint8)
    rgba[..., 3] = np.where(code < 128, 255, 0)    # black modules on fully transparent black
    codes = decode_qr_codes(Image.fromarray(rgba, "RGBA"))
    assert [c.text for c in codes] == [SHUDIAN_PAYLOAD]


def test_upscaled_retry_reports_boxes_in_original_pixels(monkeypatch, ofd_page: Image.Image) -> None:
    real = zxingcpp.read_barcodes
    calls: list[tuple[int, int]] = []

    def only_the_fourth_try(image, **kwargs):
        calls.append(image.size)
        return real(image, **kwargs) if len(calls) == 4 else []

    monkeypatch.setattr(zxingcpp, "read_barcodes", only_the_fourth_try)
    codes = decode_qr_codes(ofd_page)
    assert calls[-1] == (ofd_page.width * 2, ofd_page.height * 2)
    assert [c.text for c in codes] == [OFD_PAYLOAD]
    assert _close(codes[0].bbox, _expected_box(OFD_PAYLOAD))


def test_library_error_becomes_read_error(monkeypatch) -> None:
    def broken(image, **kwargs):
        raise RuntimeError("decoder exploded")

    monkeypatch.setattr(zxingcpp, "read_barcodes", broken)
    with pytest.raises(ReadError) as info:
        decode_qr_codes(Image.new("L", (50, 50), 255))
    assert isinstance(info.value.__cause__, RuntimeError)


def test_otsu_threshold_splits_two_levels() -> None:
    arr = np.array([[30] * 50 + [220] * 50], dtype=np.uint8)
    assert 30 <= otsu_threshold(arr) < 220


def test_bbox_to_points() -> None:
    box = qr_bbox_points(QrCode("x", (200, 400, 300, 500)), 72 / 200)
    assert box == BBox(72.0, 144.0, 108.0, 180.0)


# --------------------------------------------------------------------------------------------
# parsing
# --------------------------------------------------------------------------------------------

def test_parse_real_ofd_payload() -> None:
    qr = parse_vat_qr(OFD_PAYLOAD)
    assert qr == VatQr(invoice_type="10", invoice_code="050001700111", document_number="99999951",
                       amount=Decimal("300.00"), document_date=date(2020, 10, 10),
                       check_code="14754822929856772523", raw=OFD_PAYLOAD)
    assert qr.amount_field == "subtotal" and not qr.is_fully_digital
    assert qr.type_name == "增值税电子普通发票"


def test_parse_shudian_payload() -> None:
    qr = parse_vat_qr(SHUDIAN_PAYLOAD)
    assert qr is not None
    assert qr.invoice_code is None and qr.document_number == "24442000000123456789"
    assert qr.amount == Decimal("1260.18") and qr.document_date == date(2024, 3, 15)
    assert qr.check_code is None and qr.is_fully_digital and qr.amount_field == "total_amount"


def test_parse_tolerates_missing_tail_unknown_type_and_short_amount() -> None:
    qr = parse_vat_qr(" 01,99,1100162130,12345678,64.9,20161018\n")
    assert qr is not None and qr.invoice_type == "99" and qr.type_name is None
    assert qr.amount == Decimal("64.90") and format(qr.amount, "f") == "64.90"
    assert qr.check_code is None
    red = parse_vat_qr("01,32,,24442000000123456790,-1260.18,20240316,,A1B3,")
    assert red is not None and red.amount == Decimal("-1260.18")   # red-letter (红字) invoice


@pytest.mark.parametrize("text", [
    "", "hello", "https://inv-veri.chinatax.gov.cn/?x=1", "01,32,,", "01,10,050001700111",
    "02,10,050001700111,99999951,300.00,20201010,,",             # unknown version
    "01,1O,050001700111,99999951,300.00,20201010,,",             # letter O in the type
    "01,10,050001700111,9999995,300.00,20201010,,",              # 7-digit number
    "01,10,,99999951,300.00,20201010,,",                         # no code but an 8-digit number
    "01,10,0500017001,24442000000123456789,300.00,20201010,,",  # code and a 20-digit number
    "01,10,050001700111,99999951,3OO.00,20201010,,",             # amount with letters
    "01,10,050001700111,99999951,300.00,20201340,,",             # month 13
    "01,10,050001700111,99999951,300.00,2020101,,",              # 7-digit date
    "01,10,050001700111,99999951,300.00,20201010,ABC,",          # check code not digits
    "01,10,050001700111,99999951,1e5,20201010,,",                # exponent amount
])
def test_malformed_payloads_give_none(text: str) -> None:
    assert parse_vat_qr(text) is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120) | st.lists(st.text(max_size=25), max_size=10).map(",".join))
def test_parse_never_raises(text: str) -> None:
    parse_vat_qr(text)


# --------------------------------------------------------------------------------------------
# fields, cross-check, merge
# --------------------------------------------------------------------------------------------

QR_BOX = BBox(496.8, 32.4, 547.2, 82.8)


def test_qr_fields_for_old_and_shudian_invoices() -> None:
    fields = qr_fields(parse_vat_qr(OFD_PAYLOAD), page=1, bbox=QR_BOX)
    assert {k: f.value for k, f in fields.items()} == {
        "invoice_code": "050001700111", "document_number": "99999951",
        "document_date": date(2020, 10, 10), "check_code": "14754822929856772523",
        "subtotal": Decimal("300.00")}
    assert all(f.confidence == 1.0 and f.raw == OFD_PAYLOAD and f.page == 1 and f.bbox == QR_BOX
               for f in fields.values())
    digital = qr_fields(parse_vat_qr(SHUDIAN_PAYLOAD), page=2, bbox=None)
    assert set(digital) == {"document_number", "document_date", "total_amount"}


def test_partial_check_code_is_not_a_field() -> None:
    qr = parse_vat_qr("01,04,3200162130,12345678,100.00,20190101,856772,1A2B")
    assert qr is not None and qr.check_code == "856772"
    assert "check_code" not in qr_fields(qr, page=1, bbox=None)


def _read(value, raw: str, y: float) -> Field:
    return Field(value=value, raw=raw, confidence=0.9, page=1, bbox=BBox(400, y, 520, y + 12))


def _ocr_fields(number: str = "99999951") -> dict[str, Field]:
    return {
        "invoice_code": _read("050001700111", "050001700111", 40),
        "document_number": _read(number, number, 58),
        "document_date": _read(date(2020, 10, 10), "2020年10月10日", 76),
        "check_code": _read("14754822929856772523", "14754 82292 98567 72523", 94),
        "subtotal": _read(Decimal("300.0"), "¥300.0", 500),
        "supplier_name": _read("杭州融易算企业管理咨询有限公司", "杭州融易算企业管理咨询有限公司", 300),
    }


def test_cross_check_agreeing_fields_give_no_issue() -> None:
    fields = qr_fields(parse_vat_qr(OFD_PAYLOAD), page=1, bbox=QR_BOX)
    assert cross_check(fields, _ocr_fields()) == []
    as_text = {k: Field(str(f.value), f.raw, 0.9) for k, f in _ocr_fields().items()}
    as_text["check_code"] = Field("14754 82292 98567 72523 ", "", 0.9)
    as_text["document_date"] = Field("2020年10月10日", "", 0.9)
    assert cross_check(fields, as_text) == []


def test_cross_check_reports_exactly_one_mismatch() -> None:
    fields = qr_fields(parse_vat_qr(OFD_PAYLOAD), page=1, bbox=QR_BOX)
    issues = cross_check(fields, _ocr_fields(number="99999957"))   # OCR read 1 as 7
    assert len(issues) == 1
    issue = issues[0]
    assert issue.code == "qr_mismatch" and issue.severity == Severity.WARNING
    assert issue.field == "document_number"
    assert "99999951" in issue.message and "99999957" in issue.message


def test_merge_keeps_printed_box_and_takes_qr_value() -> None:
    qr = qr_fields(parse_vat_qr(OFD_PAYLOAD), page=1, bbox=QR_BOX)
    read = _ocr_fields(number="99999957")
    del read["check_code"]
    merged = merge_qr(read, qr)
    assert merged["document_number"].value == "99999951"
    assert merged["document_number"].bbox == read["document_number"].bbox
    assert merged["document_number"].confidence == 1.0
    assert merged["subtotal"].value == Decimal("300.00")
    assert merged["check_code"].bbox == QR_BOX                     # not printed-read: QR box
    assert merged["supplier_name"] == read["supplier_name"]          # untouched
    assert read["document_number"].value == "99999957"               # input not mutated


@needs_realdocs("ofdrw_ofd_einvoices")
def test_real_ofd_ground_truth_agrees_with_its_qr_payload() -> None:
    doc = json.loads((REALDOCS / "ofdrw_ofd_einvoices" / "ofd_fapiao_shili.json").read_text("utf-8"))
    qr = parse_vat_qr(doc["gt_meta"]["qr_graph_code"])
    assert qr is not None
    truth = {k: Field(v, v, 1.0) for k, v in doc["fields"].items()}
    assert cross_check(qr_fields(qr, page=1, bbox=None), truth) == []
