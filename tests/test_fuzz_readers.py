"""Fuzzing every reader with hypothesis: seeds from the fixtures (a text PDF, the demo scan, a PNG, a TIFF, an
OFD, UBL and CII XML, e-mail messages), mutated (bytes flipped, cut, spliced, repeated, inserted); any exception
other than the readers' own InputError family (extractors.errors) is a failure, and so is a MemoryError or
RecursionError hidden inside one.  Bounded in CI (INBOUND_FUZZ_EXAMPLES, 50 by default, no deadline);
INBOUND_LONG_TESTS=1 runs 2,000 examples a reader.

Readers are called with small limits (pages, pixels, unpacked bytes), so a mutation that makes a file claim to
be huge is refused quickly instead of being decoded; OCR is left out (rendering and OCR of a mutated page is
slow and is exercised by the hostile corpus), so the PDF fuzz reads the text layer, the attachments and the
stream check, the image fuzz decodes frames.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from extractors.errors import InputError
from extractors.options import ReadOptions
from fixtures.hostile import crlf_name_mail, mail, nested_mime, ofd, text_pdf, tiff_frames, zugferd_xxe

ROOT = Path(__file__).resolve().parents[1]
LONG = os.environ.get("INBOUND_LONG_TESTS") == "1"
EXAMPLES = int(os.environ.get("INBOUND_FUZZ_EXAMPLES") or (2000 if LONG else 50))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=not LONG, database=None,
                suppress_health_check=list(HealthCheck))
SMALL = ReadOptions(max_pages=5, max_pixels=4_000_000, max_total_pixels=8_000_000,
                    max_unpacked_bytes=8 * 1024 * 1024, max_pdf_inflated_bytes=16 * 1024 * 1024,
                    max_render_pixels=1_000_000)


def _png() -> bytes:
    from PIL import Image
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(out, format="PNG")
    return out.getvalue()


def _jpeg() -> bytes:
    path = ROOT / "fixtures" / "demo" / "RE-2026-0412-scan.jpg"
    if path.exists() and path.stat().st_size < 600_000:
        return path.read_bytes()
    from PIL import Image
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "white").save(out, format="JPEG")
    return out.getvalue()


PDF_SEEDS = [text_pdf(), zugferd_xxe(), (ROOT / "fixtures" / "demo" / "INV-88213.pdf").read_bytes()]
IMAGE_SEEDS = [_png(), _jpeg(), tiff_frames(3)]
OFD_SEEDS = [ofd({})]
XML_SEEDS = [(ROOT / "fixtures" / "ubl" / "minimal_invoice.xml").read_bytes(),
             b'<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100">'
             b"<rsm:ExchangedDocument><ram:ID xmlns:ram=\"urn:un:unece:uncefact:data:standard:"
             b"ReusableAggregateBusinessInformationEntity:100\">INV-1</ram:ID></rsm:ExchangedDocument>"
             b"</rsm:CrossIndustryInvoice>"]
MIME_SEEDS = [mail([("a.pdf", text_pdf())]), crlf_name_mail(text_pdf()), nested_mime(4)]


@st.composite
def mutated(draw, seeds: list[bytes]) -> bytes:
    """A seed with a few mutations: flipped bytes, a cut, a copied run, inserted bytes, a spliced other seed."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(("flip", "cut", "repeat", "insert", "splice", "zero")))
        n = len(data)
        at = draw(st.integers(0, max(0, n - 1)))
        if op == "flip" and n:
            data[at] = draw(st.integers(0, 255))
        elif op == "cut":
            del data[at:at + draw(st.integers(1, max(1, n // 4)))]
        elif op == "repeat" and n:
            run = data[at:at + draw(st.integers(1, 64))]
            data[at:at] = run * draw(st.integers(1, 50))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=32))
        elif op == "splice":
            other = draw(st.sampled_from(seeds))
            data[at:] = other[draw(st.integers(0, max(0, len(other) - 1))):]
        elif op == "zero" and n:
            data[at:at + 16] = b"\0" * len(data[at:at + 16])
    return bytes(data)


def _only_input_errors(call, data: bytes) -> None:
    try:
        call(data)
    except InputError as exc:
        cause = exc.__cause__
        while cause is not None:
            assert not isinstance(cause, (MemoryError, RecursionError)), f"{exc.code} hid {cause!r}"
            cause = cause.__cause__
        assert exc.message and exc.code


def _pdf(data: bytes) -> None:
    from extractors.pdf_text import check_streams, embedded_invoice_xml, open_pdf, read_text_page
    from extractors.reader import PDFIUM_LOCK
    with PDFIUM_LOCK:
        check_streams(data, SMALL)
        pdf = open_pdf(data, SMALL)
        try:
            for i in range(len(pdf)):
                read_text_page(pdf, i)
        finally:
            pdf.close()
        embedded_invoice_xml(data, SMALL, streams_checked=True)


def _image(data: bytes) -> None:
    from extractors.images import iter_images
    for image in iter_images(data, SMALL):
        assert image.mode == "RGB"


def _ofd(data: bytes) -> None:
    from extractors.ofd import ofd_attachments, read_ofd
    read_ofd(data, SMALL)
    ofd_attachments(data, SMALL)


def _xml(data: bytes) -> None:
    from extractors.extract import extract_document
    extract_document(data, source="fuzz.xml", options=SMALL)


def _mime(data: bytes) -> None:
    from models.documents import display_filename
    from pipeline.intake_email import MessageRefused, attachments, parse_message
    try:
        parts = attachments(parse_message(data, max_depth=10))
    except MessageRefused as exc:
        assert exc.code and exc.message
        return
    for part in parts:
        name = display_filename(part.filename)
        assert name and all(ch >= " " and ch != "\x7f" for ch in name), repr(name)


@FUZZ
@given(mutated(PDF_SEEDS))
def test_fuzz_pdf(data):
    _only_input_errors(_pdf, data)


@FUZZ
@given(mutated(IMAGE_SEEDS))
def test_fuzz_image(data):
    _only_input_errors(_image, data)


@FUZZ
@given(mutated(OFD_SEEDS))
def test_fuzz_ofd(data):
    _only_input_errors(_ofd, data)


@FUZZ
@given(mutated(XML_SEEDS))
def test_fuzz_xml(data):
    _only_input_errors(_xml, data)


@FUZZ
@given(mutated(MIME_SEEDS))
def test_fuzz_mime(data):
    _only_input_errors(_mime, data)


@pytest.mark.parametrize("depth", [11, 200, 3000])
def test_mime_depth_is_refused_not_recursion(depth):
    from pipeline.intake_email import MessageRefused, parse_message
    with pytest.raises(MessageRefused):
        parse_message(nested_mime(depth), max_depth=10)
    assert parse_message(nested_mime(5), max_depth=10) is not None
