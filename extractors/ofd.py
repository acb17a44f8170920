"""OFD (GB/T 33190) reader: the zip-of-XML format Chinese e-invoices are issued in.

`read_ofd(data, options)` walks OFD.xml -> DocBody/DocRoot (Document.xml) -> the pages
(Page_N/Content.xml) and the templates they reference (Tpls/*/Content.xml, drawn under the page),
turns every TextObject/TextCode into Words (page points, origin top-left; OFD's own origin is
top-left already, units are millimetres) and groups them into lines.  `ofd_attachments(data)`
returns the attached files (Doc_N/Attachs/..., e.g. original_invoice.xml, the issuer's invoice XML).

The file comes from strangers, so the package is read defensively: declared and actual unpacked
sizes are held to `options.max_unpacked_bytes` (`TooLarge`), member names and references that
climb out of the package are `UnsafeContent`, XML is parsed without entities, DTDs or network
(`UnsafeContent`), a non-zip or broken zip is `CorruptFile`, too many pages is `TooLarge`.
"""

from __future__ import annotations

import io
import math
import posixpath
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass

from lxml import etree

from extractors.errors import CorruptFile, EmptyFile, EncryptedFile, TooLarge, UnsafeContent
from extractors.layout import BBox, Layout, Line, Page, Word
from extractors.options import ReadOptions

MM_TO_PT = 72 / 25.4
MAX_MEMBERS = 20_000
_CHUNK = 64 * 1024
_A4_MM = (210.0, 297.0)
_ASCENT, _DESCENT = 0.86, 0.14      # glyph box around the baseline, as fractions of the font size
_WORD_GAP = 1.5                      # a gap wider than this x font size inside a TextCode splits words
_RUN_GAP = 6.0                       # ... and wider than this splits it into separate line units


# --------------------------------------------------------------------------------------------
# the package: a zip read with limits
# --------------------------------------------------------------------------------------------

class _Package:
    """The zip with its members checked; `read` keeps a running total of unpacked bytes."""

    def __init__(self, data: bytes, options: ReadOptions) -> None:
        if not data:
            raise EmptyFile("The file is empty.")
        if len(data) > options.max_bytes:
            raise TooLarge("The file is too large.", detail=f"{len(data)} bytes")
        self._limit = options.max_unpacked_bytes
        self._used = 0
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as exc:
            raise CorruptFile("The OFD file is damaged or is not an OFD (zip) file.", detail=str(exc)) from exc
        self._members = _check_members(infos, self._limit)
        self._lower = {name.lower(): name for name in self._members}

    def names(self) -> list[str]:
        return list(self._members)

    def has(self, name: str) -> bool:
        return name in self._members or name.lower() in self._lower

    def size(self, name: str) -> int:
        """The member's unpacked size as the zip states it (0 when missing)."""
        real = name if name in self._members else self._lower.get(name.lower())
        return self._members[real].file_size if real else 0

    def read(self, name: str) -> bytes:
        """The member's bytes; `CorruptFile` when missing, `TooLarge` past the unpacked budget."""
        real = name if name in self._members else self._lower.get(name.lower())
        if real is None:
            raise CorruptFile("The OFD file is incomplete.", detail=f"missing member {name!r}")
        info = self._members[real]
        try:
            with self._zip.open(info) as fh:
                return self._read_limited(fh, real)
        except RuntimeError as exc:  # zipfile: encrypted member, password required
            raise EncryptedFile("The OFD file is encrypted.", detail=str(exc)) from exc
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as exc:
            raise CorruptFile("The OFD file is damaged.", detail=f"{real}: {exc}") from exc

    def _read_limited(self, fh: io.BufferedIOBase, name: str) -> bytes:
        parts: list[bytes] = []
        while True:
            chunk = fh.read(min(_CHUNK, self._limit - self._used + 1))
            if not chunk:
                return b"".join(parts)
            self._used += len(chunk)
            if self._used > self._limit:
                raise TooLarge("The OFD file unpacks to too much data.", detail=f"at member {name!r}")
            parts.append(chunk)

    def xml(self, name: str) -> etree._Element:
        return parse_xml(self.read(name), name)


