"""Matching: a document's supplier, every line's product, units and purchase order, and learning from
reviewers (issue 6).  Pure: an `Extraction` and a `MasterData` snapshot in, typed results out; no
database, no network.  The door for callers:

    from matching import MasterData, match_document
    master = MasterData.build(products=..., suppliers=..., supplier_products=..., purchase_orders=...,
                              facts=...)                      # once; reuse for many documents
    # or, from import rows with DESIGN.md's columns: master_from_rows(products=rows, ...).master
    result = match_document(extraction, master, known_documents=keys)
    result.to_json()                                          # supplier_match, lines[].product_match, issues
    facts = facts_from_review(review, result, at=now)         # store them; master.with_facts(all_facts)
"""

from matching.document import document_key, match_document, printed_line, printed_lines, printed_supplier
from matching.duplicates import DocumentKey, DocumentLookup, Duplicate, KnownDocuments, find_duplicate, number_key
from matching.learning import (
    LayoutHints, LineCorrection, Review, facts_from_line, facts_from_review, layout_hints, layout_hints_from,
    supplier_alias_fact,
)
from matching.master import (
    LearnedFact, LearnedKind, MasterData, POLine, Product, PurchaseOrder, Supplier, SupplierProduct,
)
from matching.normalize import fold_code, gtin_is_valid, normalize_company, normalize_name, strip_item_prefix
from matching.orders import ReceivedLine, check_against_po, find_purchase_order
from matching.products import PrintedLine, match_product, search_products
from matching.rows import RowsRead, master_from_rows, product_from_row, supplier_from_row
from matching.result import (
    Candidate, DocumentMatch, LineMatch, Match, MatchMethod, MatchOptions, POLineRef, SupplierProposal,
    UnitConversion,
)
from matching.specs import pack_size, read_specs, spec_agreement
from matching.suppliers import PrintedSupplier, match_supplier
from matching.units import convert_unit, unit_key

__all__ = [
    "Candidate", "DocumentKey", "DocumentLookup", "DocumentMatch", "Duplicate", "LayoutHints", "LearnedFact", "LearnedKind",
    "LineCorrection", "LineMatch", "Match", "MatchMethod", "MatchOptions", "MasterData", "POLine", "POLineRef",
    "PrintedLine", "PrintedSupplier", "Product", "PurchaseOrder", "ReceivedLine", "Review", "RowsRead", "Supplier",
    "SupplierProduct", "SupplierProposal", "UnitConversion", "check_against_po", "convert_unit", "document_key",
    "KnownDocuments", "facts_from_line", "facts_from_review", "find_duplicate", "find_purchase_order", "fold_code", "gtin_is_valid",
    "layout_hints", "layout_hints_from", "master_from_rows", "match_document", "match_product", "search_products", "match_supplier", "normalize_company",
    "normalize_name", "number_key", "pack_size", "printed_line", "printed_lines", "printed_supplier", "product_from_row", "read_specs",
    "spec_agreement", "strip_item_prefix", "supplier_alias_fact", "supplier_from_row", "unit_key",
]
