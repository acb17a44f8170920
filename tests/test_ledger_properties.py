"""Property tests: for any sequence of receipts, re-posts, reversals and issues, on SQLite and PostgreSQL,
on-hand = sum of moves, value = sum of move values (the invariants), no negative stock unless the product
allows it, quantities exact to their 6 places, and posting (or reversing) again changes nothing."""

from __future__ import annotations

import os
import shutil
import tempfile
from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from db_support import add_document, add_product, drop_pg_database, fresh_pg_database, require_pg, sqlite_template
from models.db import make_engine, session_factory, transaction
from models.errors import NegativeStock
from models.invariants import check_ledger
from models.ledger import ReceiptLine, issue_stock, post_receipt, reverse_receipt
from models.stock import on_hand, stock_value
from models.tables import StockMove

quantities = st.decimals(min_value=D("0.001"), max_value=D("500"), places=3)
prices = st.decimals(min_value=D("0"), max_value=D("99.9999"), places=4)
factors = st.sampled_from([D("1"), D("0.5"), D("12"), D("2.5")])
receive = st.tuples(st.just("receive"), st.integers(0, 1), quantities, prices, factors)
reverse = st.tuples(st.just("reverse"), st.integers(0, 20))
repost = st.tuples(st.just("repost"), st.integers(0, 20))
issue = st.tuples(st.just("issue"), st.integers(0, 1), quantities)
EXAMPLES = int(os.environ.get("INBOUND_PROPERTY_EXAMPLES", "40"))   # raise it for a deeper run
operations = st.lists(st.one_of(receive, receive, reverse, repost, issue), min_size=1, max_size=12)


class Book:
    """What the ledger should say, kept in plain Python beside it."""

    def __init__(self, factory, products, allow_negative):
        self.factory, self.products, self.allow_negative = factory, products, allow_negative
        self.expected = {p: D(0) for p in products}
        self.receipts: list[tuple[int, list[ReceiptLine], bool]] = []   # (document, lines, reversed)

    def apply(self, op) -> None:
        getattr(self, op[0])(*op[1:])

    def receive(self, index, quantity, price, factor):
        product = self.products[index]
        lines = [ReceiptLine(1, product, quantity, price, factor=factor)]
        with transaction(self.factory) as session:
            document = add_document(session, f"doc-{len(self.receipts)}")
            post_receipt(session, document_id=document.id, lines=lines, posted_by="prop")
        self.receipts.append((document.id, lines, False))
        self.expected[product] += quantity * factor

    def repost(self, index):
        if self.receipts:
            document, lines, _ = self.receipts[index % len(self.receipts)]
            before = self._snapshot()
            with transaction(self.factory) as session:
                result = post_receipt(session, document_id=document, lines=lines, posted_by="again")
            assert not result.created and self._snapshot() == before

    def reverse(self, index):
        if not self.receipts:
            return
        position = index % len(self.receipts)
        document, lines, was_reversed = self.receipts[position]
        product, base = lines[0].product_id, lines[0].quantity * lines[0].factor
        would_go_negative = self.expected[product] - base < 0 and not self.allow_negative[product]
        try:
            with transaction(self.factory) as session:
                result = reverse_receipt(session, document_id=document, posted_by="prop", reason="property")
        except NegativeStock:
            assert would_go_negative and not was_reversed
            return
        assert result.created == (not was_reversed)
        if result.created:
            assert not would_go_negative
            self.expected[product] -= base
            self.receipts[position] = (document, lines, True)

    def issue(self, index, quantity):
        product = self.products[index]
        would_go_negative = self.expected[product] - quantity < 0 and not self.allow_negative[product]
        try:
            with transaction(self.factory) as session:
                issue_stock(session, product_id=product, quantity=quantity, posted_by="prop")
        except NegativeStock:
            assert would_go_negative
            return
        assert not would_go_negative
        self.expected[product] -= quantity

    def _snapshot(self):
        with transaction(self.factory) as session:
            moves = len(session.query(StockMove.id).all())
            return moves, {p: (on_hand(session, p), stock_value(session, p)) for p in self.products}

    def verify(self):
        with transaction(self.factory) as session:
            assert check_ledger(session) == []
            for product, quantity in self.expected.items():
                assert on_hand(session, product) == quantity
                if quantity == 0:
                    assert stock_value(session, product) == 0   # no value left at zero stock


def _run(url: str, ops) -> None:
    engine = make_engine(url)
    try:
        factory = session_factory(engine)
        with transaction(factory) as session:
            strict = add_product(session, "STRICT").id
            loose = add_product(session, "LOOSE", allow_negative=True).id
        book = Book(factory, [strict, loose], {strict: False, loose: True})
        for op in ops:
            book.apply(op)
        book.verify()
    finally:
        engine.dispose()


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=operations)
def test_any_sequence_keeps_the_ledger_true_on_sqlite(ops):
    folder = Path(tempfile.mkdtemp(prefix="inbound-prop-"))
    try:
        path = folder / "p.db"
        shutil.copyfile(sqlite_template(), path)
        _run(f"sqlite:///{path}", ops)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def pg_available():
    require_pg()


@settings(max_examples=max(EXAMPLES // 4, 10), deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_any_sequence_keeps_the_ledger_true_on_postgresql(pg_available, ops):
    url, name = fresh_pg_database()
    try:
        _run(url, ops)
    finally:
        drop_pg_database(name)
