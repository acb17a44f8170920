"""The Layout tree and the PDF text-layer reader."""

from __future__ import annotations

import io

import pypdfium2 as pdfium

from extractors.layout import BBox, Layout, Word, group_words_into_lines
from extractors.options import ReadOptions
from extractors.pdf_text import open_pdf, read_text_page, text_layer_is_usable
from extractors.reader import read_document


def test_json_round_trip(demo_pdf_bytes):
    layout = read_document(demo_pdf_bytes, ReadOptions()).layout
    again = Layout.from_json(layout.to_json())
    assert again.text() == layout.text()
    assert again.pages[0].lines[0].words[0].bbox == BBox(*layout.pages[0].lines[0].words[0].bbox.rounded(3))


def test_words_and_boxes_of_a_text_layer(demo_pdf_bytes):
    page = read_document(demo_pdf_bytes, ReadOptions()).layout.pages[0]
    assert page.width == 595 and page.height == 842 and page.source == "text-layer"
    words = {w.text: w for w in page.words()}
    title = words["RECHNUNG"]
    assert title.bbox.x1 > 450 and title.bbox.y0 < 80  # top right, origin top-left
    assert any(line.text == "Nordfrost Lebensmittel GmbH" for line in page.lines)


def _rotated(pdf_bytes: bytes, degrees: int) -> bytes:
    doc = pdfium.PdfDocument(pdf_bytes)
    doc[0].set_rotation(degrees)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def test_a_stray_page_rotation_does_not_turn_the_text(demo_pdf_bytes):
    for degrees in (90, 180, 270):
        page = read_document(_rotated(demo_pdf_bytes, degrees), ReadOptions()).layout.pages[0]
        assert any(ln.text == "Nordfrost Lebensmittel GmbH" for ln in page.lines)


def _sideways_pdf(matrix: str) -> bytes:
    import pikepdf
    pdf = pikepdf.new()
    font = pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica)
    content = (f"BT /F1 12 Tf {matrix} Tm (Invoice No. 4711) Tj ET "
               f"BT /F1 12 Tf {matrix.rsplit(' ', 2)[0]} 330 420 Tm (Total 99.50 EUR) Tj ET").encode()
    page = pikepdf.Dictionary(Type=pikepdf.Name.Page, MediaBox=[0, 0, 595, 842],
                              Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
                              Contents=pdf.make_stream(content))
    pdf.pages.append(pikepdf.Page(page))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def test_sideways_text_is_turned_upright():
    for matrix, rotation in (("0 1 -1 0 300 400", 90), ("-1 0 0 -1 400 500", 180), ("0 -1 1 0 300 600", 270)):
        page = read_document(_sideways_pdf(matrix), ReadOptions()).layout.pages[0]
        texts = [ln.text for ln in page.lines]
        assert "Invoice No. 4711" in texts and "Total 99.50 EUR" in texts, (rotation, texts)
        assert page.rotation == rotation
        if rotation in (90, 270):
            assert (page.width, page.height) == (842, 595)


def test_big_title_does_not_swallow_small_lines_beside_it():
    words = [Word("FACTUUR", BBox(45, 43, 133, 67)), Word("Coolblue", BBox(445, 45.6, 480, 56.5)),
             Word("B.V.", BBox(482, 45.6, 497, 56.5)), Word("Weena", BBox(445, 59.8, 471, 70.6)),
             Word("664", BBox(473, 59.8, 486, 70.6))]
    texts = [ln.text for ln in group_words_into_lines(words, gap_factor=1.5)]
    assert "Coolblue B.V." in texts and "Weena 664" in texts


def test_junk_text_layer_is_not_usable(demo_pdf_bytes):
    page = read_text_page(open_pdf(demo_pdf_bytes, ReadOptions()), 0)
    assert text_layer_is_usable(page)
    junk = [Word("\ue001\ue002\ue003", BBox(0, 0, 10, 10)), Word("\ue004\ue005\ue006\ue007", BBox(20, 0, 30, 10))]
    from extractors.layout import Page
    assert not text_layer_is_usable(Page(1, 595, 842, group_words_into_lines(junk)))
    assert not text_layer_is_usable(Page(1, 595, 842, ()))


def test_a_media_box_inherited_from_the_page_tree_gives_the_real_page_and_boxes():
    """fpdf2 and other generators put /MediaBox on /Pages only; PDFium's get_cropbox() then answers US
    Letter, and every box would sit off by the difference in height."""
    from fpdf import FPDF
    from extractors.options import ReadOptions
    from extractors.reader import read_document
    pdf = FPDF(unit="pt", format="A4")
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    pdf.text(50, 100, "Hello World 123")          # baseline at y = 100 from the top
    pdf.text(50, 300, "Bottom line")
    page = read_document(bytes(pdf.output()), ReadOptions()).layout.pages[0]
    assert round(page.width) == 595 and round(page.height) == 842
    hello = page.lines[0].words[0]
    assert hello.text == "Hello" and 88 < hello.bbox.y0 < 100 < hello.bbox.y1 < 104
