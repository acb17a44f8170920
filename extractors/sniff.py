"""Tell a file's kind from its bytes, never from its name (extensions lie)."""

from __future__ import annotations

import io
import zipfile
from enum import StrEnum

from extractors.errors import EmptyFile, UnsupportedType


class Kind(StrEnum):
    PDF = "pdf"
    OFD = "ofd"
    IMAGE = "image"
    XML = "xml"
    TEXT = "text"


_IMAGE_MAGIC = (
    b"\xff\xd8\xff",          # JPEG
    b"\x89PNG\r\n\x1a\n",     # PNG
    b"II*\x00", b"MM\x00*",   # TIFF
    b"BM",                    # BMP
    b"GIF87a", b"GIF89a",
)


def sniff(data: bytes) -> Kind:
    """The document kind of `data`; EmptyFile or UnsupportedType otherwise."""
    if not data.strip():
        raise EmptyFile("The file is empty.")
    head = data[:1024]
    if b"%PDF-" in head:
        return Kind.PDF
    if head.startswith(_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return Kind.IMAGE
    if head.startswith(b"PK\x03\x04"):
        if _zip_has_ofd_root(data):
            return Kind.OFD
        raise UnsupportedType("This is a ZIP archive but not an OFD document; upload the invoice itself.")
    text_head = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text_head.startswith(b"<"):
        return Kind.XML
    if _looks_like_text(head):
        return Kind.TEXT
    raise UnsupportedType("This file type is not supported; upload a PDF, OFD, image (JPEG, PNG, TIFF, WebP, "
                          "BMP) or e-invoice XML.")


def _zip_has_ofd_root(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return any(name.lower().lstrip("/") == "ofd.xml" for name in zf.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def _looks_like_text(head: bytes) -> bool:
    try:
        decoded = head.decode("utf-8")
    except UnicodeDecodeError:
        try:
            decoded = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    printable = sum(1 for ch in decoded if ch.isprintable() or ch in "\r\n\t\f")
    return printable / max(1, len(decoded)) > 0.97
