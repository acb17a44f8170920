"""The hostile corpus (fixtures/hostile.py) through `inbound extract`'s reading and the drop box's parsing, each
file in its own child process under a 2 GB address-space limit and a 60 s CPU limit (resource.setrlimit): every
file is refused with a stable code and a sentence a clerk can read (in English and Chinese), or read; none
crashes, runs out of memory or time, or leaves a temp file behind.  Each file's time and peak memory are printed
at the end (the figures for the closing note).  INBOUND_LONG_TESTS=1 adds the heavy variants (gigabyte bombs, a
14,400 pt page, a 10,000-page TIFF).

Also the pixel caps themselves: a 4000 pt and a 14,400 pt page render at most 40 Mpx, in the OCR reader and on
the review screen.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile

import pytest

from fixtures.hostile import LIMIT_BYTES, LIMIT_S, corpus, run_limited, text_pdf

LONG = os.environ.get("INBOUND_LONG_TESTS") == "1"
CORPUS = {item.name: item for item in corpus(long=LONG)}
STABLE = {"empty_file", "corrupt_file", "encrypted_document", "too_large", "unsupported_type", "unsafe_xml",
          "mime_too_deep", "too_many_attachments"}
FIGURES: dict[str, dict] = {}
PRELOAD = ["extractors.extract", "extractors.reader", "extractors.pdf_text", "extractors.images", "extractors.ofd",
           "extractors.ocr", "pipeline.intake_email"]


@pytest.fixture(scope="module")
def pool(request):
    """One fresh child per file (maxtasksperchild=1), forked from a server that imported the readers once."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    workers = context.Pool(1, maxtasksperchild=1)
    yield workers
    workers.terminate()
    workers.join()
    if not FIGURES:
        return
    lines = ["", f"hostile corpus: {len(FIGURES)} files (limits {LIMIT_S} s, {LIMIT_BYTES >> 20} MB each)"]
    lines += [f"  {name:30} {got['code']:22} {got['seconds']:6.2f} s {got['peak_mb']:6} MB  {got['reason'][:60]}"
              for name, got in FIGURES.items()]
    if os.environ.get("INBOUND_HOSTILE_REPORT"):            # a JSON copy of the figures, for the closing note
        import json
        with open(os.environ["INBOUND_HOSTILE_REPORT"], "w") as fh:
            json.dump(FIGURES, fh, indent=1)
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print("\n".join(lines))


@pytest.mark.parametrize("name", list(CORPUS))
def test_each_hostile_file_is_refused_cleanly_or_read(pool, name, tmp_path):
    from review_ui.issue_texts import MESSAGES
    item = CORPUS[name]
    tmp = tempfile.mkdtemp(dir=tmp_path)
    try:
        got = pool.apply_async(run_limited, (item.name, item.data, tmp)).get(timeout=LIMIT_S + 30)
    except multiprocessing.TimeoutError:
        pytest.fail(f"{name}: still running after {LIMIT_S + 30} s")
    FIGURES[name] = got
    assert got["code"] not in ("crash", "memory_error", "recursion_error"), got
    if item.expect == "refused_or_read":
        assert got["code"] == "read" or got["code"] in STABLE, got
    else:
        assert got["code"] == item.expect, got
    if got["code"] != "read":
        reason = got["reason"]
        assert reason and reason[0].isupper() and reason.rstrip().endswith((".", ";")), got
        assert "Traceback" not in reason and "Error" not in reason, got
        if not name.endswith(".eml"):           # shown on the review screen: in Chinese too
            assert got["code"] in MESSAGES, got
    assert got["seconds"] < LIMIT_S and got["peak_mb"] < LIMIT_BYTES >> 20, got
    assert got["tmp_left"] == [], f"{name} left temp files behind: {got['tmp_left']}"


@pytest.mark.parametrize("points", [4000, 14_400])
def test_a_huge_page_renders_under_the_pixel_cap(points):
    """~200 bytes of PDF must not become a 123 Mpx (or, at 14,400 pt, a 1.6 Gpx) bitmap."""
    from extractors.options import ReadOptions
    from extractors.pdf_text import open_pdf, render_page
    options = ReadOptions()
    pdf = open_pdf(text_pdf(size=(points, points), content=b"0 0 m 10 10 l S"), options)
    try:
        image, points_per_pixel = render_page(pdf, 0, dpi=options.ocr_dpi, max_pixels=options.max_render_pixels)
    finally:
        pdf.close()
    assert image.width * image.height <= options.max_render_pixels
    assert image.width * image.height > options.max_render_pixels * 0.9        # coarser, not thumbnail-sized
    assert abs(image.width * points_per_pixel - points) < 2                    # boxes still map to points


def test_the_review_screen_renders_a_huge_page_under_the_cap():
    import io
    from PIL import Image
    from review_ui.pages import MAX_PAGE_PIXELS, _pdf_png
    png = _pdf_png(text_pdf(size=(14_400, 14_400), content=b"0 0 m 10 10 l S"), 0)
    image = Image.open(io.BytesIO(png))
    assert image.width * image.height <= MAX_PAGE_PIXELS


def test_the_review_screen_refuses_a_bomb_before_pdfium():
    from extractors.errors import TooLarge
    from review_ui.pages import _pdf_png, _pdf_sizes
    bomb = CORPUS["deflate_bomb.pdf"].data
    with pytest.raises(TooLarge):
        _pdf_sizes(bomb)
    with pytest.raises(TooLarge):
        _pdf_png(bomb, 0)


def test_a_multi_frame_tiff_past_the_total_pixel_budget_is_refused_before_decoding():
    from extractors.errors import TooLarge
    from extractors.images import iter_images
    from extractors.options import ReadOptions
    from fixtures.hostile import tiff_frames
    data = tiff_frames(20, (100, 100))
    with pytest.raises(TooLarge):
        iter_images(data, ReadOptions(max_total_pixels=150_000))
    assert len(list(iter_images(data, ReadOptions()))) == 20


def test_an_embedded_file_bomb_is_refused_by_embedded_invoice_xml_alone():
    from extractors.errors import TooLarge
    from extractors.pdf_text import embedded_invoice_xml
    with pytest.raises(TooLarge):
        embedded_invoice_xml(CORPUS["zugferd_bomb.pdf"].data)


def test_reading_an_image_leaves_no_temp_file(tmp_path):
    """A fresh process (as each isolated read is) reads a scan: nothing is left in its TMPDIR (onnxruntime wrote
    its session file, .ses, there on import)."""
    import subprocess
    import sys
    from pathlib import Path
    scan = Path(__file__).resolve().parents[1] / "fixtures" / "demo" / "RE-2026-0412-scan.jpg"
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    code = ("import sys; from extractors.extract import extract_document; "
            f"extract_document(open({str(scan)!r}, 'rb').read(), source='scan.jpg')")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120, cwd=Path(__file__).resolve().parents[1],
                   env={**os.environ, "TMPDIR": str(tmp)})
    assert sorted(p.name for p in tmp.iterdir()) == []
