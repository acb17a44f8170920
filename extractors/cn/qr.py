"""QR codes on Chinese VAT invoices: find them in a page image, parse the payload, check the OCR.

Every 增值税发票 (paper, 电子, and 数电 fully digital) prints a QR code whose payload repeats the
invoice's key facts exactly, as comma-separated fields:

    01,<type>,<发票代码>,<发票号码>,<金额>,<开票日期 YYYYMMDD>,<校验码>,<CRC/other>,...

e.g. "01,10,050001700111,99999951,300.00,20201010,14754822929856772523,E400," (an old-style
增值税电子普通发票) or "01,32,,24442000000123456789,1260.18,20240315,,A1B2," (数电 普通发票).

What callers must do:

1. Render the page (or take the uploaded image) and call `decode_qr_codes(image)`; it returns
   `QrCode(text, bbox)` with the bbox in IMAGE PIXELS. It returns [] for an image without a code
   and raises `extractors.errors.ReadError` only when the decoding library itself fails.
2. `parse_vat_qr(code.text)` gives a `VatQr`, or None for anything that is not a VAT-invoice
   payload (payment codes, URLs, damaged text); it never raises. Try every code on the page.
3. Convert the pixel box to page points with `qr_bbox_points(code, points_per_pixel)` (the
   same 72 / dpi the OCR uses) and call `qr_fields(qr, page=..., bbox=...)`.
4. `cross_check(qr_fields, read_fields)` -> `qr_mismatch` warnings; then `merge_qr(read_fields,
   qr_fields)` for the fields to report (QR values win; the printed field's box is kept).

Payload fields, as far as publicly known (the layout is not published as a formal standard):
  0  version, always "01" (anything else is rejected: its layout is unknown);
  1  invoice type, two digits. Known: 01 增值税专用发票, 02 货物运输业增值税专用发票,
     03 机动车销售统一发票, 04 增值税普通发票, 08 增值税电子专用发票, 10 增值税电子普通发票,
     11 增值税普通发票(卷式), 14 增值税电子普通发票(通行费), 15 二手车销售统一发票,
     31 数电 电子发票(增值税专用发票), 32 数电 电子发票(普通发票), 51 数电 铁路电子客票.
     Unknown two-digit types are accepted (`VatQr.type_name` is then None);
  2  发票代码: 10 or 12 digits on old-style invoices, EMPTY on 数电 invoices;
  3  发票号码: 8 digits with a code, 20 digits without one (数电);
  4  金额: for old-style invoices (with a 发票代码) the amount EXCLUDING tax (不含税金额, the 合计
     金额 -> field `subtotal`); for 数电 invoices (no 发票代码) the amount INCLUDING tax (价税合计
     -> field `total_amount`). See `VatQr.amount_field`. Red-letter (红字) invoices are negative;
  5  开票日期 YYYYMMDD;
  6  校验码: 20 digits on old-style 普通/电子 invoices, often empty on 专票 and 数电 invoices; some
     issuers print only its last 6 digits. Only a full 20-digit code becomes the check_code field;
  7  a CRC / issuer-specific tail (ignored).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Iterator, Mapping

import numpy as np
import zxingcpp
from PIL import Image, ImageOps

from extractors.errors import ReadError
from extractors.layout import BBox
from extractors.parsing import parse_date
from extractors.result import Field, FieldValue, Issue, Severity

__all__ = [
    "QrCode", "VatQr", "INVOICE_TYPES", "decode_qr_codes", "otsu_threshold", "qr_bbox_points",
    "parse_vat_qr", "qr_fields", "cross_check", "merge_qr",
]

PixelBox = tuple[int, int, int, int]

MAX_UPSCALED_PIXELS = 60_000_000  # the 2x retry is skipped for pages bigger than this once doubled
_LIBRARY_ERRORS = (RuntimeError, ValueError, TypeError)
_IMAGE_ERRORS = (OSError, ValueError, TypeError)

INVOICE_TYPES: dict[str, str] = {
    "01": "增值税专用发票",
    "02": "货物运输业增值税专用发票",
    "03": "机动车销售统一发票",
    "04": "增值税普通发票",
    "08": "增值税电子专用发票",
    "10": "增值税电子普通发票",
    "11": "增值税普通发票(卷式)",
    "14": "增值税电子普通发票(通行费)",
    "15": "二手车销售统一发票",
    "31": "电子发票(增值税专用发票)",
    "32": "电子发票(普通发票)",
    "51": "电子发票(铁路电子客票)",
}
FIELD_LABELS: dict[str, str] = {
    "invoice_code": "the invoice code (发票代码)",
    "document_number": "the invoice number (发票号码)",
    "document_date": "the issue date (开票日期)",
    "check_code": "the check code (校验码)",
    "subtotal": "the amount before tax (金额)",
    "total_amount": "the total including tax (价税合计)",
}


# --------------------------------------------------------------------------------------------
# decoding
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class QrCode:
    """One decoded QR code: its text and its box in image pixels (x0, y0, x1, y1), origin top-left."""

    text: str
    bbox: PixelBox


def decode_qr_codes(image: Image.Image) -> list[QrCode]:
    """Every QR code in the image, top to bottom; [] when there is none.

    Tries the image as is, then (only while nothing is found) grayscale, Otsu-binarised and 2x
    upscaled copies, cheapest first. Boxes are always in the pixels of the image given.
    Raises ReadError when the image cannot be converted or the decoder fails.
    """
    if image.width <= 0 or image.height <= 0:
        return []
    for variant, scale in _variants(image):
        codes = _read(variant, scale)
        if codes:
            return sorted(codes, key=lambda c: (c.bbox[1], c.bbox[0]))
    return []


def _variants(image: Image.Image) -> Iterator[tuple[Image.Image, float]]:
    """(image, scale) pairs to try, lazily: each one is built only when the last found nothing."""
    yield image, 1.0
    try:
        gray = _grayscale(image)
        yield gray, 1.0
        yield _binarise(gray), 1.0
        if gray.width * gray.height * 4 <= MAX_UPSCALED_PIXELS:
            yield gray.resize((gray.width * 2, gray.height * 2), Image.Resampling.BICUBIC), 2.0
    except _IMAGE_ERRORS as exc:
        raise ReadError("The page image could not be prepared for QR decoding.", detail=repr(exc)) from exc


def _grayscale(image: Image.Image) -> Image.Image:
    """8-bit grayscale, transparency flattened onto white."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("L")
    return ImageOps.grayscale(image) if image.mode != "L" else image


