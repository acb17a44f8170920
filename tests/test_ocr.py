"""OCR reading path: image decoding guards (extractors.images) and real PP-OCR reads (extractors.ocr).

The real-receipt tests need ../shared/realdocs/sroie next to the repository; they are skipped
without it.  About 10-15 s on 2 cores (model loading included).
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from extractors.errors import CorruptFile, EmptyFile, TooLarge, UnsupportedType
from extractors.images import image_points_per_pixel, load_images
from extractors.layout import Page
from extractors.ocr import ocr_engine_name, ocr_page
from pipeline.bench.ocr import cer, page_text_for_cer, sroie_truth_text
from extractors.options import ReadOptions

SROIE = Path(__file__).resolve().parents[2] / "shared" / "realdocs" / "sroie"
needs_sroie = pytest.mark.skipif(not (SROIE / "sroie_003.jpg").is_file(),
                                 reason="shared/realdocs/sroie is not available")


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _read(name: str, rotate: int = 0) -> tuple[Page, str]:
    image = load_images((SROIE / f"{name}.jpg").read_bytes(), ReadOptions())[0]
    if rotate:
        image = image.rotate(rotate, expand=True, fillcolor="white")
    page = ocr_page(image, page_number=1, points_per_pixel=image_points_per_pixel(image))
    return page, sroie_truth_text(SROIE / f"{name}.ocr.csv")


@pytest.fixture(scope="module")
def upright_019() -> tuple[Page, str]:
    return _read("sroie_019")


# ---------------------------------------------------------------- real OCR


@needs_sroie
def test_sroie_003_total_and_cer() -> None:
    page, truth = _read("sroie_003")
    text = page_text_for_cer(page)
    assert "80.90" in text  # total_amount of sroie_003.json
    assert cer(text, truth) < 0.10
    assert page.source == f"ppocr:{ocr_engine_name()}" and page.rotation == 0
    assert any(w.text == "80.91" for w in page.words())  # columns split into words


@needs_sroie
def test_boxes_are_page_points_inside_the_page() -> None:
    image = load_images((SROIE / "sroie_003.jpg").read_bytes(), ReadOptions())[0]
    page = ocr_page(image, page_number=2, points_per_pixel=0.5)
    assert (page.number, page.width, page.height) == (2, image.width * 0.5, image.height * 0.5)
    for word in page.words():
        assert " " not in word.text and 0.0 <= word.confidence <= 1.0
        assert 0 <= word.bbox.x0 <= word.bbox.x1 <= page.width
        assert 0 <= word.bbox.y0 <= word.bbox.y1 <= page.height
    tops = [line.bbox.y0 for line in page.lines]
    assert tops[0] < tops[len(tops) // 2] < tops[-1]


@needs_sroie
def test_sroie_019_reads_well(upright_019: tuple[Page, str]) -> None:
    page, truth = upright_019
    assert cer(page_text_for_cer(page), truth) < 0.10


@needs_sroie
@pytest.mark.parametrize("angle, expected", [(90, 90), (180, 180)])
def test_rotated_receipt_reads_nearly_as_well(upright_019: tuple[Page, str], angle: int,
                                              expected: int) -> None:
    upright, truth = upright_019
    page, _ = _read("sroie_019", rotate=angle)  # PIL turns counter-clockwise
    assert page.rotation == expected
    assert page.width == pytest.approx(upright.width) and page.height == pytest.approx(upright.height)
    assert cer(page_text_for_cer(page), truth) < cer(page_text_for_cer(upright), truth) + 0.03


def test_models_load_from_the_wheel_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    from rapidocr.utils.download_file import DownloadFile

    from extractors import ocr

    def no_download(*args: object, **kwargs: object) -> None:
        raise AssertionError("rapidocr tried to download a model")

    monkeypatch.setattr(DownloadFile, "run", no_download)
    engine = ocr._build_engine()  # a fresh build, not the cached singleton
    assert engine.det is not None and engine.rec is not None and len(engine.charset) > 1000


# ---------------------------------------------------------------- decoding and guards


def test_exif_rotated_jpeg_is_read_upright() -> None:
    upright = Image.new("RGB", (60, 100), "white")
    upright.paste((255, 0, 0), (0, 0, 20, 20))  # red mark top-left
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # camera stored it turned
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 CW to display
    buf = io.BytesIO()
    stored.save(buf, format="JPEG", exif=exif, quality=95)
    [image] = load_images(buf.getvalue(), ReadOptions())
    assert image.mode == "RGB" and image.size == (60, 100)
    r, g, b = image.getpixel((5, 5))
    assert r > 200 and g < 60 and b < 60


def test_multi_page_tiff_gives_every_page() -> None:
    pages = [Image.new("L", (40 + 10 * i, 30), 255 - 40 * i) for i in range(3)]
    buf = io.BytesIO()
    pages[0].save(buf, format="TIFF", save_all=True, append_images=pages[1:], dpi=(300, 300))
    images = load_images(buf.getvalue(), ReadOptions())
    assert [im.size for im in images] == [(40, 30), (50, 30), (60, 30)]
    assert all(im.mode == "RGB" for im in images)
    assert image_points_per_pixel(images[0]) == pytest.approx(72 / 300)
    with pytest.raises(TooLarge):
        load_images(buf.getvalue(), ReadOptions(max_pages=2))


def test_png_webp_bmp_and_transparency() -> None:
    rgba = Image.new("RGBA", (20, 10), (0, 0, 0, 0))
    [image] = load_images(_png(rgba), ReadOptions())
    assert image.getpixel((3, 3)) == (255, 255, 255)  # transparent -> white, not black
    for fmt in ("WEBP", "BMP"):
        buf = io.BytesIO()
        Image.new("RGB", (20, 10), (10, 200, 10)).save(buf, format=fmt)
        assert load_images(buf.getvalue(), ReadOptions())[0].size == (20, 10)


@pytest.fixture(scope="module")
def bomb_png() -> bytes:
    return _png(Image.new("1", (30000, 30000)))  # 900 Mpx, about 100 kB on disk


def test_decompression_bomb_is_too_large(bomb_png: bytes) -> None:
    assert len(bomb_png) < 2_000_000
    with pytest.raises(TooLarge) as info:
        load_images(bomb_png, ReadOptions())
    assert info.value.code == "too_large" and info.value.message


def test_max_pixels_is_checked_before_decoding() -> None:
    data = _png(Image.new("RGB", (200, 200), "white"))
    with pytest.raises(TooLarge):
        load_images(data, ReadOptions(max_pixels=10_000))
    assert len(load_images(data, ReadOptions(max_pixels=40_000))) == 1


@needs_sroie
def test_truncated_jpeg_is_corrupt() -> None:
    data = (SROIE / "sroie_003.jpg").read_bytes()
    with pytest.raises(CorruptFile) as info:
        load_images(data[: len(data) // 2], ReadOptions())
    assert info.value.code == "corrupt_file"


def test_empty_and_unknown_bytes() -> None:
    with pytest.raises(EmptyFile):
        load_images(b"", ReadOptions())
    with pytest.raises(UnsupportedType):
        load_images(b"%PDF-1.7 not an image", ReadOptions())
    with pytest.raises(CorruptFile):
        load_images(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, ReadOptions())