def _check_members(infos: list[zipfile.ZipInfo], limit: int) -> dict[str, zipfile.ZipInfo]:
    """Member names checked for path tricks; declared sizes held to the limit."""
    if len(infos) > MAX_MEMBERS:
        raise TooLarge("The OFD file has too many parts.", detail=f"{len(infos)} members")
    members: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        name = _safe_member_name(info.filename)
        if info.is_dir():
            continue
        total += info.file_size
        if info.file_size > limit or total > limit:
            raise TooLarge("The OFD file unpacks to too much data.",
                           detail=f"declared {total} bytes > {limit} at {name!r}")
        members[name] = info
    return members


def _safe_member_name(name: str) -> str:
    norm = name.replace("\\", "/")
    parts = norm.split("/")
    if (norm.startswith("/") or "\x00" in norm or ".." in parts
            or (len(parts[0]) == 2 and parts[0][1] == ":")):
        raise UnsafeContent("The OFD file contains an unsafe file name.", detail=repr(name))
    return norm


def resolve_loc(base_dir: str, loc: str) -> str:
    """A BaseLoc/FileLoc resolved against the folder of the file that names it."""
    loc = (loc or "").strip().replace("\\", "/")
    if not loc:
        raise CorruptFile("The OFD file is incomplete.", detail="empty location")
    path = loc.lstrip("/") if loc.startswith("/") else posixpath.join(base_dir, loc)
    path = posixpath.normpath(path)
    if path == ".." or path.startswith("../") or path.startswith("/"):
        raise UnsafeContent("The OFD file refers outside itself.", detail=loc)
    return path


# --------------------------------------------------------------------------------------------
# XML
# --------------------------------------------------------------------------------------------