def otsu_threshold(gray: np.ndarray) -> int:
    """The Otsu threshold (0..255) of an 8-bit grayscale array: maximises between-class variance."""
    hist = np.bincount(gray.ravel(), minlength=256).astype(np.float64)
    total = hist.sum()
    if total == 0:
        return 128
    levels = np.arange(256, dtype=np.float64)
    weight0 = np.cumsum(hist)
    weight1 = total - weight0
    mean0_sum = np.cumsum(hist * levels)
    mean1_sum = mean0_sum[-1] - mean0_sum
    with np.errstate(divide="ignore", invalid="ignore"):
        between = weight0 * weight1 * (mean0_sum / weight0 - mean1_sum / weight1) ** 2
    between = np.nan_to_num(between, nan=0.0, posinf=0.0, neginf=0.0)
    return int(np.argmax(between))


def _binarise(gray: Image.Image) -> Image.Image:
    arr = np.asarray(gray, dtype=np.uint8)
    threshold = otsu_threshold(arr)
    return Image.fromarray(np.where(arr > threshold, 255, 0).astype(np.uint8), mode="L")


def _read(image: Image.Image, scale: float) -> list[QrCode]:
    try:
        found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode,
                                       text_mode=zxingcpp.TextMode.Plain)
    except _LIBRARY_ERRORS as exc:
        raise ReadError("The QR code decoder failed on this page.", detail=repr(exc)) from exc
    return [QrCode(b.text, _pixel_box(b.position, scale)) for b in found if b.valid and b.text]


def _pixel_box(position: zxingcpp.Position, scale: float) -> PixelBox:
    corners = (position.top_left, position.top_right, position.bottom_right, position.bottom_left)
    xs = [p.x / scale for p in corners]
    ys = [p.y / scale for p in corners]
    return (int(min(xs)), int(min(ys)), int(round(max(xs))), int(round(max(ys))))


def qr_bbox_points(code: QrCode, points_per_pixel: float) -> BBox:
    """The code's box in page points (pass 72 / dpi of the image, as for OCR)."""
    x0, y0, x1, y1 = code.bbox
    k = points_per_pixel
    return BBox(x0 * k, y0 * k, x1 * k, y1 * k)


# --------------------------------------------------------------------------------------------
# parsing
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class VatQr:
    """A parsed VAT-invoice QR payload (see the module docstring for each field's meaning).

    amount: 不含税金额 when invoice_code is set (old style), 价税合计 when it is None (数电);
    check_code: digits as given (20, or the last 6), or None when the payload has none.
    """

    invoice_type: str
    invoice_code: str | None
    document_number: str
    amount: Decimal
    document_date: date
    check_code: str | None
    raw: str

    @property
    def is_fully_digital(self) -> bool:
        """True for a 数电 (全电) invoice: no 发票代码, a 20-digit number."""
        return self.invoice_code is None

    @property
    def amount_field(self) -> str:
        """The contract field the amount belongs to: "total_amount" (数电) or "subtotal"."""
        return "total_amount" if self.is_fully_digital else "subtotal"

    @property
    def type_name(self) -> str | None:
        return INVOICE_TYPES.get(self.invoice_type)


_AMOUNT_RX = re.compile(r"-?\d{1,12}(?:\.\d{1,4})?")
_CENT = Decimal("0.01")


