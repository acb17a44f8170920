"""QR codes found while reading reach the VAT-invoice fields: exact values win, disagreements are issues."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import qrcode
from PIL import Image, ImageDraw

from extractors.extract import with_qr
from extractors.layout import BBox
from extractors.result import Field

from conftest import REALDOCS, needs_realdocs

PAYLOAD = "01,10,050001700111,99999951,300.00,20201010,14754822929856772523,E400,"


def _page_with_qr() -> bytes:
    page = Image.new("RGB", (1240, 1754), "white")
    code = qrcode.make(PAYLOAD).get_image().convert("RGB").resize((220, 220))
    page.paste(code, (80, 80))
    ImageDraw.Draw(page).text((400, 120), "INVOICE 99999951", fill="black")
    out = io.BytesIO()
    page.save(out, format="PNG", dpi=(150, 150))
    return out.getvalue()


def test_qr_codes_on_an_image_are_kept_with_the_layout():
    from extractors.reader import page_qr_codes
    codes = page_qr_codes(Image.open(io.BytesIO(_page_with_qr())), page=1, points_per_pixel=72 / 150)
    assert [(page, text) for page, text, _ in codes] == [(1, PAYLOAD)]
    box = codes[0][2]
    assert 30 < box.x0 < box.x1 < 170 and 30 < box.y0 < box.y1 < 170  # points at 150 dpi


def test_qr_values_win_and_disagreements_become_issues():
    read = {"document_number": Field("99999957", "99999957", 0.8, 1, BBox(400, 50, 480, 60)),
            "document_date": Field(date(2020, 10, 10), "2020年10月10日", 0.9, 1, BBox(400, 70, 480, 80))}
    codes = [(1, "https://example.invalid/not-an-invoice", BBox(0, 0, 1, 1)), (1, PAYLOAD, BBox(40, 40, 140, 140))]
    fields, issues = with_qr(read, codes)
    assert fields["document_number"].value == "99999951" and fields["document_number"].confidence == 1.0
    assert fields["document_number"].bbox == BBox(400, 50, 480, 60)  # the printed box is kept
    assert fields["invoice_code"].value == "050001700111" and fields["subtotal"].value == Decimal("300.00")
    assert [(i.code, i.field) for i in issues] == [("qr_mismatch", "document_number")]


@needs_realdocs("ofdrw_ofd_einvoices")
def test_the_qr_code_of_an_ofd_invoice_is_read_from_its_page_image():
    """No rendering: the QR picture the OFD page draws is decoded, its box is where the page draws it."""
    from extractors.extract import extract_document
    from extractors.options import ReadOptions
    from extractors.reader import read_document
    data = (REALDOCS / "ofdrw_ofd_einvoices" / "ofd_fapiao_shili.ofd").read_bytes()
    codes = read_document(data, ReadOptions(use_embedded=False)).layout.meta["qr_codes"]
    assert [(page, text) for page, text, _ in codes] == [(1, PAYLOAD)]
    box = codes[0][2]
    assert 20 < box.x0 < 30 and 50 < box.width < 62            # 20 mm square at 8.5 mm from the left
    fields = extract_document(data, options=ReadOptions(use_embedded=False)).fields
    assert fields["check_code"].confidence == 1.0 and fields["check_code"].value == "14754822929856772523"


@needs_realdocs("ofdrw_ofd_einvoices")
def test_an_ofd_image_that_is_no_picture_is_skipped():
    import zipfile
    from extractors.ofd import page_images
    from extractors.options import ReadOptions
    from extractors.reader import read_document
    source = REALDOCS / "ofdrw_ofd_einvoices" / "ofd_fapiao_shili.ofd"
    broken = io.BytesIO()
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(broken, "w") as zout:
        for item in zin.infolist():
            zout.writestr(item, b"not a png" if item.filename.endswith("qr.png") else zin.read(item))
    assert len(page_images(broken.getvalue(), ReadOptions())) == 1
    layout = read_document(broken.getvalue(), ReadOptions(use_embedded=False)).layout
    assert layout.meta["qr_codes"] == [] and layout.pages
