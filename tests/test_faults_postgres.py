"""PostgreSQL going away in the middle of a posting (issue 18): the posting's server process is terminated
(pg_terminate_backend, what a restart does to every open session) after its first stock move was written and
before it commits.  All or nothing: no posting, no move, no balance change, the document still `ready`; the
clerk's retry with the same Idempotency-Key posts it once, and a third call changes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DBAPIError

from db_support import add_document, add_product, drop_pg_database, fresh_pg_database
from models.db import make_engine, session_factory, transaction
from models.invariants import check_ledger
from models.ledger import ReceiptLine, post_receipt
from models.stock import on_hand
from models.tables import Document, Posting, StockMove


@pytest.fixture
def pg():
    url, name = fresh_pg_database()
    engine = make_engine(url)
    try:
        yield url, engine
    finally:
        engine.dispose()
        drop_pg_database(name)


def test_a_posting_cut_off_by_the_server_is_all_or_nothing_and_posts_once_on_retry(pg):
    url, engine = pg
    factory = session_factory(engine)
    with transaction(factory) as session:
        products = [add_product(session, sku).id for sku in ("PG-1", "PG-2", "PG-3")]
        document_id = add_document(session, "GRN-PG-1").id
    lines = [ReceiptLine(n + 1, pid, Decimal(2 + n), Decimal("1.50")) for n, pid in enumerate(products)]
    killer = make_engine(url)
    cut = {"done": False}

    def after_execute(conn, cursor, statement, parameters, context, executemany):
        if not cut["done"] and statement.lstrip().upper().startswith("INSERT INTO STOCK_MOVES"):
            cut["done"] = True
            pid = conn.exec_driver_sql("select pg_backend_pid()").scalar()
            with killer.connect() as other:
                other.execute(text("select pg_terminate_backend(:pid)"), {"pid": pid})

    event.listen(engine, "after_cursor_execute", after_execute)
    try:
        with pytest.raises(DBAPIError):
            with transaction(factory) as session:
                post_receipt(session, document_id=document_id, lines=lines, posted_by="clerk",
                             idempotency_key="grn-pg-1")
    finally:
        event.remove(engine, "after_cursor_execute", after_execute)
        killer.dispose()
    assert cut["done"]
    engine.dispose()                                   # the pool's dead connections go; the retry reconnects
    with transaction(factory) as session:
        assert session.scalar(select(func.count()).select_from(Posting)) == 0
        assert session.scalar(select(func.count()).select_from(StockMove)) == 0
        assert all(on_hand(session, pid) == 0 for pid in products)
        assert session.get(Document, document_id).status == "ready"

    for _ in range(2):                                 # the retry posts once; once more changes nothing
        with transaction(factory) as session:
            result = post_receipt(session, document_id=document_id, lines=lines, posted_by="clerk",
                                  idempotency_key="grn-pg-1")
    assert not result.created
    with transaction(factory) as session:
        assert session.scalar(select(func.count()).select_from(Posting)) == 1
        assert session.scalar(select(func.count()).select_from(StockMove)) == 3
        assert [on_hand(session, pid) for pid in products] == [Decimal(2), Decimal(3), Decimal(4)]
        assert session.get(Document, document_id).status == "posted"
        assert check_ledger(session) == []