def parse_xml(data: bytes, name: str = "") -> etree._Element:
    """Parse untrusted XML: no entities, no DTD, no network; a DOCTYPE is `UnsafeContent`."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False, remove_comments=True, remove_pis=True)
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        if b"<!ENTITY" in data or b"<!DOCTYPE" in data:
            raise UnsafeContent("The OFD file contains unsafe XML.", detail=f"{name}: {exc}") from exc
        raise CorruptFile("The OFD file contains broken XML.", detail=f"{name}: {exc}") from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise UnsafeContent("The OFD file contains unsafe XML (DTD/entities).", detail=name)
    return root


def _local(el: etree._Element) -> str:
    tag = el.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _child(el: etree._Element | None, name: str) -> etree._Element | None:
    if el is None:
        return None
    return next((c for c in el if _local(c) == name), None)


def _children(el: etree._Element | None, name: str) -> list[etree._Element]:
    return [] if el is None else [c for c in el if _local(c) == name]


def _text(el: etree._Element | None) -> str:
    return "" if el is None or el.text is None else el.text.strip()


def _floats(spec: str | None) -> list[float]:
    """Whitespace-separated numbers; non-numbers and non-finite values are dropped."""
    out: list[float] = []
    for tok in (spec or "").replace(",", " ").split():
        try:
            v = float(tok)
        except ValueError:
            continue
        if math.isfinite(v):
            out.append(v)
    return out


def _box(spec: str | None) -> tuple[float, float, float, float] | None:
    vals = _floats(spec)
    return (vals[0], vals[1], vals[2], vals[3]) if len(vals) >= 4 else None


# --------------------------------------------------------------------------------------------
# document structure
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _DocInfo:
    root_path: str                       # Doc_0/Document.xml
    root: etree._Element
    page_paths: list[str]
    templates: dict[str, str]            # TemplatePage ID -> path
    default_box: tuple[float, float, float, float]


def _open_document(pkg: _Package, options: ReadOptions) -> tuple[etree._Element, _DocInfo]:
    if not pkg.has("OFD.xml"):
        raise CorruptFile("This is not an OFD file.", detail="no OFD.xml")
    ofd = pkg.xml("OFD.xml")
    body = next((el for el in ofd.iter() if _local(el) == "DocBody"), None)
    doc_root = _text(_child(body, "DocRoot"))
    if not doc_root:
        raise CorruptFile("The OFD file has no document.", detail="no DocBody/DocRoot")
    path = resolve_loc("", doc_root)
    root = pkg.xml(path)
    base = posixpath.dirname(path)
    pages = _children(_child(root, "Pages"), "Page")
    if len(pages) > options.max_pages:
        raise TooLarge("The document has too many pages.", detail=f"{len(pages)} pages")
    common = _child(root, "CommonData")
    templates = {tp.get("ID", ""): resolve_loc(base, tp.get("BaseLoc", ""))
                 for tp in _children(common, "TemplatePage") if tp.get("BaseLoc")}
    box = _box(_text(_child(_child(common, "PageArea"), "PhysicalBox"))) or (0.0, 0.0, *_A4_MM)
    page_paths = [resolve_loc(base, p.get("BaseLoc", "")) for p in pages]
    return ofd, _DocInfo(path, root, page_paths, templates, box)


def _custom_data(ofd: etree._Element) -> dict[str, str]:
    return {el.get("Name", ""): (el.text or "").strip()
            for el in ofd.iter() if _local(el) == "CustomData" and el.get("Name")}


# --------------------------------------------------------------------------------------------
# text objects -> words
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Glyph:
    ch: str
    x: float          # glyph origin (baseline), object space, mm
    y: float
    width: float


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _estimate_advance(ch: str, size: float) -> float:
    return size if _is_wide(ch) else 0.5 * size


def parse_deltas(spec: str | None, needed: int) -> list[float] | None:
    """DeltaX/DeltaY with the `g n v` repeat syntax, at most `needed` values; None when absent."""
    if spec is None or not spec.strip():
        return None
    toks = spec.split()
    out: list[float] = []
    i = 0
    while i < len(toks) and len(out) < needed:
        if toks[i] == "g" and i + 2 < len(toks):
            count, vals = _floats(toks[i + 1]), _floats(toks[i + 2])
            if count and vals:
                out.extend([vals[0]] * max(0, min(int(count[0]), needed - len(out))))
            i += 3
        else:
            out.extend(_floats(toks[i]))
            i += 1
    return out


def _delta(values: list[float] | None, i: int, fallback: float) -> float:
    """The i-th delta; past the end the last value repeats (as OFD producers rely on)."""
    if values is None:
        return fallback
    if i < len(values):
        return values[i]
    return values[-1] if values else fallback


def _glyph_runs(code: etree._Element, start: tuple[float, float], size: float) -> list[list[_Glyph]]:
    """The glyphs of one TextCode, split into runs wherever the baseline moves."""
    text = code.text or ""
    xs, ys = _floats(code.get("X")), _floats(code.get("Y"))
    x = xs[0] if xs else start[0]
    y = ys[0] if ys else start[1]
    n = max(0, len(text) - 1)
    dxs, dys = parse_deltas(code.get("DeltaX"), n), parse_deltas(code.get("DeltaY"), n)
    runs: list[list[_Glyph]] = [[]]
    for i, ch in enumerate(text):
        est = _estimate_advance(ch, size)
        adv = _delta(dxs, i, 0.0 if dys is not None else est) if i < n else est
        width = min(est, adv) if adv > 0 else est
        runs[-1].append(_Glyph(ch, x, y, width))
        dy = _delta(dys, i, 0.0) if i < n else 0.0
        if abs(dy) > 0.05 * size or adv < 0:
            runs.append([])
        x, y = x + adv, y + dy
    return [r for r in runs if r]


@dataclass(frozen=True, slots=True)
class _Placement:
    """Object space -> page points: CTM, then the Boundary origin, minus the page box origin."""

    ctm: tuple[float, float, float, float, float, float]
    origin: tuple[float, float]

    def point(self, x: float, y: float) -> tuple[float, float]:
        a, b, c, d, e, f = self.ctm
        return ((a * x + c * y + e + self.origin[0]) * MM_TO_PT,
                (b * x + d * y + f + self.origin[1]) * MM_TO_PT)

    def box(self, x0: float, y0: float, x1: float, y1: float) -> BBox:
        pts = [self.point(x, y) for x in (x0, x1) for y in (y0, y1)]
        return BBox(min(p[0] for p in pts), min(p[1] for p in pts),
                    max(p[0] for p in pts), max(p[1] for p in pts))


def _split_words(run: list[_Glyph], size: float, place: _Placement) -> list[list[Word]]:
    """Glyphs -> words (split at spaces and wide gaps), grouped into line units (split at huge gaps)."""
    pieces: list[tuple[float, list[_Glyph]]] = []   # (gap before the piece, its glyphs)
    current: list[_Glyph] = []
    gap_before = 0.0
    prev: _Glyph | None = None
    for g in run:
        if g.ch.isspace():
            if current:
                pieces.append((gap_before, current))
                current = []
            continue
        gap = g.x - (prev.x + prev.width) if prev else 0.0
        if current and gap > _WORD_GAP * size:
            pieces.append((gap_before, current))
            current = []
        if not current:
            gap_before = gap
        current.append(g)
        prev = g
    if current:
        pieces.append((gap_before, current))
    units: list[list[Word]] = []
    for gap, glyphs in pieces:
        if not units or gap > _RUN_GAP * size:
            units.append([])
        units[-1].append(_word(glyphs, size, place))
    return units


def _word(glyphs: list[_Glyph], size: float, place: _Placement) -> Word:
    x0 = min(g.x for g in glyphs)
    x1 = max(g.x + g.width for g in glyphs)
    y0 = min(g.y for g in glyphs) - _ASCENT * size
    y1 = max(g.y for g in glyphs) + _DESCENT * size
    return Word("".join(g.ch for g in glyphs), place.box(x0, y0, x1, y1))


def _is_vertical(runs: list[list[_Glyph]], size: float) -> bool:
    """Text set top to bottom, one glyph per baseline (the 购买方 / 密码区 / 备注 column labels)."""
    if len(runs) < 2 or any(len(r) != 1 for r in runs):
        return False
    return all(abs(b[0].x - a[0].x) < 0.2 * size and b[0].y > a[0].y for a, b in zip(runs, runs[1:]))


def _ctm(spec: str | None) -> tuple[float, float, float, float, float, float]:
    vals = _floats(spec)
    return (vals[0], vals[1], vals[2], vals[3], vals[4], vals[5]) if len(vals) == 6 else (1, 0, 0, 1, 0, 0)


def text_object_units(obj: etree._Element, page_origin: tuple[float, float]) -> list[list[Word]]:
    """One TextObject -> line units (lists of Words), in page points."""
    if obj.get("Visible", "true").lower() == "false":
        return []
    boundary = _box(obj.get("Boundary")) or (0.0, 0.0, 0.0, 0.0)
    sizes = _floats(obj.get("Size"))
    size = sizes[0] if sizes and sizes[0] > 0 else 3.5
    place = _Placement(_ctm(obj.get("CTM")),
                       (boundary[0] - page_origin[0], boundary[1] - page_origin[1]))
    units: list[list[Word]] = []
    pos = (0.0, 0.0)
    for code in _children(obj, "TextCode"):
        runs = _glyph_runs(code, pos, size)
        if _is_vertical(runs, size):
            units.append([_word([g for run in runs for g in run], size, place)])
        else:
            for run in runs:
                units.extend(_split_words(run, size, place))
        if runs:
            last = runs[-1][-1]
            pos = (last.x + last.width, last.y)
    return units


def _content_units(root: etree._Element, page_origin: tuple[float, float]) -> list[list[Word]]:
    content = _child(root, "Content")
    if content is None:
        return []
    units: list[list[Word]] = []
    for el in content.iter():
        if _local(el) == "TextObject":
            units.extend(text_object_units(el, page_origin))
    return units


# --------------------------------------------------------------------------------------------
# pages
# --------------------------------------------------------------------------------------------

def group_units_into_lines(units: list[list[Word]], *, gap_factor: float = 3.0) -> tuple[Line, ...]:
    """Lines from line units (one TextCode run each, never split), top to bottom, left to right.

    A unit joins the row whose centre line it straddles best (not just the last one seen), so that
    stacked vertical labels between two rows do not chain rows together; a horizontal gap wider
    than `gap_factor` x the height starts a new line on the same row (another column).
    """
    rows: list[list[tuple[BBox, list[Word]]]] = []
    columns = [u for u in units if _is_column(u)]
    for box, words in sorted(((_union(u), u) for u in units if not _is_column(u)),
                             key=lambda t: (t[0].cy, t[0].x0)):
        row = _best_row(rows[-6:], box)
        if row is None:
            rows.append([(box, words)])
        else:
            row.append((box, words))
    keyed: list[tuple[float, float, Line]] = []
    for row in rows:
        row_cy = row[0][0].cy
        keyed.extend((row_cy, ln.bbox.x0, ln) for ln in _split_row(row, gap_factor))
    for unit in columns:
        box = unit[0].bbox
        keyed.append((box.y0 + box.width / 2, box.x0, Line(tuple(unit))))
    keyed.sort(key=lambda t: (t[0], t[1]))
    return tuple(ln for _, _, ln in keyed)


def _split_row(row: list[tuple[BBox, list[Word]]], gap_factor: float) -> list[Line]:
    """One row's units, left to right, cut into lines at wide gaps."""
    row.sort(key=lambda t: t[0].x0)
    lines: list[Line] = []
    current: list[Word] = list(row[0][1])
    right, height = row[0][0].x1, row[0][0].height
    for box, words in row[1:]:
        if box.x0 - right > gap_factor * max(height, box.height, 1.0):
            lines.append(Line(tuple(sorted(current, key=lambda w: w.bbox.x0))))
            current = []
        current.extend(words)
        right, height = max(right, box.x1), box.height
    lines.append(Line(tuple(sorted(current, key=lambda w: w.bbox.x0))))
    return lines


