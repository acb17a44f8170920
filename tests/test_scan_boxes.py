"""Boxes of values read by OCR lie on the page as received (issue 14 item 4).

The OCR reader straightens a page before reading it (sheet flattened, turned, deskewed) and its boxes are in that
frame; `extractors.extract.boxes_on_received_page` moves the final values' boxes back through `Page.frame`.  Here a
Latin invoice is drawn with PIL at known positions, turned a few degrees or photographed on a desk, and the boxes
of its document number, date and total must hold the ink of those words on the image as received.
"""

from __future__ import annotations

import io
import math
import random
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from extractors import extract_or_fail
from extractors.extract import boxes_on_received_page, extract_from_layout
from extractors.layout import BBox, PageFrame
from extractors.options import ReadOptions
from extractors.reader import read_document

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
DPI = 150
SIZE = (1240, 1754)          # A4 at 150 dpi
SLACK_PX = 4                 # a box may fall short of the ink by this much (character positions are estimated)
VALUES = {"document_number": "INV-20417", "document_date": "15.03.2024", "total_amount": "398.13"}
ROWS = [  # x, y (px), text, font size (px)
    (90, 90, "ACME Tools GmbH", 44), (90, 160, "Hauptstrasse 12, 10115 Berlin", 26), (90, 300, "INVOICE", 48),
    (90, 400, "Invoice No:", 28), (400, 400, VALUES["document_number"], 28),
    (90, 450, "Invoice Date:", 28), (400, 450, VALUES["document_date"], 28),
    (90, 600, "Description", 26), (700, 600, "Qty", 26), (950, 600, "Amount", 26),
    (90, 660, "Hex bolts M8 galvanised", 26), (700, 660, "100", 26), (950, 660, "250.00", 26),
    (90, 710, "Washers steel 8 mm", 26), (700, 710, "200", 26), (950, 710, "84.56", 26),
    (90, 900, "Subtotal", 28), (950, 900, "334.56", 28), (90, 950, "VAT 19%", 28), (950, 950, "63.57", 28),
    (90, 1000, "Total EUR", 28), (950, 1000, VALUES["total_amount"], 28),
]
needs_font = pytest.mark.skipif(not FONT.exists(), reason="DejaVuSans not installed")


def invoice_page() -> tuple[Image.Image, dict[str, Image.Image]]:
    """The page, and for each field of VALUES a mask holding only that value's ink."""
    page = Image.new("RGB", SIZE, "white")
    masks = {}
    for x, y, text, size in ROWS:
        font = ImageFont.truetype(str(FONT), size)
        ImageDraw.Draw(page).text((x, y), text, fill="black", font=font)
        for name, value in VALUES.items():
            if value == text:
                masks[name] = Image.new("L", SIZE, 0)
                ImageDraw.Draw(masks[name]).text((x, y), text, fill=255, font=font)
    return page, masks


def turned_scan(degrees: float) -> tuple[Image.Image, dict[str, Image.Image]]:
    page, masks = invoice_page()

    def turn(image: Image.Image, fill) -> Image.Image:
        return image.rotate(degrees, resample=Image.BICUBIC, expand=True, fillcolor=fill)
    return turn(page, "white"), {k: turn(m, 0) for k, m in masks.items()}


def desk_photo() -> tuple[Image.Image, dict[str, Image.Image]]:
    """The page lying on a dark desk, photographed from an angle (its corners pulled apart)."""
    page, masks = invoice_page()
    w, h = SIZE
    matrix = cv2.getPerspectiveTransform(np.float32([[0, 0], [w, 0], [w, h], [0, h]]),
                                         np.float32([[180, 140], [1300, 210], [1360, 1830], [110, 1760]]))
    out = (1480, 1960)

    def warp(image) -> np.ndarray:
        return cv2.warpPerspective(np.asarray(image), matrix, out, flags=cv2.INTER_LINEAR)
    sheet = warp(np.full((h, w), 255, np.uint8)) > 127
    photo = np.full((out[1], out[0], 3), (70, 60, 50), np.uint8)
    photo[sheet] = warp(page)[sheet]
    return Image.fromarray(photo), {k: Image.fromarray(warp(m)) for k, m in masks.items()}


def encoded(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, dpi=(DPI, DPI), **({"quality": 92} if fmt == "JPEG" else {}))
    return out.getvalue()


def ink_px(mask: Image.Image) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(np.asarray(mask) > 100)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def assert_boxes_hold_ink(image: Image.Image, masks: dict[str, Image.Image], fmt: str) -> None:
    extraction = extract_or_fail(encoded(image, fmt))
    px = DPI / 72
    for name, mask in masks.items():
        field = extraction.fields.get(name)
        assert field is not None and field.bbox is not None, name
        box = [v * px for v in (field.bbox.x0, field.bbox.y0, field.bbox.x1, field.bbox.y1)]
        x0, y0, x1, y1 = ink_px(mask)
        assert box[0] <= x0 + SLACK_PX and box[1] <= y0 + SLACK_PX, (name, box, (x0, y0, x1, y1))
        assert box[2] >= x1 - SLACK_PX and box[3] >= y1 - SLACK_PX, (name, box, (x0, y0, x1, y1))
        # and not a box around half the page: at most a row's height of slack around the ink
        assert box[3] - box[1] <= 2.2 * (y1 - y0) and box[2] - box[0] <= (x1 - x0) + 2 * (y1 - y0), name