def parse_vat_qr(text: str) -> VatQr | None:
    """The VAT-invoice payload in `text`, or None when it is not one (never raises)."""
    if not isinstance(text, str) or len(text) > 1000:
        return None
    raw = text.strip()
    parts = [p.strip() for p in unicodedata.normalize("NFKC", raw).split(",")]
    if len(parts) < 6 or parts[0] != "01" or not re.fullmatch(r"\d{2}", parts[1]):
        return None
    ids = _parse_ids(parts[2], parts[3])
    amount = _parse_amount(parts[4])
    issued = _parse_date(parts[5])
    check = _parse_check_code(parts[6] if len(parts) > 6 else "")
    if ids is None or amount is None or issued is None or check is False:
        return None
    code, number = ids
    return VatQr(invoice_type=parts[1], invoice_code=code, document_number=number, amount=amount,
                 document_date=issued, check_code=check or None, raw=raw)


def _parse_ids(code: str, number: str) -> tuple[str | None, str] | None:
    """(发票代码 or None, 发票号码) when they have a known shape together."""
    if not code:
        return (None, number) if re.fullmatch(r"\d{20}", number) else None
    if re.fullmatch(r"\d{10}|\d{12}", code) and re.fullmatch(r"\d{8}", number):
        return code, number
    return None


def _parse_amount(text: str) -> Decimal | None:
    if not _AMOUNT_RX.fullmatch(text):
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value.quantize(_CENT) if value.as_tuple().exponent > -2 else value


def _parse_date(text: str) -> date | None:
    if not re.fullmatch(r"\d{8}", text):
        return None
    try:
        issued = date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None
    return issued if 1990 <= issued.year <= 2100 else None


def _parse_check_code(text: str) -> str | bool:
    """The digits, "" when absent, False when the field is there but malformed."""
    if not text:
        return ""
    return text if re.fullmatch(r"\d{6,20}", text) else False


# --------------------------------------------------------------------------------------------
# fields, cross-check, merge
# --------------------------------------------------------------------------------------------

def qr_fields(qr: VatQr, *, page: int, bbox: BBox | None) -> dict[str, Field]:
    """The payload as contract fields (confidence 1.0, raw = the payload, box = the QR code's).

    The amount goes under `qr.amount_field`; check_code only when the payload has all 20 digits.
    """
    values: dict[str, FieldValue] = {
        "invoice_code": qr.invoice_code,
        "document_number": qr.document_number,
        "document_date": qr.document_date,
        "check_code": qr.check_code if qr.check_code and len(qr.check_code) == 20 else None,
        qr.amount_field: qr.amount,
    }
    return {name: Field(value=value, raw=qr.raw, confidence=1.0, page=page, bbox=bbox, method="qr")
            for name, value in values.items() if value is not None}


def cross_check(qr_fields: Mapping[str, Field], read_fields: Mapping[str, Field]) -> list[Issue]:
    """One `qr_mismatch` warning per field that both have (with a value) and that disagrees."""
    issues: list[Issue] = []
    for name, qr_field in qr_fields.items():
        read = read_fields.get(name)
        if read is None or read.value is None or qr_field.value is None:
            continue
        if not _same_value(qr_field.value, read.value):
            issues.append(_mismatch(name, qr_field.value, read))
    return issues


def _mismatch(name: str, qr_value: FieldValue, read: Field) -> Issue:
    label = FIELD_LABELS.get(name, name)
    printed = _show(read.value) if read.value is not None else read.raw
    message = (f"The invoice's QR code gives {label} as {_show(qr_value)}, but the printed "
               f"invoice was read as {printed}. The QR code is machine-written; check the print.")
    return Issue(code="qr_mismatch", severity=Severity.WARNING, message=message, field=name)


def _show(value: FieldValue) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _same_value(qr_value: FieldValue, read_value: FieldValue) -> bool:
    """Decimal as Decimal, date as date, text with whitespace removed; a read string is coerced."""
    if isinstance(qr_value, Decimal):
        other = read_value if isinstance(read_value, Decimal) else _to_decimal(str(read_value))
        return other is not None and other == qr_value
    if isinstance(qr_value, date):
        other = read_value if isinstance(read_value, date) else _to_date(str(read_value))
        return other is not None and other == qr_value
    return _squash(str(qr_value)) == _squash(str(read_value))


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _to_decimal(text: str) -> Decimal | None:
    cleaned = re.sub(r"[\s,¥￥]", "", unicodedata.normalize("NFKC", text))
    try:
        return Decimal(cleaned) if cleaned else None
    except InvalidOperation:
        return None


def _to_date(text: str) -> date | None:
    return parse_date(text)  # 2020年10月10日, 2020-10-10, 20201010


def merge_qr(read_fields: Mapping[str, Field], qr_fields: Mapping[str, Field]) -> dict[str, Field]:
    """The read fields with the QR values put in: the QR value, confidence and raw (the payload)
    win; where the field was read from the print with a box, its page and box are kept."""
    merged = dict(read_fields)
    for name, qr_field in qr_fields.items():
        read = read_fields.get(name)
        if read is not None and read.bbox is not None:
            merged[name] = replace(qr_field, page=read.page, bbox=read.bbox)
        else:
            merged[name] = qr_field
    return merged

