"""Structured e-invoice data -> `Extraction` with confidence 1.0.

- `parse_invoice_xml(xml)`: UN/CEFACT CII D16B (ZUGFeRD 2.x, Factur-X, XRechnung CII), ZUGFeRD 1.0 CII
  (CrossIndustryDocument), UBL 2.1 Invoice / CreditNote and the Chinese e-invoice XML
  (http://www.edrm.org.cn/schema/e-invoice/2019) mapped to the contract's fields; None for other XML
  (`invoice.py`; the dialects in `cii.py`, `ubl.py`, `fapiao.py`, sharing the helpers of `elements.py`).
- `locate_in_layout(extraction, layout)`: each field gets the page and box where its value is printed;
  a header total printed differently from the XML gets an `embedded_data_mismatch` issue (`locate.py`).

The XML a PDF carries as an attachment is pulled out by the PDF reader
(`extractors.pdf_text.embedded_invoice_xml`), the one inside an OFD by `extractors.ofd.ofd_attachments`.
XML is parsed with defusedxml: a DTD, entity declarations or external references raise `UnsafeContent`,
malformed XML raises `CorruptFile`.
"""

from extractors.structured.elements import parse_xml_safely
from extractors.structured.invoice import is_invoice_root, parse_invoice_xml
from extractors.structured.locate import locate_in_layout

__all__ = ["is_invoice_root", "locate_in_layout", "parse_invoice_xml", "parse_xml_safely"]
