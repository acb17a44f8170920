"""Reading and extraction: bytes of a supplier document in, a typed `Extraction` out.  Pure: no
database, no network.  The door for callers:

    from extractors import extract_or_fail, ReadOptions
    extraction = extract_or_fail(data, source="invoice.pdf", options=ReadOptions())
    extraction.to_json()   # the contract object (shared/contracts/extraction.schema.json)
"""

from extractors.errors import InboundError, InputError, ReadError, ReadTimeout
from extractors.extract import extract_document, extract_or_fail
from extractors.layout import BBox, Layout, Line, Page, Word
from extractors.options import ReadOptions
from extractors.reader import read_document
from extractors.result import DocumentType, Extraction, Field, Issue, LineItem, Severity

__all__ = [
    "BBox", "DocumentType", "Extraction", "Field", "InboundError", "InputError", "Issue", "Layout", "Line",
    "LineItem", "Page", "ReadError", "ReadOptions", "ReadTimeout", "Severity", "Word", "extract_document",
    "extract_or_fail", "read_document",
]
