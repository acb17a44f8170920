"""OFD pages drawn for the review screen (review_ui.ofd_render through review_ui.pages): the page size is the
PhysicalBox in points, the unit of the extraction's boxes, and what is drawn sits where those boxes say.
A small OFD built here pins positions; the real e-invoice shows text, form grid, QR code and seal; broken and
hostile files fall back to the blank page with the read text, without raising."""

from __future__ import annotations

import hashlib
import io
import logging
import time
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from conftest import REALDOCS, needs_realdocs
from extractors.ofd import MM_TO_PT, read_ofd
from extractors.options import ReadOptions
from review_ui import pages
from review_ui.ofd_render import CJK_FONT, MAX_SIDE_PX, ofd_page_sizes, path_points, render_ofd_page

SAMPLE = REALDOCS / "ofdrw_ofd_einvoices" / "ofd_fapiao_shili.ofd"
PX_PER_MM = pages.RENDER_SCALE * MM_TO_PT
NS = 'xmlns:ofd="http://www.ofdspec.org/2016"'
CHECKER = [[(0 if (x // 2 + y // 2) % 2 == 0 else 255) for x in range(8)] for y in range(8)]   # 4 x 4 cells


def ofd_file(page_xml: str, *, template_xml: str = "", page_box: str = "0 0 100 60", extra_pages: tuple = ()) -> bytes:
    """A one-document OFD: the default PhysicalBox `page_box`, the page, an optional background template,
    a MultiMedia picture (ID 20, an 8 x 8 px black-and-white checkerboard) and more pages if given."""
    all_pages = (page_xml, *extra_pages)
    page_refs = "".join(f'<ofd:Page ID="{n + 1}" BaseLoc="Pages/Page_{n}/Content.xml"/>' for n in range(len(all_pages)))
    members = {
        "OFD.xml": f'<ofd:OFD {NS} DocType="OFD" Version="1.1"><ofd:DocBody>'
                   f'<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>',
        "Doc_0/Document.xml": f'<ofd:Document {NS}><ofd:CommonData>'
                              f'<ofd:PageArea><ofd:PhysicalBox>{page_box}</ofd:PhysicalBox></ofd:PageArea>'
                              f'<ofd:DocumentRes>DocumentRes.xml</ofd:DocumentRes>'
                              f'<ofd:TemplatePage ID="9" BaseLoc="Tpls/Tpl_0/Content.xml"/></ofd:CommonData>'
                              f'<ofd:Pages>{page_refs}</ofd:Pages></ofd:Document>',
        "Doc_0/DocumentRes.xml": f'<ofd:Res {NS} BaseLoc="Res"><ofd:MultiMedias><ofd:MultiMedia ID="20" Type="Image">'
                                 f'<ofd:MediaFile>pic.png</ofd:MediaFile></ofd:MultiMedia></ofd:MultiMedias></ofd:Res>',
        "Doc_0/Res/pic.png": _png(CHECKER),
        "Doc_0/Tpls/Tpl_0/Content.xml": f'<ofd:Page {NS}><ofd:Content><ofd:Layer>{template_xml}'
                                        f'</ofd:Layer></ofd:Content></ofd:Page>',
    }
    for n, xml in enumerate(all_pages):
        members[f"Doc_0/Pages/Page_{n}/Content.xml"] = xml
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in members.items():
            zf.writestr(name, body)
    return out.getvalue()


def page_xml(objects: str, *, area: str = "", template: bool = False) -> str:
    box = f"<ofd:Area><ofd:PhysicalBox>{area}</ofd:PhysicalBox></ofd:Area>" if area else ""
    tpl = '<ofd:Template TemplateID="9" ZOrder="Background"/>' if template else ""
    return f'<ofd:Page {NS}>{box}{tpl}<ofd:Content><ofd:Layer>{objects}</ofd:Layer></ofd:Content></ofd:Page>'


def _png(rows: list[list[int]]) -> bytes:
    image = Image.new("L", (len(rows[0]), len(rows)))
    image.putdata([v for row in rows for v in row])
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def drawn(data: bytes, index: int = 0, extraction: dict | None = None) -> Image.Image:
    """The page image exactly as the screen gets it (kind, sizes and PNG through review_ui.pages)."""
    sha = hashlib.sha256(data).hexdigest()
    kind = pages.kind_of(data, None)
    sizes = pages.page_sizes(data, kind, extraction, sha)
    return Image.open(io.BytesIO(pages.page_png(sha, data, kind, index, sizes[index], extraction))).convert("RGB")


def at_mm(image: Image.Image, x_mm: float, y_mm: float) -> tuple[int, int, int]:
    return image.getpixel((int(x_mm * PX_PER_MM), int(y_mm * PX_PER_MM)))


def region(image: Image.Image, box_pt) -> Image.Image:
    """The pixels under a box given in points (the extraction's unit)."""
    x0, y0, x1, y1 = box_pt
    scale = pages.RENDER_SCALE
    return image.crop((round(x0 * scale), round(y0 * scale), round(x1 * scale), round(y1 * scale)))


def share(image: Image.Image, test) -> float:
    pixels = list(image.get_flattened_data())
    return sum(1 for px in pixels if test(px)) / max(1, len(pixels))


def flat(pairs) -> list[float]:
    return [v for pair in pairs for v in pair]


def dark(px) -> bool:
    return sum(px) / 3 < 110


def red(px) -> bool:
    return px[0] > 200 and px[1] < 90 and px[2] < 90


SYNTHETIC_PAGE = page_xml(
    '<ofd:TextObject ID="1" Boundary="10 10 60 10" Font="1" Size="6">'
    '<ofd:TextCode X="0" Y="6" DeltaX="7">HHHHH</ofd:TextCode></ofd:TextObject>'
    '<ofd:PathObject ID="2" Boundary="0 40 100 2" LineWidth="1"><ofd:StrokeColor Value="255 0 0"/>'
    '<ofd:AbbreviatedData>M 5 1 L 95 1</ofd:AbbreviatedData></ofd:PathObject>'
    '<ofd:ImageObject ID="3" Boundary="70 5 20 20" CTM="20 0 0 20 0 0" ResourceID="20"/>',
    template=True)
BLUE_BLOCK = ('<ofd:PathObject ID="4" Boundary="60 45 30 10" Fill="true" Stroke="false">'
              '<ofd:FillColor Value="0 0 255"/><ofd:AbbreviatedData>M 0 0 L 30 0 L 30 10 L 0 10 C</ofd:AbbreviatedData>'
              '</ofd:PathObject>')


def synthetic() -> bytes:
    return ofd_file(SYNTHETIC_PAGE, template_xml=BLUE_BLOCK,
                    extra_pages=(page_xml("", area="0 0 50 80"),))


def test_page_sizes_are_each_physical_box_in_points():
    data = synthetic()
    assert pages.kind_of(data, None) == "ofd"
    assert flat(ofd_page_sizes(data)) == pytest.approx([100 * MM_TO_PT, 60 * MM_TO_PT, 50 * MM_TO_PT, 80 * MM_TO_PT])
    layout = read_ofd(data, ReadOptions())                        # the extraction's pages, in the boxes' unit
    assert flat((p.width, p.height) for p in layout.pages) == pytest.approx(flat(ofd_page_sizes(data)))
    second = drawn(data, 1)
    assert second.size == (round(50 * PX_PER_MM), round(80 * PX_PER_MM))


def test_text_is_drawn_inside_the_box_the_reader_gives_it():
    data = synthetic()
    image = drawn(data)
    assert image.size == (round(100 * MM_TO_PT * pages.RENDER_SCALE), round(60 * MM_TO_PT * pages.RENDER_SCALE))
    word = read_ofd(data, ReadOptions()).pages[0].lines[0].words[0]
    assert word.text == "HHHHH"
    scale = pages.RENDER_SCALE
    around = image.crop((0, 0, int(65 * PX_PER_MM), int(35 * PX_PER_MM))).convert("L")
    ink = around.point(lambda v: 255 if v < 110 else 0).getbbox()          # every dark pixel near the text
    assert ink is not None
    slack = 2 * scale                                                      # 2 pt
    assert word.bbox.x0 * scale - slack <= ink[0] and ink[2] <= word.bbox.x1 * scale + slack
    assert word.bbox.y0 * scale - slack <= ink[1] and ink[3] <= word.bbox.y1 * scale + slack
    assert ink[2] - ink[0] > 0.7 * word.bbox.width * scale                 # the whole word, not a dot of it
    assert share(region(image, (word.bbox.x0, word.bbox.y0, word.bbox.x1, word.bbox.y1)), dark) > 0.08


def test_paths_images_and_the_template_are_drawn_where_the_page_puts_them():
    image = drawn(synthetic())
    assert red(at_mm(image, 50, 41)) and red(at_mm(image, 6, 41)) and red(at_mm(image, 94, 41))
    assert at_mm(image, 50, 38) == (255, 255, 255) and at_mm(image, 50, 44) == (255, 255, 255)
    assert at_mm(image, 2, 41) == (255, 255, 255)                          # the line starts at 5 mm
    assert at_mm(image, 75, 50) == (0, 0, 255)                             # the template's filled block
    assert at_mm(image, 75, 57) == (255, 255, 255)
    cell = 20 / 4                                                          # 4 x 4 checkerboard over 20 mm
    for row in range(4):
        for col in range(4):
            expected = (0, 0, 0) if (row + col) % 2 == 0 else (255, 255, 255)
            assert at_mm(image, 70 + (col + 0.5) * cell, 5 + (row + 0.5) * cell) == expected


def test_path_data_operators():
    lines = path_points("M 0 0 L 10 0 L 10 10 C M 20 20 L 30 30")
    assert lines == [([(0, 0), (10, 0), (10, 10)], True), ([(20, 20), (30, 30)], False)]
    curve = path_points("M 0 0 B 0 10 10 10 10 0")[0][0]
    assert curve[-1] == pytest.approx((10, 0)) and max(y for _, y in curve) == pytest.approx(7.5)
    arc = path_points("S 0 0 A 5 5 0 0 1 10 0")[0][0]                      # a half circle through (5, -5)
    assert arc[-1] == pytest.approx((10, 0)) and min(y for _, y in arc) == pytest.approx(-5, abs=0.1)
    quad = path_points("M 0 0 Q 5 10 10 0 Z")[0]
    assert quad[1] and quad[0][-1] == pytest.approx((10, 0))
    assert path_points("M 1 L x B 1 2") == [] and path_points("") == []
    assert len(path_points(" ".join(["L 1 1"] * 50_000), limit=100)[0][0]) <= 101


@needs_realdocs("ofdrw_ofd_einvoices")
def test_the_real_e_invoice_is_drawn_under_its_boxes(tmp_path):
    from pipeline.bench.runner import extract_file
    data = SAMPLE.read_bytes()
    extraction = extract_file(SAMPLE, ReadOptions()).to_json()
    sha = hashlib.sha256(data).hexdigest()
    sizes = pages.page_sizes(data, "ofd", extraction, sha)
    layout = read_ofd(data, ReadOptions())
    assert sizes == [pages.PageSize(210 * MM_TO_PT, 140 * MM_TO_PT)]       # PhysicalBox 0 0 210 140 (mm)
    assert (sizes[0].width, sizes[0].height) == pytest.approx((layout.pages[0].width, layout.pages[0].height))
    image = drawn(data, 0, extraction)
    image.save(tmp_path / "ofd_fapiao_shili.png")
    assert image.size == (round(sizes[0].width * pages.RENDER_SCALE), round(sizes[0].height * pages.RENDER_SCALE))
    fields = extraction["fields"]
    chinese = ("buyer_name",) if Path(CJK_FONT).exists() else ()           # Pillow's own font has no Chinese
    for name in ("document_number", "invoice_code", "total_amount", "supplier_tax_id", *chinese):
        assert share(region(image, fields[name]["bbox"]), dark) > 0.08, name
    x0, y0, x1, y1 = fields["document_number"]["bbox"]                     # nothing printed right of 99999951
    assert share(region(image, (x1 + 4, y0, x1 + 60, y1)), dark) == 0
    x0, y0, x1, y1 = fields["total_amount"]["bbox"]                        # ... nor right of ¥318.00
    assert share(region(image, (x1 + 4, y0, 575, y1)), dark) == 0
    line = extraction["lines"][0]
    assert share(region(image, line["amount"]["bbox"]), dark) > 0.08


@needs_realdocs("ofdrw_ofd_einvoices")
def test_the_real_e_invoice_has_its_form_grid_qr_code_and_seal():
    image = drawn(SAMPLE.read_bytes())

    def brown(px):
        return abs(px[0] - 156) < 50 and abs(px[1] - 82) < 50 and abs(px[2] - 35) < 50 and px[0] > px[2] + 60
    row = int(30.0 * PX_PER_MM)                                            # template line M 0 0.2 at y 29.8 mm
    across = [any(brown(image.getpixel((x, y))) for y in (row - 1, row, row + 1))
              for x in range(int(5 * PX_PER_MM), int(205 * PX_PER_MM))]
    assert sum(across) / len(across) > 0.95
    column = int(4.5 * PX_PER_MM)                                          # the left frame, 30 to 124 mm down
    down = [any(brown(image.getpixel((x, y))) for x in (column - 1, column, column + 1))
            for y in range(int(31 * PX_PER_MM), int(123 * PX_PER_MM))]
    assert sum(down) / len(down) > 0.95
    assert brown(at_mm(image, 100, 30.0)) and not brown(at_mm(image, 100, 28))

    qr = image.crop(tuple(int(v * PX_PER_MM) for v in (8.5, 3.5, 28.5, 23.5)))   # ImageObject Boundary
    assert 0.3 < share(qr, dark) < 0.7 and share(qr, lambda px: min(px) > 200) > 0.25
    middle = [dark(qr.getpixel((x, qr.height // 2))) for x in range(qr.width)]
    assert sum(a != b for a, b in zip(middle, middle[1:])) > 12            # modules, not a grey block
    seal = image.crop(tuple(int(v * PX_PER_MM) for v in (90, 8, 120, 28)))    # StampAnnot Boundary
    assert share(seal, red) > 0.05
    assert share(image.crop((0, int(60 * PX_PER_MM), image.width, image.height)), red) == 0


EXTRACTION = {"pages": 1, "fields": {"total_amount": {"raw": "12.00", "value": "12.00", "page": 1,
                                                      "bbox": [100.0, 100.0, 160.0, 114.0]}}}


def _zip(members: dict[str, bytes | str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in members.items():
            zf.writestr(name, body)
    return out.getvalue()


def _declared_huge(data: bytes, name: str) -> bytes:
    """`data` with the central directory claiming `name` unpacks to 4 GB (a zip bomb's signature)."""
    at = data.index(b"PK\x01\x02")                                       # central directory entries
    while data[at + 46:at + 46 + len(name)] != name.encode():
        at = data.index(b"PK\x01\x02", at + 4)
    return data[:at + 24] + (0xFFFFFFF0).to_bytes(4, "little") + data[at + 28:]


@pytest.mark.parametrize("case", ["bad xml", "declared bomb", "no document", "not a zip member"])
def test_a_broken_ofd_falls_back_to_the_blank_page_with_the_read_text(case, caplog):
    data = {
        "bad xml": _zip({"OFD.xml": "<ofd:OFD><ofd:DocBody><broken"}),
        "declared bomb": _declared_huge(ofd_file(SYNTHETIC_PAGE), "Doc_0/Pages/Page_0/Content.xml"),
        "no document": _zip({"OFD.xml": f"<ofd:OFD {NS}><ofd:DocBody/></ofd:OFD>"}),
        "not a zip member": ofd_file(SYNTHETIC_PAGE)[:-40],                # the central directory cut off
    }[case]
    kind = pages.kind_of(data, None)
    assert kind in ("ofd", "blank")
    caplog.set_level(logging.WARNING)
    sha = hashlib.sha256(data).hexdigest()
    sizes = pages.page_sizes(data, kind, EXTRACTION, sha)
    assert sizes == [pages.PageSize(*pages.A4)]
    image = Image.open(io.BytesIO(pages.page_png(sha, data, kind, 0, sizes[0], EXTRACTION))).convert("RGB")
    assert share(region(image, EXTRACTION["fields"]["total_amount"]["bbox"]), dark) > 0.02     # the read text
    if kind == "ofd":
        assert "blank pages instead" in caplog.text


def test_a_page_that_cannot_be_drawn_still_shows_the_read_text(caplog):
    """Sizes read fine but page 1's content is broken XML: the drawing fails, the blank page stands in."""
    data = ofd_file(page_xml("", area="0 0 100 60")[:-10])
    sizes = [pages.PageSize(100 * MM_TO_PT, 60 * MM_TO_PT)]
    caplog.set_level(logging.WARNING)
    png = pages.page_png(hashlib.sha256(data).hexdigest(), data, "ofd", 0, sizes[0], EXTRACTION)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert abs(image.width - 100 * PX_PER_MM) <= 1 and abs(image.height - 60 * PX_PER_MM) <= 1
    assert "not drawn, blank page instead" in caplog.text
    assert share(region(image, EXTRACTION["fields"]["total_amount"]["bbox"]), dark) > 0.02


def test_garbage_attributes_are_skipped_not_fatal():
    page = page_xml(
        '<ofd:TextObject Boundary="x y" Size="nan" CTM="a b c"><ofd:TextCode X="q" DeltaX="g g g">AB</ofd:TextCode>'
        '</ofd:TextObject>'
        '<ofd:TextObject Boundary="10 10 10 10" Size="-4"><ofd:FillColor Value="#zz 1"/><ofd:TextCode>A</ofd:TextCode>'
        '</ofd:TextObject>'
        '<ofd:PathObject Boundary="0 0 1 1" LineWidth="-3"><ofd:AbbreviatedData>M 1 L x B 1 2 A 0 0 0 0 0 1 1'
        '</ofd:AbbreviatedData></ofd:PathObject>'
        '<ofd:ImageObject Boundary="1 1 5 5" ResourceID="404"/><ofd:ImageObject ResourceID="20"/>'
        '<ofd:PageBlock><ofd:PageBlock><ofd:TextObject Boundary="20 20 10 10" Size="5">'
        '<ofd:TextCode X="0" Y="5">Z</ofd:TextCode></ofd:TextObject></ofd:PageBlock></ofd:PageBlock>')
    image = render_ofd_page(ofd_file(page), 0, px_per_pt=pages.RENDER_SCALE)
    assert image.size == (round(100 * PX_PER_MM), round(60 * PX_PER_MM))
    assert share(image.crop(tuple(int(v * PX_PER_MM) for v in (20, 20, 30, 26))), dark) > 0.02   # nested blocks drawn


def test_huge_pages_and_far_coordinates_are_capped():
    page = page_xml('<ofd:PathObject Boundary="0 0 1 1" LineWidth="1e9">'
                    '<ofd:AbbreviatedData>M 0 0 L 1e12 1e12 L -1e12 5 Z</ofd:AbbreviatedData></ofd:PathObject>'
                    '<ofd:TextObject Boundary="0 0 99999 99999" Size="90000"><ofd:TextCode X="0" Y="90000">'
                    + "国" * 5000 + '</ofd:TextCode></ofd:TextObject>')
    data = ofd_file(page, page_box="0 0 100000 50000")
    started = time.monotonic()
    image = drawn(data, 0, EXTRACTION)
    assert max(image.size) <= MAX_SIDE_PX and image.size[0] == 2 * image.size[1]
    assert time.monotonic() - started < 15
    assert flat(ofd_page_sizes(data)) == pytest.approx([100000 * MM_TO_PT, 50000 * MM_TO_PT])


def test_many_objects_finish_in_bounded_time():
    objects = "".join(f'<ofd:TextObject Boundary="{i % 90} {i % 50} 10 10" Size="3"><ofd:TextCode X="0" Y="3">'
                      f'{"AB" * 20}</ofd:TextCode></ofd:TextObject>' for i in range(30_000))
    started = time.monotonic()
    image = render_ofd_page(ofd_file(page_xml(objects)), 0, px_per_pt=pages.RENDER_SCALE)
    assert time.monotonic() - started < 20 and image.getextrema()[0][0] == 0
