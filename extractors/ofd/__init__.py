"""OFD (GB/T 33190), the format Chinese e-invoices are issued in: a zip of XML files.

    package.py   the zip read with limits, the document structure, the element helpers (also the review
                 screen's page renderer's door into the package)
    text.py      text objects -> words -> lines
    reader.py    read_ofd (-> Layout), ofd_attachments (the issuer's invoice XML)
    images.py    page_images: the images a page draws (the QR code), without rendering
"""

from extractors.ofd.images import page_images
from extractors.ofd.package import MM_TO_PT
from extractors.ofd.reader import ofd_attachments, read_ofd
from extractors.ofd.text import group_units_into_lines, parse_deltas

__all__ = ["MM_TO_PT", "group_units_into_lines", "ofd_attachments", "page_images", "parse_deltas", "read_ofd"]
