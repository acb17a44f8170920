"""Images placed on an OFD page (the VAT invoice's QR code is one), with their boxes, without rendering.

An OFD page draws a picture with `<ImageObject ResourceID=".." Boundary="x y w h">` (mm, page space); the
resource is a `<MultiMedia ID=".." Type="Image"><MediaFile>qr.png</MediaFile>` in the document's
DocumentRes.xml or PublicRes.xml, its file relative to that res file's `BaseLoc`. `page_images` returns
the bytes and page-point box of every image on a page (its templates included). The package's size and
member checks of `extractors.ofd.package` apply: the bytes come through the same budget.
"""

from __future__ import annotations

import posixpath

from extractors.layout import BBox
from extractors.ofd.package import (MM_TO_PT, Package, child, children, element_text, local_name, open_document,
                                    parse_box, resolve_loc)
from extractors.options import ReadOptions

__all__ = ["media_files", "page_images"]

_MAX_IMAGE_BYTES = 4 * 1024 * 1024   # a QR code or a logo; larger pictures are not looked at


def page_images(data: bytes, options: ReadOptions, *, page: int = 1) -> list[tuple[bytes, BBox]]:
    """(bytes, box in page points) of each image drawn on page `page` (1-based); [] when none."""
    pkg = Package(data, options)
    _, doc = open_document(pkg, options)
    if not 1 <= page <= len(doc.page_paths):
        return []
    media = media_files(pkg, doc)
    root = pkg.xml(doc.page_paths[page - 1])
    origin = (parse_box(element_text(child(child(root, "Area"), "PhysicalBox"))) or doc.default_box)[:2]
    sources = [root] + [pkg.xml(doc.templates[t.get("TemplateID", "")]) for t in children(root, "Template")
                        if doc.templates.get(t.get("TemplateID", "")) and pkg.has(doc.templates[t.get("TemplateID", "")])]
    found: list[tuple[bytes, BBox]] = []
    for source in sources:
        for el in source.iter():
            if local_name(el) != "ImageObject":
                continue
            path, box = media.get(el.get("ResourceID", "")), parse_box(el.get("Boundary"))
            if path is None or box is None or not pkg.has(path) or pkg.size(path) > _MAX_IMAGE_BYTES:
                continue
            x, y, w, h = box[0] - origin[0], box[1] - origin[1], box[2], box[3]
            found.append((pkg.read(path), BBox(x * MM_TO_PT, y * MM_TO_PT, (x + w) * MM_TO_PT, (y + h) * MM_TO_PT)))
    return found


def media_files(pkg: Package, doc) -> dict[str, str]:
    """MultiMedia resource ID -> member path, from the document's DocumentRes and PublicRes files."""
    base = posixpath.dirname(doc.root_path)
    common = child(doc.root, "CommonData")
    out: dict[str, str] = {}
    for kind in ("DocumentRes", "PublicRes"):
        for ref in children(common, kind):
            if not element_text(ref):
                continue
            res_path = resolve_loc(base, element_text(ref))
            if not pkg.has(res_path):
                continue
            res = pkg.xml(res_path)
            res_base = resolve_loc(posixpath.dirname(res_path), res.get("BaseLoc", "")) if res.get("BaseLoc") \
                else posixpath.dirname(res_path)
            for mm in (el for el in res.iter() if local_name(el) == "MultiMedia"):
                media_file = element_text(child(mm, "MediaFile"))
                if mm.get("ID") and media_file:
                    out[mm.get("ID")] = resolve_loc(res_base, media_file)
    return out
