"""Page clean-up before OCR: a photographed sheet flattened, red seals lifted, the rest left alone."""

from __future__ import annotations

import random

import cv2
import numpy as np
import pytest

from conftest import REALDOCS, needs_realdocs
from extractors.photo import flatten_page, lift_seals, prepare_page, seal_red_mask

PAGE_W, PAGE_H = 800, 560


def _page() -> np.ndarray:
    """A white sheet with black print: rows of bars (text) and a frame."""
    page = np.full((PAGE_H, PAGE_W, 3), 250, np.uint8)
    cv2.rectangle(page, (30, 30), (PAGE_W - 30, PAGE_H - 30), (0, 0, 0), 2)
    for y in range(70, PAGE_H - 60, 40):
        cv2.putText(page, "INVOICE 12345 TOTAL 99.00", (60, y), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2)
    return page


def _on_desk(page: np.ndarray, corners: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    src = np.float32([[0, 0], [PAGE_W, 0], [PAGE_W, PAGE_H], [0, PAGE_H]])
    matrix = cv2.getPerspectiveTransform(src, corners.astype(np.float32))
    desk = np.full((size[1], size[0], 3), (90, 70, 50), np.uint8)
    warped = cv2.warpPerspective(page, matrix, size)
    inside = cv2.warpPerspective(np.full((PAGE_H, PAGE_W), 255, np.uint8), matrix, size) > 127
    desk[inside] = warped[inside]
    return desk


def test_a_photographed_sheet_is_found_and_flattened():
    corners = np.array([[70, 50], [905, 85], [880, 690], [95, 640]], np.float64)
    photo = _on_desk(_page(), corners, (1000, 760))
    flat, found = flatten_page(photo)
    assert found is not None
    assert np.abs(np.array(found) - corners).max() < 12          # px, on a 1000 px photo
    height, width = flat.shape[:2]
    assert abs(width / height - PAGE_W / PAGE_H) < 0.08            # the sheet's own proportions back
    grey = cv2.cvtColor(flat, cv2.COLOR_RGB2GRAY)
    assert np.median(grey[height // 3: 2 * height // 3, width // 3: 2 * width // 3]) > 200  # paper, not desk


def test_a_flat_scan_is_left_as_it_is():
    page = _page()
    flat, found = flatten_page(page)
    assert found is None and flat is page


def test_a_dark_photo_without_a_sheet_is_left_as_it_is():
    rng = np.random.default_rng(3)
    photo = rng.integers(0, 255, (600, 800, 3), dtype=np.uint8)
    flat, found = flatten_page(photo)
    assert found is None and flat is photo


def _seal(image: np.ndarray, center: tuple[int, int], radius_px: int) -> None:
    """A red ring with red marks inside, multiplied over the print like ink."""
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.ellipse(mask, center, (radius_px, int(radius_px * 0.75)), 0, 0, 360, 255, 6)
    cv2.putText(mask, "SEAL", (center[0] - 60, center[1] + 10), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 255, 4)
    alpha = (mask.astype(np.float32) / 255 * 0.8)[..., None]
    red = np.array([215, 35, 40], np.float32) / 255
    image[:] = np.clip(image.astype(np.float32) * (1 - alpha + alpha * red), 0, 255).astype(np.uint8)


def test_a_seal_is_lifted_and_the_print_under_it_stays():
    page = _page()
    dark_before = cv2.cvtColor(page, cv2.COLOR_RGB2GRAY) < 80
    _seal(page, (400, 280), 150)                  # 40 x 30 mm at 200 dpi: seal-sized
    assert seal_red_mask(page).sum() > 2000
    clean, seals = lift_seals(page, dpi=200)
    assert seals == 1
    assert seal_red_mask(clean, min_saturation=30).sum() < 50
    dark_after = cv2.cvtColor(clean, cv2.COLOR_RGB2GRAY) < 80
    assert (dark_after & dark_before).sum() >= 0.95 * dark_before.sum()


def test_brown_form_print_and_thin_red_rules_are_not_seals():
    page = _page()
    cv2.putText(page, "FORM LABEL", (60, 500), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (128, 64, 20), 2)  # brown
    cv2.line(page, (20, 520), (780, 520), (215, 35, 40), 2)                                    # red rule
    clean, seals = lift_seals(page, dpi=200)
    assert seals == 0 and np.array_equal(clean, page)


synth_cn = pytest.importorskip("fixtures.synth_cn")
needs_font = pytest.mark.skipif(not synth_cn.font_available(), reason="fonts-wqy-microhei not installed")


@needs_font
def test_a_phone_photo_of_a_stamped_vat_invoice_reads_back():
    """End to end: on a desk, tilted, stamped, unevenly lit, JPEG; the QR and the stamped seller survive."""
    from extractors.extract import extract_document
    from extractors.options import ReadOptions
    rng = random.Random(41)
    invoice = synth_cn.random_vat_invoice(rng)
    photo = synth_cn.scanned_variant(synth_cn.vat_invoice_pdf(invoice), rng, photo=True)
    extraction = extract_document(photo, options=ReadOptions())
    fields = {k: f.value for k, f in extraction.fields.items()}
    assert fields["document_number"] == invoice.number
    assert str(fields["total_amount"]) == str(invoice.total)
    assert fields["supplier_name"] == invoice.supplier.name          # the seal sits on this line
    assert not [i for i in extraction.issues if i.code == "qr_mismatch"]


def test_prepare_page_reports_what_it_did():
    corners = np.array([[60, 40], [900, 70], [890, 700], [80, 650]], np.float64)
    photo = _on_desk(_page(), corners, (1000, 760))
    clean, done = prepare_page(photo, dpi=150)
    assert done.corners is not None and done.seals == 0
    assert clean.shape != photo.shape


def test_a_photo_of_something_else_is_a_clear_issue_not_a_crash():
    from extractors.extract import extract_document
    from extractors.options import ReadOptions
    from PIL import Image
    import io
    yy, xx = np.mgrid[0:600, 0:900]
    scene = np.stack([(xx * 255 // 900), (yy * 255 // 600), np.full_like(xx, 120)], axis=-1).astype(np.uint8)
    cv2.circle(scene, (450, 300), 120, (30, 160, 60), -1)          # a landscape with a green ball, no text
    out = io.BytesIO()
    Image.fromarray(scene).save(out, format="JPEG")
    extraction = extract_document(out.getvalue(), options=ReadOptions(), source="holiday.jpg")
    assert extraction.document_type.value == "other"
    assert [i.code for i in extraction.issues] == ["no_document_found"]


@needs_font
def test_an_invoice_whose_qr_is_no_vat_payload_keeps_its_printed_fields():
    from extractors.extract import extract_document
    from extractors.options import ReadOptions
    rng = random.Random(43)
    invoice = synth_cn.random_vat_invoice(rng)
    pdf = synth_cn.vat_invoice_pdf(invoice, qr_payload="https://example.com/not-a-vat-payload")
    scan = synth_cn.scanned_variant(pdf, rng, photo=False)
    extraction = extract_document(scan, options=ReadOptions())
    assert "qr_payload_invalid" in [i.code for i in extraction.issues]
    assert extraction.fields["document_number"].value == invoice.number
    assert extraction.fields["document_number"].confidence < 1.0           # read from the print, not the QR


@needs_realdocs("sroie")
def test_a_sheet_that_runs_off_the_image_is_not_warped():
    """A close-up of a receipt with a torn corner (SROIE 354): the dark corner is no desk, the sheet runs
    off the image and has no outline to warp to."""
    from PIL import Image
    photo = np.asarray(Image.open(REALDOCS / "sroie" / "sroie_354.jpg").convert("RGB"))
    flat, found = flatten_page(photo)
    assert found is None and flat is photo