def _is_column(unit: list[Word]) -> bool:
    """A vertical label: one word of several characters, much taller than wide."""
    box = unit[0].bbox
    return len(unit) == 1 and len(unit[0].text) > 1 and box.height > 1.5 * box.width


def _best_row(rows: list[list[tuple[BBox, list[Word]]]], box: BBox) -> list | None:
    """The row whose first unit's band overlaps `box` most (at least half), or None."""
    best, best_score = None, 0.0
    for row in rows:
        ref = row[0][0]
        if abs(ref.cy - box.cy) > 0.5 * min(ref.height, box.height):
            continue
        score = ref.y_overlap(box)
        if score >= 0.5 and score > best_score:
            best, best_score = row, score
    return best


def _union(words: list[Word]) -> BBox:
    box = words[0].bbox
    for w in words[1:]:
        box = box.union(w.bbox)
    return box


def _read_page(pkg: _Package, doc: _DocInfo, number: int, path: str) -> Page:
    root = pkg.xml(path)
    area = _child(root, "Area")
    box = _box(_text(_child(area, "PhysicalBox"))) or doc.default_box
    origin = (box[0], box[1])
    units: list[list[Word]] = []
    for tpl in _children(root, "Template"):
        tpl_path = doc.templates.get(tpl.get("TemplateID", ""))
        if tpl_path and pkg.has(tpl_path):
            units.extend(_content_units(pkg.xml(tpl_path), origin))
    units.extend(_content_units(root, origin))
    return Page(number=number, width=box[2] * MM_TO_PT, height=box[3] * MM_TO_PT,
                lines=group_units_into_lines(units) if units else (), source="ofd")


