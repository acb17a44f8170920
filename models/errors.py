"""Errors of the persistent domain, under the project's one hierarchy (see extractors/errors.py).

    InboundError
     +-- LedgerError              posting or reversing refused; nothing was written
     |    +-- NeedsApproval       (needs_approval) over-receipt beyond the PO tolerance, no approver given
     |    +-- NegativeStock       (negative_stock) a move would take on-hand below zero, product disallows it
     |    +-- IdempotencyConflict (idempotency_conflict) the Idempotency-Key was used for another document
     |    +-- NotPostable         (not_postable) unknown document/product/location, bad line, already reversed
     +-- StateError               (bad_transition) a document status change that the workflow forbids
     +-- MasterImportError        (master_import) the file has errors; `report` lists them, nothing imported
     +-- NotFound                 (not_found) no such record

`message` is the clerk's sentence; `detail` is for the log.
"""

from __future__ import annotations

from extractors.errors import InboundError

__all__ = ["InboundError", "LedgerError", "NeedsApproval", "NegativeStock", "IdempotencyConflict",
           "NotPostable", "StateError", "MasterImportError", "NotFound"]


class LedgerError(InboundError):
    code = "ledger_error"


class NeedsApproval(LedgerError):
    code = "needs_approval"


class NegativeStock(LedgerError):
    code = "negative_stock"


class IdempotencyConflict(LedgerError):
    code = "idempotency_conflict"


class NotPostable(LedgerError):
    code = "not_postable"


class StateError(InboundError):
    code = "bad_transition"


class MasterImportError(InboundError):
    code = "master_import"

    def __init__(self, message: str, *, report: object, detail: str = "") -> None:
        super().__init__(message, detail=detail)
        self.report = report


class NotFound(InboundError):
    code = "not_found"
