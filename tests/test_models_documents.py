"""Documents and their review, receipts exports and learned facts, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
from decimal import Decimal as D

import pytest

from db_support import add_document, add_product, db_url, factory  # noqa: F401
from models.db import transaction
from models.documents import correct, create_document, history, record_status, set_reading
from models.errors import NotFound, StateError
from models.exports import KINGDEE, YONYOU, export_receipts
from models.learned import current_facts, forget, learn
from models.ledger import ReceiptLine, post_receipt, reverse_receipt
from models.tables import Document, Supplier

READING = {"document_type": "delivery_note",
           "fields": {"invoice_number": {"value": "DN-9", "raw": "DN-9", "confidence": 0.7, "page": 1}},
           "lines": [{"line_no": 1, "quantity": {"value": "12", "raw": "12", "confidence": 0.6}}]}


def test_same_bytes_give_the_same_document(factory):
    with transaction(factory) as session:
        first, created = create_document(session, sha256="a" * 64, filename="x.pdf", source="email")
        again, created_again = create_document(session, sha256="a" * 64, filename="y.pdf")
    assert created and not created_again and first.id == again.id and again.source == "email"


def test_corrections_keep_the_machine_reading_and_log_every_change(factory):
    with transaction(factory) as session:
        document, _ = create_document(session, sha256="b" * 64, filename="dn.pdf", source="folder")
        record_status(session, document, "processing", who="worker")
        set_reading(session, document.id, extraction=READING, matches={"supplier": {"candidates": []}},
                    who="worker", status="needs_review")
        correct(session, document.id, {"fields.invoice_number": "DN-9A", "lines.1.quantity": "10",
                                       "lines.1.product_id": 7, "lines.1.uom_factor": "2.5"},
                who="clerk-ann", why="printed 12, counted 10")
    with transaction(factory) as session:
        stored = session.get(Document, document.id)
        assert stored.extraction == READING                                   # the machine's reading, untouched
        fields = stored.current["extraction"]["fields"]
        assert fields["invoice_number"]["value"] == "DN-9A" and fields["invoice_number"]["raw"] == "DN-9"
        line = stored.current["extraction"]["lines"][0]
        assert (line["quantity"]["value"], line["product_id"], line["uom_factor"]) == ("10", 7, "2.5")
        entries = history(session, document.id)
    changes = [(c.path, c.before, c.after, c.who) for c in entries]
    assert changes[:3] == [("status", None, "received", "system"), ("status", "received", "processing", "worker"),
                           ("extraction", None, "machine reading", "worker")]
    assert ("fields.invoice_number", "DN-9", "DN-9A", "clerk-ann") in changes
    assert ("lines.1.quantity", "12", "10", "clerk-ann") in changes
    assert all(c.at.tzinfo is not None for c in entries)


def test_the_workflow_refuses_impossible_steps(factory):
    with transaction(factory) as session:
        document = add_document(session, "wf")
        with pytest.raises(StateError):
            record_status(session, document, "received", who="x")
        record_status(session, document, "rejected", who="x", why="duplicate")
        with pytest.raises(StateError):
            correct(session, document.id, {"fields.total": "1"}, who="x")
        with pytest.raises(StateError):
            record_status(session, document, "posted", who="x")
        failing, _ = create_document(session, sha256="c" * 64, filename="f.pdf")
        record_status(session, failing, "failed", who="worker", reason="encrypted_document")
        assert failing.failure_reason == "encrypted_document"
        with pytest.raises(NotFound):
            correct(session, 10**6, {"fields.total": "1"}, who="x")


def _posted(factory):
    with transaction(factory) as session:
        supplier = Supplier(name="深圳蓝湾精密电子有限公司", tax_id="914403007788661305")
        session.add(supplier)
        product = add_product(session, "EL-DIO", tax_rate="0.13")
        document = add_document(session, "INV-1")
        document.supplier_id = supplier.id
        post_receipt(session, document_id=document.id, posted_by="clerk",
                     lines=[ReceiptLine(1, product.id, D("5000"), D("0.252"))])
        reverse_receipt(session, document_id=document.id, posted_by="boss", reason="wrong goods")


@pytest.mark.parametrize("fmt,header", [("kingdee", KINGDEE), ("yonyou", YONYOU)])
def test_receipts_export_for_the_erps(factory, fmt, header):
    _posted(factory)
    with transaction(factory) as session:
        text = export_receipts(session, fmt=fmt).decode("utf-8-sig")
        sheet = export_receipts(session, fmt=fmt, file_type="xlsx")
    rows = [line.split(",") for line in text.strip().splitlines()]
    assert rows[0] == header
    first, red = dict(zip(header, rows[1])), dict(zip(header, rows[2]))
    amount, quantity = ("金额", "实收数量") if fmt == "kingdee" else ("本币金额", "数量")
    assert (first[amount], first[quantity], red[amount], red[quantity]) == ("1260", "5000", "-1260", "-5000")
    assert "914403007788661305" in rows[1] and rows[2][0] == "INV-1-R"
    from openpyxl import load_workbook
    book = load_workbook(io.BytesIO(sheet), read_only=True)
    cells = list(book.worksheets[0].iter_rows(values_only=True))
    assert list(cells[0]) == header and len(cells) == 3


def test_receipts_export_as_json(factory):
    _posted(factory)
    with transaction(factory) as session:
        data = json.loads(export_receipts(session, fmt="json"))
    assert data["total"] == 2
    receipt, reversal = data["items"]
    assert (receipt["kind"], reversal["kind"]) == ("receipt", "reversal")
    assert receipt["lines"][0]["quantity"] == "5000" and receipt["lines"][0]["value"] == "1260"
    assert reversal["lines"][0]["value"] == "-1260" and receipt["supplier"]["code"] == "914403007788661305"


def test_learned_facts_latest_wins_and_history_stays(factory):
    with transaction(factory) as session:
        supplier = Supplier(name="Acme")
        session.add(supplier)
        session.flush()
        first = learn(session, kind="product_alias", supplier_id=supplier.id, key="RES 10K", target_id=1,
                      created_by="ann")
        second = learn(session, kind="product_alias", supplier_id=supplier.id, key="RES 10K", target_id=2,
                       created_by="bob")
        learn(session, kind="unit_factor", supplier_id=supplier.id, key="reel", factor=D("5000"), created_by="bob")
        facts = current_facts(session, supplier_id=supplier.id)
        assert [(f.kind, f.target_id, f.factor) for f in facts] == [("product_alias", 2, None),
                                                                    ("unit_factor", None, D("5000"))]
        forget(session, second.id)
        assert [f.kind for f in current_facts(session)] == ["unit_factor"]
        assert first.id != second.id
        with pytest.raises(ValueError):
            learn(session, kind="guess", key="x", created_by="x")
