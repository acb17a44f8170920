"""The line tests' documents (fixtures/desk_documents.py, shared with `inbound bench review`)."""

from fixtures.desk_documents import receipt_without_lines, unknown_supplier_invoice

__all__ = ["receipt_without_lines", "unknown_supplier_invoice"]