@needs_font
def test_boxes_of_a_turned_scan_hold_the_ink_on_the_image_as_received():
    image, masks = turned_scan(-2.5)   # before the fix: 18 px left of the number, the total's box 6 px too high
    assert_boxes_hold_ink(image, masks, "PNG")


@needs_font
def test_boxes_of_a_photographed_sheet_hold_the_ink_on_the_photo():
    image, masks = desk_photo()        # before the fix: boxes in the flattened sheet's frame, ~150 px off
    assert_boxes_hold_ink(image, masks, "JPEG")


def test_text_pdf_boxes_are_those_of_its_text_layer():
    pdf = sorted(Path(__file__).resolve().parents[2].glob("shared/realdocs/zugferd_corpus/*.pdf"))
    if not pdf:
        pytest.skip("the ZUGFeRD corpus is not here")
    options = ReadOptions(use_embedded=False)
    read = read_document(pdf[0].read_bytes(), options)
    assert all(page.frame is None for page in read.layout.pages)
    extraction = extract_from_layout(read.layout)
    assert boxes_on_received_page(extraction, read.layout) is extraction


# ---------------------------------------------------------------- the frame's arithmetic, against OpenCV


def _straightened(point, *, corners, flat, turn, skew):
    """What the reader does to a point of the received image (px): flatten, turn clockwise, deskew."""
    w, h = flat
    target = np.float32([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]])
    m = cv2.getPerspectiveTransform(np.float32(corners), target)
    x, y = cv2.perspectiveTransform(np.float32([[[point[0] - 0.5, point[1] - 0.5]]]), m)[0, 0] + 0.5
    for step in ((90,) if turn == 90 else (180,) if turn == 180 else (90, 180) if turn == 270 else ()):
        x, y, w, h = (h - y, x, h, w) if step == 90 else (w - x, h - y, w, h)
    r = cv2.getRotationMatrix2D((w / 2, h / 2), skew, 1.0)
    return r[0, 0] * x + r[0, 1] * y + r[0, 2], r[1, 0] * x + r[1, 1] * y + r[1, 2]


@pytest.mark.parametrize("turn", [0, 90, 180, 270])
def test_frame_undoes_flattening_turning_and_deskewing(turn):
    from extractors.photo import flat_to_received
    rng = random.Random(turn)
    corners = ((40.0, 30.0), (930.0, 55.0), (960.0, 1290.0), (20.0, 1250.0))
    flat, skew, ppp = (900, 1230), 1.7, 72 / 150
    frame = PageFrame(received_px=(1000, 1333), flat_px=flat, flat_to_received=flat_to_received(corners, flat),
                      turn=turn, skew=skew, points_per_pixel=ppp)
    for _ in range(20):
        p = (rng.uniform(50, 900), rng.uniform(60, 1200))
        x, y = _straightened(p, corners=corners, flat=flat, turn=turn, skew=skew)
        back = frame.point_to_received(x * ppp, y * ppp)
        assert math.dist((back[0] / ppp, back[1] / ppp), p) < 0.01


def test_frame_box_is_the_box_around_the_corners_and_round_trips_through_json():
    frame = PageFrame(received_px=(800, 600), flat_px=(800, 600), flat_to_received=None, turn=90, skew=0.0,
                      points_per_pixel=1.0)
    # turned 90 clockwise: the straightened page is 600 wide, 800 high; its top-left corner is the
    # received image's bottom-left
    assert frame.box_to_received(BBox(0, 0, 100, 50)) == BBox(0, 500, 50, 600)
    assert PageFrame.from_json(frame.to_json()) == frame


def test_review_screen_shows_an_exif_turned_photo_upright_as_the_reader_reads_it():
    from extractors.images import load_images
    from review_ui.pages import page_png, page_sizes
    image = Image.new("RGB", (300, 200), "white")
    exif = Image.Exif()
    exif[0x0112] = 6                   # orientation: turn 90 degrees clockwise to show
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, dpi=(DPI, DPI))
    data = out.getvalue()
    upright = load_images(data, ReadOptions())[0]
    assert upright.size == (200, 300)
    (size,) = page_sizes(data, "image", None)
    assert (round(size.width / 72 * DPI), round(size.height / 72 * DPI)) == upright.size
    assert Image.open(io.BytesIO(page_png("exif-test", data, "image", 0, size))).size == upright.size


def test_qr_code_boxes_are_already_on_the_page_as_received_and_stay():
    from extractors.layout import Layout, Line, Page, Word
    from extractors.result import DocumentType, Extraction, Field
    frame = PageFrame(received_px=(800, 600), flat_px=(800, 600), flat_to_received=None, turn=180, skew=0.0,
                      points_per_pixel=1.0)
    word = Word("No.123", BBox(10, 10, 60, 20))
    qr_box = BBox(700, 20, 780, 100)
    layout = Layout(pages=(Page(1, 800, 600, (Line((word,)),), rotation=180, source="ppocr:x", frame=frame),),
                    source="ppocr:x", meta={"qr_codes": [(1, "01,10,...", qr_box)]})
    extraction = Extraction(DocumentType.VAT_INVOICE, "zh",
                            {"document_number": Field("123", "No.123", 0.9, 1, word.bbox),
                             "total_amount": Field("5", "", 1.0, 1, qr_box)}, ())
    moved = boxes_on_received_page(extraction, layout)
    assert moved.fields["document_number"].bbox == BBox(740, 580, 790, 590)   # turned back by 180 degrees
    assert moved.fields["total_amount"].bbox == qr_box
