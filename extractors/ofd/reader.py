"""OFD (GB/T 33190) reader: the zip-of-XML format Chinese e-invoices are issued in.

`read_ofd(data, options)` walks OFD.xml -> DocBody/DocRoot (Document.xml) -> the pages (Page_N/Content.xml)
and the templates they reference (Tpls/*/Content.xml, drawn under the page), turns every TextObject/TextCode
into Words (`text.py`) and groups them into lines.  `ofd_attachments(data)` returns the attached files
(Doc_N/Attachs/..., e.g. original_invoice.xml, the issuer's invoice XML).  The package's limits
(`package.py`) apply to both.
"""

from __future__ import annotations

import posixpath

from extractors.errors import CorruptFile
from extractors.layout import Layout, Page, Word
from extractors.ofd.package import (MM_TO_PT, DocInfo, Package, child, children, custom_data, element_text,
                                    local_name, open_document, parse_box, resolve_loc)
from extractors.ofd.text import content_units, group_units_into_lines
from extractors.options import ReadOptions

__all__ = ["ofd_attachments", "read_ofd"]


def _read_page(pkg: Package, doc: DocInfo, number: int, path: str) -> Page:
    root = pkg.xml(path)
    area = child(root, "Area")
    box = parse_box(element_text(child(area, "PhysicalBox"))) or doc.default_box
    origin = (box[0], box[1])
    units: list[list[Word]] = []
    for tpl in children(root, "Template"):
        tpl_path = doc.templates.get(tpl.get("TemplateID", ""))
        if tpl_path and pkg.has(tpl_path):
            units.extend(content_units(pkg.xml(tpl_path), origin))
    units.extend(content_units(root, origin))
    return Page(number=number, width=box[2] * MM_TO_PT, height=box[3] * MM_TO_PT,
                lines=group_units_into_lines(units) if units else (), source="ofd")


def read_ofd(data: bytes, options: ReadOptions) -> Layout:
    """Read an OFD file into a Layout (source "ofd"); raises InputError subclasses on bad input."""
    pkg = Package(data, options)
    ofd, doc = open_document(pkg, options)
    pages = tuple(_read_page(pkg, doc, i + 1, path) for i, path in enumerate(doc.page_paths))
    if not pages:
        raise CorruptFile("The OFD file has no pages.", detail=doc.root_path)
    return Layout(pages=pages, source="ofd", meta={"ofd_custom_data": custom_data(ofd)})


# --------------------------------------------------------------------------------------------
# attachments
# --------------------------------------------------------------------------------------------

def ofd_attachments(data: bytes, options: ReadOptions | None = None) -> dict[str, bytes]:
    """Attached files by file name (e.g. "original_invoice.xml"), from Attachments.xml or Attachs/."""
    pkg = Package(data, options or ReadOptions())
    found: dict[str, str] = {}
    for path in _listed_attachments(pkg):
        found.setdefault(posixpath.basename(path), path)
    for name in pkg.names():
        parts = name.split("/")
        if len(parts) >= 2 and parts[-2].lower() == "attachs" and parts[-1] != "Attachments.xml":
            found.setdefault(parts[-1], name)
    return {base: pkg.read(path) for base, path in found.items() if pkg.has(path)}


def _listed_attachments(pkg: Package) -> list[str]:
    """Paths named by each document's Attachments.xml (missing pieces are skipped)."""
    if not pkg.has("OFD.xml"):
        raise CorruptFile("This is not an OFD file.", detail="no OFD.xml")
    paths: list[str] = []
    for body in (el for el in pkg.xml("OFD.xml").iter() if local_name(el) == "DocBody"):
        doc_root = element_text(child(body, "DocRoot"))
        if not doc_root or not pkg.has(resolve_loc("", doc_root)):
            continue
        doc_path = resolve_loc("", doc_root)
        att = element_text(child(pkg.xml(doc_path), "Attachments"))
        if not att:
            continue
        att_path = resolve_loc(posixpath.dirname(doc_path), att)
        if not pkg.has(att_path):
            continue
        base = posixpath.dirname(att_path)
        for loc in (el for el in pkg.xml(att_path).iter() if local_name(el) == "FileLoc"):
            if element_text(loc):
                paths.append(resolve_loc(base, element_text(loc)))
    return paths