def read_ofd(data: bytes, options: ReadOptions) -> Layout:
    """Read an OFD file into a Layout (source "ofd"); raises InputError subclasses on bad input."""
    pkg = _Package(data, options)
    ofd, doc = _open_document(pkg, options)
    pages = tuple(_read_page(pkg, doc, i + 1, path) for i, path in enumerate(doc.page_paths))
    if not pages:
        raise CorruptFile("The OFD file has no pages.", detail=doc.root_path)
    return Layout(pages=pages, source="ofd", meta={"ofd_custom_data": _custom_data(ofd)})


# --------------------------------------------------------------------------------------------
# attachments
# --------------------------------------------------------------------------------------------

def ofd_attachments(data: bytes, options: ReadOptions | None = None) -> dict[str, bytes]:
    """Attached files by file name (e.g. "original_invoice.xml"), from Attachments.xml or Attachs/."""
    pkg = _Package(data, options or ReadOptions())
    found: dict[str, str] = {}
    for path in _listed_attachments(pkg):
        found.setdefault(posixpath.basename(path), path)
    for name in pkg.names():
        parts = name.split("/")
        if len(parts) >= 2 and parts[-2].lower() == "attachs" and parts[-1] != "Attachments.xml":
            found.setdefault(parts[-1], name)
    return {base: pkg.read(path) for base, path in found.items() if pkg.has(path)}


def _listed_attachments(pkg: _Package) -> list[str]:
    """Paths named by each document's Attachments.xml (missing pieces are skipped)."""
    if not pkg.has("OFD.xml"):
        raise CorruptFile("This is not an OFD file.", detail="no OFD.xml")
    paths: list[str] = []
    for body in (el for el in pkg.xml("OFD.xml").iter() if _local(el) == "DocBody"):
        doc_root = _text(_child(body, "DocRoot"))
        if not doc_root or not pkg.has(resolve_loc("", doc_root)):
            continue
        doc_path = resolve_loc("", doc_root)
        att = _text(_child(pkg.xml(doc_path), "Attachments"))
        if not att:
            continue
        att_path = resolve_loc(posixpath.dirname(doc_path), att)
        if not pkg.has(att_path):
            continue
        base = posixpath.dirname(att_path)
        for loc in (el for el in pkg.xml(att_path).iter() if _local(el) == "FileLoc"):
            if _text(loc):
                paths.append(resolve_loc(base, _text(loc)))
    return paths
