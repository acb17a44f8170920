"""The persistent domain: SQLAlchemy tables, Alembic migrations, the ledger and its invariants (issue 5).

The door other packages use (api, pipeline); each name's module says more:

    db          make_engine, session_factory, transaction, upgrade, downgrade
    ledger      post_receipt, reverse_receipt, issue_stock, ReceiptLine, PostingResult
    stock       on_hand, stock_value, stock_report, warehouse_stock
    documents   create_document, set_reading, correct, record_status, history, Status
    master_io   import_master, ImportReport;  master_export: export_master
    exports     export_receipts (Kingdee, Yonyou, JSON)
    learned     learn, current_facts, forget
    layout_models  the learned layout model's versions: record_candidate, promote, reject, current_version
    invariants  check_ledger
"""

from models import auth, layout_models, runs, webhooks  # noqa: F401  (the service's tables: users, keys, runs,
#                                                        webhooks, the layout model's versions)
from models.db import downgrade, make_engine, session_factory, transaction, upgrade
from models.documents import Status, correct, create_document, history, record_status, set_reading
from models.errors import (IdempotencyConflict, LedgerError, MasterImportError, NeedsApproval, NegativeStock,
                           NotFound, NotPostable, StateError)
from models.exports import export_receipts
from models.invariants import check_ledger
from models.learned import current_facts, forget, learn
from models.ledger import PostingResult, ReceiptLine, issue_stock, post_receipt, reverse_receipt
from models.master_export import export_master
from models.master_io import ImportReport, import_master
from models.stock import on_hand, stock_report, stock_value, warehouse_stock

__all__ = [
    "make_engine", "session_factory", "transaction", "upgrade", "downgrade",
    "post_receipt", "reverse_receipt", "issue_stock", "ReceiptLine", "PostingResult",
    "on_hand", "stock_value", "stock_report", "warehouse_stock",
    "create_document", "set_reading", "correct", "record_status", "history", "Status",
    "import_master", "export_master", "ImportReport", "export_receipts",
    "learn", "current_facts", "forget", "check_ledger",
    "LedgerError", "NeedsApproval", "NegativeStock", "IdempotencyConflict", "NotPostable", "StateError",
    "MasterImportError", "NotFound",
]
