"""The OFD package (GB/T 33190): a zip of XML files, read with limits, and its document structure.

The file comes from strangers, so the package is read defensively: declared and actual unpacked sizes are held
to `options.max_unpacked_bytes` (`TooLarge`), member names and references that climb out of the package are
`UnsafeContent`, XML is parsed without entities, DTDs or network (`UnsafeContent`), a non-zip or broken zip is
`CorruptFile`, too many pages is `TooLarge`.

For the readers here and the review screen's page renderer (`review_ui/ofd_render.py`): `Package` (members and
their bytes, within the budget), `open_document` (OFD.xml -> DocBody/DocRoot -> `DocInfo`: page and template
paths, the default page box), `resolve_loc`, and the element helpers `child`, `children`, `local_name`,
`element_text`, `parse_floats`, `parse_box` (OFD's own units: millimetres, origin top-left; `MM_TO_PT`).
"""

from __future__ import annotations

import io
import math
import posixpath
import zipfile
import zlib
from dataclasses import dataclass

from lxml import etree

from extractors.errors import CorruptFile, EmptyFile, EncryptedFile, TooLarge, UnsafeContent
from extractors.options import ReadOptions

MM_TO_PT = 72 / 25.4
MAX_MEMBERS = 20_000
_CHUNK = 64 * 1024
_A4_MM = (210.0, 297.0)


# --------------------------------------------------------------------------------------------
# the package: a zip read with limits
# --------------------------------------------------------------------------------------------

class Package:
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
        if not name:
            raise CorruptFile("The OFD file is damaged.", detail="a member without a name")
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


def local_name(el: etree._Element) -> str:
    tag = el.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def child(el: etree._Element | None, name: str) -> etree._Element | None:
    if el is None:
        return None
    return next((c for c in el if local_name(c) == name), None)


def children(el: etree._Element | None, name: str) -> list[etree._Element]:
    return [] if el is None else [c for c in el if local_name(c) == name]


def element_text(el: etree._Element | None) -> str:
    return "" if el is None or el.text is None else el.text.strip()


def parse_floats(spec: str | None) -> list[float]:
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


def parse_box(spec: str | None) -> tuple[float, float, float, float] | None:
    vals = parse_floats(spec)
    return (vals[0], vals[1], vals[2], vals[3]) if len(vals) >= 4 else None


# --------------------------------------------------------------------------------------------
# document structure
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class DocInfo:
    root_path: str                       # Doc_0/Document.xml
    root: etree._Element
    page_paths: list[str]
    templates: dict[str, str]            # TemplatePage ID -> path
    default_box: tuple[float, float, float, float]


def open_document(pkg: Package, options: ReadOptions) -> tuple[etree._Element, DocInfo]:
    if not pkg.has("OFD.xml"):
        raise CorruptFile("This is not an OFD file.", detail="no OFD.xml")
    ofd = pkg.xml("OFD.xml")
    body = next((el for el in ofd.iter() if local_name(el) == "DocBody"), None)
    doc_root = element_text(child(body, "DocRoot"))
    if not doc_root:
        raise CorruptFile("The OFD file has no document.", detail="no DocBody/DocRoot")
    path = resolve_loc("", doc_root)
    root = pkg.xml(path)
    base = posixpath.dirname(path)
    pages = children(child(root, "Pages"), "Page")
    if len(pages) > options.max_pages:
        raise TooLarge("The document has too many pages.", detail=f"{len(pages)} pages")
    common = child(root, "CommonData")
    templates = {tp.get("ID", ""): resolve_loc(base, tp.get("BaseLoc", ""))
                 for tp in children(common, "TemplatePage") if tp.get("BaseLoc")}
    box = parse_box(element_text(child(child(common, "PageArea"), "PhysicalBox"))) or (0.0, 0.0, *_A4_MM)
    page_paths = [resolve_loc(base, p.get("BaseLoc", "")) for p in pages]
    return ofd, DocInfo(path, root, page_paths, templates, box)


def custom_data(ofd: etree._Element) -> dict[str, str]:
    return {el.get("Name", ""): (el.text or "").strip()
            for el in ofd.iter() if local_name(el) == "CustomData" and el.get("Name")}
