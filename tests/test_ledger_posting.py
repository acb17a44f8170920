"""The ledger, scenario by scenario, on SQLite and PostgreSQL: posting, idempotency, reversal, cost, PO, stock."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from db_support import add_document, add_product, db_url, factory  # noqa: F401
from models.db import transaction
from models.errors import IdempotencyConflict, NeedsApproval, NegativeStock, NotPostable
from models.invariants import check_ledger
from models.ledger import ReceiptLine, issue_stock, post_receipt, reverse_receipt
from models.stock import average_cost, moves_totals, on_hand, stock_report, stock_value, warehouse_stock
from models.tables import Posting, PurchaseOrder, PurchaseOrderLine, StockMove, Supplier


def _consistent(factory) -> None:
    with transaction(factory) as session:
        assert check_ledger(session) == []


def _setup(factory, *skus, **kw):
    with transaction(factory) as session:
        ids = [add_product(session, sku, **kw).id for sku in skus]
    return ids


def _post(factory, name, lines, **kw):
    with transaction(factory) as session:
        document = add_document(session, name)
        return post_receipt(session, document_id=document.id, lines=lines, posted_by="clerk", **kw)


def test_a_receipt_becomes_stock_at_its_cost(factory):
    (apple,) = _setup(factory, "APPLE", unit="kg")
    result = _post(factory, "DN-1", [ReceiptLine(1, apple, D("3"), D("25.00"), factor=D("10"))])  # 3 boxes of 10 kg
    assert result.created and result.move_count == 1
    with transaction(factory) as session:
        assert on_hand(session, apple) == D("30")
        assert stock_value(session, apple) == D("75")
        assert average_cost(session, apple) == D("2.5")
        move = session.scalars(select(StockMove)).one()
        assert (move.quantity, move.unit_cost, move.value) == (D("30"), D("2.5"), D("75"))
        assert move.posted_at.tzinfo is not None
    _consistent(factory)


def test_a_vat_invoice_unit_price_with_eight_places_posts_at_its_exact_value(factory):
    (rice,) = _setup(factory, "RICE", unit="kg")
    _post(factory, "VAT-1", [ReceiptLine(1, rice, D("109"), D("8.65137615"))])     # 不含税单价, as 增值税发票 print it
    with transaction(factory) as session:
        assert stock_value(session, rice) == D("943.00000035")
    _consistent(factory)


def test_moving_average_over_two_receipts(factory):
    (oil,) = _setup(factory, "OIL")
    _post(factory, "A", [ReceiptLine(1, oil, D("10"), D("1.00"))])
    _post(factory, "B", [ReceiptLine(1, oil, D("30"), D("2.00"))])
    with transaction(factory) as session:
        assert average_cost(session, oil) == D("1.75")     # (10x1 + 30x2) / 40
        assert stock_value(session, oil) == D("70")
    _consistent(factory)


def test_posting_twice_changes_nothing(factory):
    (pid,) = _setup(factory, "P")
    with transaction(factory) as session:
        document = add_document(session, "DN-2")
    lines = [ReceiptLine(1, pid, D("5"), D("2"))]
    for _ in range(3):
        with transaction(factory) as session:
            result = post_receipt(session, document_id=document.id, lines=lines, posted_by="clerk")
    assert not result.created
    with transaction(factory) as session:
        assert on_hand(session, pid) == D("5")
        assert len(session.scalars(select(Posting)).all()) == 1
    _consistent(factory)


def test_idempotency_key_returns_the_first_posting_and_refuses_another_document(factory):
    (pid,) = _setup(factory, "P")
    first = _post(factory, "DN-3", [ReceiptLine(1, pid, D("1"), D("1"))], idempotency_key="key-1")
    with pytest.raises(IdempotencyConflict):
        _post(factory, "DN-4", [ReceiptLine(1, pid, D("1"), D("1"))], idempotency_key="key-1")
    with transaction(factory) as session:
        again = post_receipt(session, document_id=first.document_id, lines=[], posted_by="x", idempotency_key="key-1")
    assert again.posting_id == first.posting_id and not again.created
    with transaction(factory) as session:
        assert on_hand(session, pid) == D("1")


def test_the_database_itself_refuses_a_second_posting(factory):
    (pid,) = _setup(factory, "P")
    result = _post(factory, "DN-5", [ReceiptLine(1, pid, D("1"), D("1"))], idempotency_key="k")
    with pytest.raises(IntegrityError), transaction(factory) as session:
        session.execute(insert(Posting).values(document_id=result.document_id, kind="receipt", posted_by="sneaky"))
    with pytest.raises(IntegrityError), transaction(factory) as session:
        session.execute(insert(Posting).values(document_id=None, kind="issue", idempotency_key="k", posted_by="x"))


def test_moves_and_postings_cannot_be_updated_or_deleted(factory):
    (pid,) = _setup(factory, "P")
    _post(factory, "DN-6", [ReceiptLine(1, pid, D("1"), D("1"))])
    for sql in ("UPDATE stock_moves SET quantity = '2'", "DELETE FROM stock_moves", "DELETE FROM postings",
                "UPDATE document_history SET who = 'x'"):
        with pytest.raises(DBAPIError, match="append-only"), transaction(factory) as session:
            session.execute(text(sql))


def test_reversal_moves_out_at_the_cost_it_came_in_at(factory):
    (pid,) = _setup(factory, "P")
    first = _post(factory, "A", [ReceiptLine(1, pid, D("10"), D("1"))])
    _post(factory, "B", [ReceiptLine(1, pid, D("10"), D("3"))])
    with transaction(factory) as session:
        result = reverse_receipt(session, document_id=first.document_id, posted_by="approver", reason="wrong supplier")
        again = reverse_receipt(session, document_id=first.document_id, posted_by="approver", reason="twice")
    assert result.created and not again.created
    with transaction(factory) as session:
        assert (on_hand(session, pid), stock_value(session, pid), average_cost(session, pid)) == (D(10), D(30), D(3))
        from models.tables import Document
        assert session.get(Document, first.document_id).status == "reversed"
    _consistent(factory)


def test_reversal_that_would_go_negative_is_refused_unless_allowed(factory):
    strict, loose = _setup(factory, "STRICT")[0], _setup(factory, "LOOSE", allow_negative=True)[0]
    a = _post(factory, "A", [ReceiptLine(1, strict, D("5"), D("1")), ReceiptLine(2, loose, D("5"), D("1"))])
    with transaction(factory) as session:
        issue_stock(session, product_id=strict, quantity=D("4"), posted_by="shop")
        issue_stock(session, product_id=loose, quantity=D("4"), posted_by="shop")
    with pytest.raises(NegativeStock), transaction(factory) as session:
        reverse_receipt(session, document_id=a.document_id, posted_by="x", reason="r")
    with transaction(factory) as session:
        assert session.scalars(select(Posting).where(Posting.kind == "reversal")).first() is None
        assert on_hand(session, strict) == D("1")
    with transaction(factory) as session:
        session.execute(text("UPDATE products SET allow_negative = true WHERE sku = 'STRICT'"))
        reverse_receipt(session, document_id=a.document_id, posted_by="x", reason="r")
        assert on_hand(session, strict) == D("-4") and on_hand(session, loose) == D("-4")
    _consistent(factory)


def test_issuing_everything_leaves_no_value_behind(factory):
    (pid,) = _setup(factory, "P")
    _post(factory, "A", [ReceiptLine(1, pid, D("3"), D("1"))])
    _post(factory, "B", [ReceiptLine(1, pid, D("3"), D("2"))])
    with transaction(factory) as session:
        issue_stock(session, product_id=pid, quantity=D("1"), posted_by="shop")
        issue_stock(session, product_id=pid, quantity=D("5"), posted_by="shop")
        assert (on_hand(session, pid), stock_value(session, pid)) == (D(0), D(0))
        with pytest.raises(NegativeStock):
            issue_stock(session, product_id=pid, quantity=D("1"), posted_by="shop")
    _consistent(factory)


def _po(session, pid, quantity="10"):
    supplier = Supplier(name="Acme")
    session.add(supplier)
    session.flush()
    order = PurchaseOrder(po_number="PO-1", supplier_id=supplier.id)
    session.add(order)
    session.flush()
    line = PurchaseOrderLine(purchase_order_id=order.id, line_no=1, product_id=pid, unit="box",
                             quantity=D(quantity), factor=D("12"), ordered_base=D(quantity) * 12)
    session.add(line)
    session.flush()
    return line.id


def test_po_received_quantities_move_and_over_receipt_needs_an_approver(factory):
    (pid,) = _setup(factory, "P")
    with transaction(factory) as session:
        po_line = _po(session, pid)
    _post(factory, "A", [ReceiptLine(1, pid, D("6"), D("24"), factor=D("12"), po_line_id=po_line)])
    with pytest.raises(NeedsApproval), transaction(factory) as session:
        document = add_document(session, "B")
        post_receipt(session, document_id=document.id, posted_by="clerk",
                     lines=[ReceiptLine(1, pid, D("5"), D("24"), factor=D("12"), po_line_id=po_line)])
    with transaction(factory) as session:
        assert session.get(PurchaseOrderLine, po_line).received_base == D("72")
        assert session.scalars(select(Posting)).all()[-1].document_id != document.id
    b = _post(factory, "B2", [ReceiptLine(1, pid, D("5"), D("24"), factor=D("12"), po_line_id=po_line)],
              approved_by="boss")
    with transaction(factory) as session:
        assert session.get(PurchaseOrderLine, po_line).received_base == D("132")
        reverse_receipt(session, document_id=b.document_id, posted_by="boss", reason="returned")
        assert session.get(PurchaseOrderLine, po_line).received_base == D("72")
    # within tolerance: 10 boxes ordered, 4.5 more arrive: 10.5 of 10 is 5 %, no approver needed
    _post(factory, "C", [ReceiptLine(1, pid, D("4.5"), D("24"), factor=D("12"), po_line_id=po_line)])
    _consistent(factory)


def test_a_price_off_the_order_needs_an_approver_when_a_tolerance_is_given(factory):
    (pid,) = _setup(factory, "P")
    with transaction(factory) as session:
        po_line = _po(session, pid)
        session.get(PurchaseOrderLine, po_line).price = D("24")             # per box of 12: 2 per base unit
    lines = [ReceiptLine(1, pid, D("1"), D("25"), factor=D("12"), po_line_id=po_line)]      # +4.2 %
    with pytest.raises(NeedsApproval, match="price off the order by more than 2% on line 1:"), transaction(factory) as session:
        document = add_document(session, "A")
        post_receipt(session, document_id=document.id, posted_by="clerk", lines=lines, price_tolerance=D("0.02"))
    with transaction(factory) as session:
        assert session.get(PurchaseOrderLine, po_line).received_base == D("0")          # nothing written
    _post(factory, "B", [ReceiptLine(1, pid, D("1"), D("24.40"), factor=D("12"), po_line_id=po_line)],
          price_tolerance=D("0.02"))                                                    # +1.7 %: within
    _post(factory, "C", lines, price_tolerance=D("0.02"), approved_by="boss")
    _post(factory, "D", lines)                                    # no price tolerance given: no price check
    _consistent(factory)


def test_bad_lines_are_refused_with_a_reason(factory):
    (pid,) = _setup(factory, "P")
    (lot,) = _setup(factory, "LOT", batch_tracked=True)
    cases = [([], "no lines"), ([ReceiptLine(1, pid, D("0"), D("1"))], "> 0"),
             ([ReceiptLine(1, pid, D("1"), D("-1"))], ">= 0"),
             ([ReceiptLine(1, pid, D("1.1234567"), D("1"))], "decimal places"),
             ([ReceiptLine(1, pid, D("0.333333"), D("1"), factor=D("0.5"))], "decimal places"),
             ([ReceiptLine(1, 9999, D("1"), D("1"))], "No product"),
             ([ReceiptLine(1, lot, D("1"), D("1"))], "batch"),
             ([ReceiptLine(1, pid, D("1"), D("1"), location_id=9999)], "No location")]
    for lines, reason in cases:
        with pytest.raises(NotPostable, match=reason), transaction(factory) as session:
            document = add_document(session, f"bad-{reason}")
            post_receipt(session, document_id=document.id, lines=lines, posted_by="clerk")
    with pytest.raises(NotPostable, match="rejected"), transaction(factory) as session:
        document = add_document(session, "rejected-doc")
        from models.documents import record_status
        record_status(session, document, "rejected", who="clerk", why="not ours")
        post_receipt(session, document_id=document.id, lines=[ReceiptLine(1, pid, D("1"), D("1"))], posted_by="c")


def test_decimals_are_exact_on_both_backends(factory):
    (pid,) = _setup(factory, "P", unit="kg")
    _post(factory, "A", [ReceiptLine(1, pid, D("0.000001"), D("123456789.123456"))])
    _post(factory, "B", [ReceiptLine(1, pid, D("99999999.999999"), D("0.000001"))])
    with transaction(factory) as session:
        values = sorted(m.value for m in session.scalars(select(StockMove)))
        assert values == [D("99.999999999999"), D("123.456789123456")]
        assert stock_value(session, pid) == D("223.456789123455")
        assert moves_totals(session, pid) == (D("100000000.000000"), D("223.456789123455"))


def test_stock_report_has_the_design_shape(factory):
    (pid,) = _setup(factory, "MILK", unit="L", batch_tracked=True)
    _post(factory, "A", [ReceiptLine(1, pid, D("12"), D("1.5"), batch="L1", expiry=date(2026, 6, 1)),
                         ReceiptLine(2, pid, D("6"), D("1.5"), batch="L2")])
    with transaction(factory) as session:
        report = stock_report(session, pid).to_json()
        stock = warehouse_stock(session, 1)
    assert set(report) >= {"product_id", "sku", "on_hand", "unit", "value", "locations", "moves"}
    assert (report["on_hand"], report["value"], report["unit"]) == ("18", "27", "L")
    assert [(loc["batch"], loc["on_hand"], loc["expiry"]) for loc in report["locations"]] == [
        ("L1", "12", "2026-06-01"), ("L2", "6", None)]
    assert len(report["moves"]) == 2 and report["moves"][0]["quantity"] == "6"
    assert stock == {pid: (D("18"), D("27"))}


def test_concurrent_posts_of_the_same_document_post_once(factory):
    from concurrent.futures import ThreadPoolExecutor
    (pid,) = _setup(factory, "P")
    with transaction(factory) as session:
        document = add_document(session, "DUP")

    def post(_):
        with transaction(factory) as session:
            return post_receipt(session, document_id=document.id, lines=[ReceiptLine(1, pid, D("1"), D("1"))],
                                posted_by="clerk", idempotency_key="same")

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(post, range(8)))
    assert sum(r.created for r in results) == 1
    assert len({r.posting_id for r in results}) == 1
    with transaction(factory) as session:
        assert on_hand(session, pid) == D("1")
    _consistent(factory)


def test_value_left_by_a_late_reversal_is_cleared_when_stock_reaches_zero(factory):
    (pid,) = _setup(factory, "P")
    a = _post(factory, "A", [ReceiptLine(1, pid, D("10"), D("1"))])
    _post(factory, "B", [ReceiptLine(1, pid, D("10"), D("2"))])
    with transaction(factory) as session:
        issue_stock(session, product_id=pid, quantity=D("10"), posted_by="shop")   # out at 1.5: 15
        reverse_receipt(session, document_id=a.document_id, posted_by="boss", reason="returned")  # out at 1: 10
        assert (on_hand(session, pid), stock_value(session, pid)) == (D(0), D(0))
        revaluation = session.scalars(select(StockMove).where(StockMove.line_no == 0)).one()
        assert (revaluation.quantity, revaluation.value) == (D(0), D(-5))
    _consistent(factory)
