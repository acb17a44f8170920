"""OFD pages drawn as pictures for the review screen: the page as an OFD viewer shows it, not a blank sheet.

`ofd_page_sizes(data)` gives each page's size in points: its PhysicalBox (else the document's default) in mm
x 72/25.4, the unit extractors.ofd gives the extraction's boxes in, so the screen's boxes sit on the drawn
text. `render_ofd_page(data, index, px_per_pt=...)` draws page `index` (0-based) as an RGB picture: the
templates the page names (background under the content, foreground over it), its layers' TextObject,
PathObject and ImageObject, the annotations' appearances, and the seal of each signature stamped on the page
(an SES signature carries the seal picture as a small OFD of its own, or as PNG/JPEG).

The package is opened, checked and parsed by extractors.ofd.package (size and member limits, safe XML), so a broken
file raises extractors.errors' InputError family; callers show something else then. Work stays bounded on
hostile files: a picture is at most MAX_SIDE_PX a side; per page at most MAX_OBJECTS objects, MAX_GLYPHS
glyphs (a big glyph counts as several) and MAX_PATH_POINTS path points are drawn, the rest is left out;
images over MAX_IMAGE_BYTES or MAX_IMAGE_PIXELS are left out; a page still drawing after MAX_DRAW_S is
`TooLarge`. Path geometry (AbbreviatedData to points) is review_ui.ofd_paths. Every typeface is drawn with the CJK font (WenQuanYi Micro Hei has Latin and Chinese glyphs); without it,
Pillow's default font (no Chinese glyphs, so Chinese text shows as empty boxes).
"""

from __future__ import annotations

import io
import math
import posixpath
import time
import zipfile
from dataclasses import dataclass, replace
from functools import lru_cache

from lxml import etree
from PIL import Image, ImageDraw, ImageFont

from extractors.errors import InputError, TooLarge
from extractors.ofd.images import media_files
from extractors.ofd.package import (MM_TO_PT, Package, child, children, element_text, local_name, open_document,
                                    parse_box, parse_floats, resolve_loc)
from extractors.ofd.text import Placement, glyph_runs, parse_ctm
from extractors.options import ReadOptions
from review_ui.ofd_paths import MAX_PATH_POINTS, path_points

__all__ = ["CJK_FONT", "font_at", "is_ofd", "ofd_page_sizes", "path_points", "render_ofd_page"]

CJK_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"      # scripts/fonts.sh installs it
MAX_SIDE_PX = 4000
MAX_OBJECTS = 20_000                 # text, path and image objects per page, templates and annotations included
MAX_GLYPHS = 50_000
MAX_DRAW_S = 10.0
_MAX_LINE_PX = 50
MAX_IMAGE_BYTES = 4 * 1024 * 1024    # a QR code, a logo, a seal
MAX_IMAGE_PIXELS = 16_000_000
_MAX_DEPTH = 32                      # nested PageBlocks
_A4_MM = (0.0, 0.0, 210.0, 297.0)
_FAR_PX = 8 * MAX_SIDE_PX            # path points are held inside this square (Pillow walks every pixel of a line)
_DEFAULT_LINE_MM = 0.353             # OFD's default LineWidth
_BLACK = (0, 0, 0)
Colour = tuple[int, int, int]


def is_ofd(data: bytes) -> bool:
    """True for a zip with OFD.xml at its root (the zip's directory is read, no member unpacked)."""
    if data[:4] != b"PK\x03\x04":
        return False
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError):
        return False
    return any(name.lower() == "ofd.xml" for name in names)


def ofd_page_sizes(data: bytes, options: ReadOptions | None = None) -> list[tuple[float, float]]:
    """(width, height) in points of every page; InputError subclasses on a broken file."""
    pkg = Package(data, options or ReadOptions())
    _, doc = open_document(pkg, options or ReadOptions())
    boxes = (_page_box(pkg.xml(path), doc.default_box) for path in doc.page_paths)
    return [(box[2] * MM_TO_PT, box[3] * MM_TO_PT) for box in boxes]


def render_ofd_page(data: bytes, index: int, *, px_per_pt: float, options: ReadOptions | None = None) -> Image.Image:
    """Page `index` (0-based) in RGB at `px_per_pt` pixels per point (less where MAX_SIDE_PX needs it).

    Raises InputError subclasses on a broken file and IndexError for a page that is not there.
    """
    return _render(data, index, px_per_pt=px_per_pt, options=options or ReadOptions(), seals=True,
                   deadline=time.monotonic() + MAX_DRAW_S)


@lru_cache(maxsize=64)
def font_at(pixels: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """The CJK font at `pixels` (1..1000) pixels per em; Pillow's default font when it is not installed."""
    pixels = max(1, min(1000, pixels))
    try:
        return ImageFont.truetype(CJK_FONT, pixels)
    except OSError:
        return ImageFont.load_default(size=pixels)


# --------------------------------------------------------------------------------------------
# the page
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Style:
    """What an object inherits from its layer and draw parameters; None = the object's default."""

    line_width: float | None = None      # mm
    fill: Colour | None = None
    stroke: Colour | None = None


@dataclass(frozen=True, slots=True)
class _Sources:
    """The package and the document's resources an object may name."""

    pkg: Package
    draw_params: dict[str, etree._Element]       # DrawParam ID -> element
    media: dict[str, str]                         # MultiMedia ID -> member path
    options: ReadOptions


@dataclass(slots=True)
class _Painter:
    """The picture being drawn, its scale, and what is left of the page's work budget (counts go down)."""

    image: Image.Image
    draw: ImageDraw.ImageDraw
    px_per_pt: float
    page_origin: tuple[float, float]              # mm, the PhysicalBox's top-left corner
    objects_left: int = MAX_OBJECTS
    glyphs_left: int = MAX_GLYPHS
    points_left: int = MAX_PATH_POINTS
    deadline: float = 0.0                         # time.monotonic() past which drawing is TooLarge

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise TooLarge("The OFD page takes too long to draw.", detail=f"over {MAX_DRAW_S} s")

    def placement(self, ctm, boundary, offset: tuple[float, float]) -> Placement:
        """Object space -> page points for an object at `boundary` inside a block at `offset` (mm)."""
        return Placement(ctm, (boundary[0] + offset[0] - self.page_origin[0],
                                boundary[1] + offset[1] - self.page_origin[1]))

    def px(self, point: tuple[float, float]) -> tuple[float, float]:
        x, y = point[0] * self.px_per_pt, point[1] * self.px_per_pt
        return max(-_FAR_PX, min(_FAR_PX, x)), max(-_FAR_PX, min(_FAR_PX, y))


def _render(data: bytes, index: int, *, px_per_pt: float, options: ReadOptions, seals: bool,
            deadline: float) -> Image.Image:
    """Page `index` on white (RGB), or on transparent (RGBA) without its seals when `seals` is False (a seal's
    own OFD, drawn to be pasted over a page); `deadline` is time.monotonic() past which it is TooLarge."""
    pkg = Package(data, options)
    ofd, doc = open_document(pkg, options)
    if not 0 <= index < len(doc.page_paths):
        raise IndexError(f"no page {index + 1} in this OFD ({len(doc.page_paths)} pages)")
    root = pkg.xml(doc.page_paths[index])
    box = _page_box(root, doc.default_box)
    scale = min(px_per_pt, MAX_SIDE_PX / (max(box[2], box[3]) * MM_TO_PT))
    size = (max(1, round(box[2] * MM_TO_PT * scale)), max(1, round(box[3] * MM_TO_PT * scale)))
    mode, paper = ("RGB", "white") if seals else ("RGBA", (0, 0, 0, 0))      # a seal is pasted over a page
    image = Image.new(mode, size, paper)
    painter = _Painter(image, ImageDraw.Draw(image), scale, (box[0], box[1]), deadline=deadline)
    sources = _Sources(pkg, _draw_params(pkg, doc), media_files(pkg, doc), options)
    for source in _layers(pkg, doc, root):
        content = child(source, "Content")
        if content is not None:
            _draw_block(painter, content, sources, _Style(), (0.0, 0.0), 0)
    page_id = _page_id(doc, index)
    _draw_annotations(painter, sources, doc, page_id)
    if seals:
        _draw_seals(painter, sources, ofd, page_id)
    return image


def _layers(pkg: Package, doc, root: etree._Element) -> list[etree._Element]:
    """The page's background templates, the page itself, then its foreground templates: the drawing order."""
    named = [(t.get("ZOrder", "Background"), doc.templates.get(t.get("TemplateID", "")))
             for t in children(root, "Template")]
    below = [pkg.xml(path) for order, path in named if path and pkg.has(path) and order != "Foreground"]
    above = [pkg.xml(path) for order, path in named if path and pkg.has(path) and order == "Foreground"]
    return [*below, root, *above]


def _page_box(root: etree._Element, default: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """The page's PhysicalBox (mm), else the document's, else A4 where neither has a size."""
    for box in (parse_box(element_text(child(child(root, "Area"), "PhysicalBox"))), default):
        if box is not None and box[2] > 0 and box[3] > 0:
            return box
    return _A4_MM


def _page_id(doc, index: int) -> str:
    pages = children(child(doc.root, "Pages"), "Page")
    return pages[index].get("ID", "") if index < len(pages) else ""


def _draw_block(p: _Painter, block: etree._Element, src: _Sources, style: _Style, offset: tuple[float, float],
                depth: int) -> None:
    """Every object of a Content, Layer, PageBlock or Appearance, in document order (later over earlier)."""
    for el in block:
        if p.objects_left <= 0 or depth > _MAX_DEPTH:
            return
        name = local_name(el)
        if name in ("Layer", "PageBlock"):
            _draw_block(p, el, src, _style_of(el, style, src.draw_params), offset, depth + 1)
            continue
        if name not in ("TextObject", "PathObject", "ImageObject") or el.get("Visible", "true").lower() == "false":
            continue
        p.objects_left -= 1
        p.check_time()
        own = _style_of(el, style, src.draw_params)
        if name == "TextObject":
            _draw_text(p, el, own, offset)
        elif name == "PathObject":
            _draw_path(p, el, own, offset)
        else:
            _draw_image(p, el, src, offset)


# --------------------------------------------------------------------------------------------
# colours and draw parameters
# --------------------------------------------------------------------------------------------

def _colour(el: etree._Element | None) -> Colour | None:
    """A FillColor/StrokeColor's Value ("r g b" 0-255, a grey level, or "c m y k"; "#hh" numbers too)."""
    if el is None or not el.get("Value"):
        return None
    values: list[float] = []
    for token in el.get("Value", "").split():
        try:
            values.append(float(int(token[1:], 16)) if token.startswith("#") else float(token))
        except ValueError:
            return None
    values = [max(0.0, min(255.0, v)) for v in values if math.isfinite(v)]
    if len(values) == 1:
        return (round(values[0]),) * 3
    if len(values) == 3:
        return round(values[0]), round(values[1]), round(values[2])
    if len(values) == 4:
        c, m, y, k = (v / 255 for v in values)
        return tuple(round(255 * (1 - v) * (1 - k)) for v in (c, m, y))
    return None


def _style_of(el: etree._Element, inherited: _Style, params: dict[str, etree._Element]) -> _Style:
    """`inherited`, overridden by the element's DrawParam (and the params it is relative to), then its own."""
    chain, seen = [], set()
    param_id = el.get("DrawParam")
    while param_id and param_id in params and param_id not in seen and len(chain) < 8:
        seen.add(param_id)
        chain.append(params[param_id])
        param_id = params[param_id].get("Relative")
    style = inherited
    for source in [*reversed(chain), el]:
        widths = parse_floats(source.get("LineWidth"))
        style = replace(style,
                        line_width=widths[0] if widths and widths[0] >= 0 else style.line_width,
                        fill=_colour(child(source, "FillColor")) or style.fill,
                        stroke=_colour(child(source, "StrokeColor")) or style.stroke)
    return style


def _draw_params(pkg: Package, doc) -> dict[str, etree._Element]:
    """DrawParam ID -> element, from the document's PublicRes and DocumentRes files."""
    base = posixpath.dirname(doc.root_path)
    common = child(doc.root, "CommonData")
    params: dict[str, etree._Element] = {}
    for ref in children(common, "PublicRes") + children(common, "DocumentRes"):
        path = resolve_loc(base, element_text(ref)) if element_text(ref) else ""
        if path and pkg.has(path):
            for param in (el for el in pkg.xml(path).iter() if local_name(el) == "DrawParam" and el.get("ID")):
                params.setdefault(param.get("ID"), param)
    return params


# --------------------------------------------------------------------------------------------
# text
# --------------------------------------------------------------------------------------------

def _draw_text(p: _Painter, obj: etree._Element, style: _Style, offset: tuple[float, float]) -> None:
    """Each glyph at its origin (baseline) as extractors.ofd.text places it, in the object's size and turn."""
    boundary = parse_box(obj.get("Boundary")) or (0.0, 0.0, 0.0, 0.0)
    sizes = parse_floats(obj.get("Size"))
    size = sizes[0] if sizes and sizes[0] > 0 else 3.5
    ctm = parse_ctm(obj.get("CTM"))
    place = p.placement(ctm, boundary, offset)
    filled = obj.get("Fill", "true").lower() != "false"
    colour = (style.fill if filled else style.stroke) or _BLACK
    font_px = size * MM_TO_PT * p.px_per_pt * math.sqrt(abs(ctm[0] * ctm[3] - ctm[1] * ctm[2]))
    turn = math.degrees(math.atan2(ctm[1], ctm[0]))
    cost = 1 + int((font_px / 64) ** 2)           # pixels drawn grow with the square of the size
    pos = (0.0, 0.0)
    for code in children(obj, "TextCode"):
        if len(code.text or "") * cost > p.glyphs_left:
            p.glyphs_left = 0
            return
        for run in glyph_runs(code, pos, size):
            p.glyphs_left -= len(run) * cost
            p.check_time()
            for glyph in run:
                if not glyph.ch.isspace():
                    _draw_glyph(p, glyph.ch, p.px(place.point(glyph.x, glyph.y)), font_px, turn, colour)
            pos = (run[-1].x + run[-1].width, run[-1].y)


def _draw_glyph(p: _Painter, ch: str, at: tuple[float, float], font_px: float, turn: float, colour: Colour) -> None:
    """One character, its baseline-left corner at `at` (px), turned `turn` degrees clockwise."""
    if font_px < 1:
        return
    mask, (dx, dy) = _glyph(ch, round(font_px))
    if abs(turn) >= 0.5:
        half = max(abs(dx), abs(dy), dx + mask.width, dy + mask.height) + 1
        tile = Image.new("L", (2 * half, 2 * half), 0)
        tile.paste(mask, (half + dx, half + dy))
        mask, dx, dy = tile.rotate(-turn, resample=Image.Resampling.BICUBIC), -half, -half
    left, top = round(at[0]) + dx, round(at[1]) + dy
    p.image.paste(colour, (left, top, left + mask.width, top + mask.height), mask)


def _glyph(ch: str, pixels: int) -> tuple[Image.Image, tuple[int, int]]:
    """`ch` drawn white on black at `pixels` per em, and where its top-left sits from the glyph origin (px).
    Small sizes are cached (at most 4096 masks of 64 px): a page draws the same few hundred characters often."""
    return _cached_glyph(ch, pixels) if pixels <= 64 else _drawn_glyph(ch, pixels)


@lru_cache(maxsize=4096)
def _cached_glyph(ch: str, pixels: int) -> tuple[Image.Image, tuple[int, int]]:
    return _drawn_glyph(ch, pixels)


def _drawn_glyph(ch: str, pixels: int) -> tuple[Image.Image, tuple[int, int]]:
    font = font_at(pixels)
    left, top, right, bottom = font.getbbox(ch, anchor="ls")
    mask = Image.new("L", (max(1, right - left), max(1, bottom - top)), 0)
    ImageDraw.Draw(mask).text((-left, -top), ch, fill=255, font=font, anchor="ls")
    return mask, (left, top)


# --------------------------------------------------------------------------------------------
# paths
# --------------------------------------------------------------------------------------------

def _draw_path(p: _Painter, obj: etree._Element, style: _Style, offset: tuple[float, float]) -> None:
    """Stroke (default on) and fill (default off) of each subpath, in page pixels."""
    boundary = parse_box(obj.get("Boundary")) or (0.0, 0.0, 0.0, 0.0)
    ctm = parse_ctm(obj.get("CTM"))
    place = p.placement(ctm, boundary, offset)
    subpaths = path_points(element_text(child(obj, "AbbreviatedData")), limit=p.points_left)
    p.points_left -= sum(len(points) for points, _ in subpaths)
    width_mm = style.line_width if style.line_width is not None else _DEFAULT_LINE_MM
    width = width_mm * MM_TO_PT * p.px_per_pt * math.sqrt(abs(ctm[0] * ctm[3] - ctm[1] * ctm[2]))
    width_px = max(1, min(_MAX_LINE_PX, round(width)))
    fill = style.fill if obj.get("Fill", "false").lower() == "true" else None
    stroke = (style.stroke or _BLACK) if obj.get("Stroke", "true").lower() != "false" else None
    for points, closed in subpaths:
        p.check_time()
        pixels = [p.px(place.point(x, y)) for x, y in points]
        if fill and len(pixels) >= 3:
            p.draw.polygon(pixels, fill=fill)
        if stroke and len(pixels) >= 2:
            p.draw.line(pixels + pixels[:1] if closed else pixels, fill=stroke, width=width_px,
                        joint="curve" if width_px > 2 else None)


# --------------------------------------------------------------------------------------------
# images, annotations, seals
# --------------------------------------------------------------------------------------------

def _draw_image(p: _Painter, obj: etree._Element, src: _Sources, offset: tuple[float, float]) -> None:
    """The MultiMedia picture over the unit square its CTM maps (the Boundary's size without a CTM)."""
    path, boundary = src.media.get(obj.get("ResourceID", "")), parse_box(obj.get("Boundary"))
    if path is None or boundary is None or not src.pkg.has(path) or src.pkg.size(path) > MAX_IMAGE_BYTES:
        return
    ctm = parse_ctm(obj.get("CTM")) if obj.get("CTM") else (boundary[2], 0.0, 0.0, boundary[3], 0.0, 0.0)
    place = p.placement(ctm, boundary, offset)
    corners = [p.px(place.point(x, y)) for x in (0, 1) for y in (0, 1)]
    _paste(p, _decoded(src.pkg.read(path)), corners)


def _paste(p: _Painter, picture: Image.Image | None, corners: list[tuple[float, float]]) -> None:
    """`picture` stretched over the box around `corners` (px), its transparency kept."""
    left, top = min(c[0] for c in corners), min(c[1] for c in corners)
    width = min(2 * MAX_SIDE_PX, round(max(c[0] for c in corners) - left))
    height = min(2 * MAX_SIDE_PX, round(max(c[1] for c in corners) - top))
    if picture is None or width < 1 or height < 1:
        return
    sharp = width >= picture.width and height >= picture.height      # QR codes stay crisp when enlarged
    picture = picture.resize((width, height), Image.Resampling.NEAREST if sharp else Image.Resampling.LANCZOS)
    p.image.paste(picture, (round(left), round(top)), picture)


def _decoded(data: bytes) -> Image.Image | None:
    """The picture in RGBA, or None when Pillow cannot read it or it is too big (JBIG2, bombs, junk)."""
    try:
        picture = Image.open(io.BytesIO(data))
        if picture.width * picture.height > MAX_IMAGE_PIXELS:
            return None
        return picture.convert("RGBA")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):   # Pillow's ways of saying "can't"
        return None


def _draw_annotations(p: _Painter, src: _Sources, doc, page_id: str) -> None:
    """Each visible annotation's Appearance, its objects placed inside the Appearance's Boundary."""
    loc = element_text(child(doc.root, "Annotations"))
    if not loc or not page_id:
        return
    index_path = resolve_loc(posixpath.dirname(doc.root_path), loc)
    if not src.pkg.has(index_path):
        return
    for page in children(src.pkg.xml(index_path), "Page"):
        file_loc = element_text(child(page, "FileLoc"))
        path = resolve_loc(posixpath.dirname(index_path), file_loc) if file_loc else ""
        if page.get("PageID") != page_id or not src.pkg.has(path):
            continue
        for annot in children(src.pkg.xml(path), "Annot"):
            if annot.get("Visible", "true").lower() == "false":
                continue
            for appearance in children(annot, "Appearance"):
                box = parse_box(appearance.get("Boundary")) or (0.0, 0.0, 0.0, 0.0)
                _draw_block(p, appearance, src, _Style(), (box[0], box[1]), 0)


def _draw_seals(p: _Painter, src: _Sources, ofd: etree._Element, page_id: str) -> None:
    """The seal picture of each signature whose StampAnnot is on this page, over its Boundary."""
    for blob, box in _stamps(src.pkg, ofd, page_id):
        corners = [p.px(((box[0] + dx - p.page_origin[0]) * MM_TO_PT, (box[1] + dy - p.page_origin[1]) * MM_TO_PT))
                   for dx in (0, box[2]) for dy in (0, box[3])]
        _paste(p, _seal_picture(blob, p, src.options), corners)


def _stamps(pkg: Package, ofd: etree._Element, page_id: str) -> list[tuple[bytes, tuple[float, ...]]]:
    """(SignedValue bytes, StampAnnot Boundary in mm) for the page, from the first document's Signatures."""
    body = next((el for el in ofd.iter() if local_name(el) == "DocBody"), None)
    loc = element_text(child(body, "Signatures"))
    index_path = resolve_loc("", loc) if loc else ""
    if not page_id or not index_path or not pkg.has(index_path):
        return []
    found = []
    for signature in children(pkg.xml(index_path), "Signature"):
        base_loc = signature.get("BaseLoc", "")
        path = resolve_loc(posixpath.dirname(index_path), base_loc) if base_loc.strip() else ""
        if not pkg.has(path):
            continue
        root = pkg.xml(path)
        boxes = [parse_box(s.get("Boundary")) for s in children(child(root, "SignedInfo"), "StampAnnot")
                 if s.get("PageRef") == page_id]
        value = element_text(child(root, "SignedValue"))
        value_path = resolve_loc(posixpath.dirname(path), value) if value else ""
        if any(boxes) and pkg.has(value_path) and pkg.size(value_path) <= MAX_IMAGE_BYTES:
            found += [(pkg.read(value_path), box) for box in boxes if box]
    return found


def _seal_picture(blob: bytes, p: _Painter, options: ReadOptions) -> Image.Image | None:
    """The seal inside an SES signature: a small OFD (drawn on a transparent page, seals of its own left out),
    else the first PNG or JPEG in it; None when there is neither."""
    start = blob.find(b"PK\x03\x04")
    if start >= 0:
        try:
            return _render(blob[start:], 0, px_per_pt=p.px_per_pt, options=options, seals=False, deadline=p.deadline)
        except (InputError, IndexError):
            pass
    for magic in (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff"):
        start = blob.find(magic)
        if start >= 0:
            return _decoded(blob[start:])
    return None
