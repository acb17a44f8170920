"""Several clerks posting receipts for the same products at the same moment: on PostgreSQL from threads and
from separate processes, on SQLite from threads.  On-hand, value and the moving average come out as if the
receipts had been posted one by one, and the invariants hold."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from decimal import ROUND_HALF_EVEN, Decimal as D

from db_support import add_product, db_url, factory, drop_pg_database, fresh_pg_database, post_many  # noqa: F401
from models.db import make_engine, session_factory, transaction
from models.invariants import check_ledger
from models.stock import average_cost, on_hand, stock_value

WORKERS, RECEIPTS = 6, 8


def _products(factory) -> list[int]:
    with transaction(factory) as session:
        return [add_product(session, sku).id for sku in ("HOT-1", "HOT-2", "HOT-3")]


def _verify(factory, results) -> None:
    lines = [line for worker in results for line in worker]
    assert len(lines) == WORKERS * RECEIPTS * 3
    with transaction(factory) as session:
        assert check_ledger(session) == []
        for pid in {line[0] for line in lines}:
            quantity = sum(D(q) for p, q, _ in lines if p == pid)
            value = sum(D(v) for p, _, v in lines if p == pid)
            assert on_hand(session, pid) == quantity
            assert stock_value(session, pid) == value
            assert average_cost(session, pid) == (value / quantity).quantize(D("0.000001"), ROUND_HALF_EVEN)


def test_clerks_in_threads_post_the_same_products(db_url, factory):
    products = _products(factory)
    with ThreadPoolExecutor(WORKERS) as pool:
        results = list(pool.map(lambda w: post_many(db_url, w, products, RECEIPTS), range(WORKERS)))
    _verify(factory, results)


def test_clerks_in_processes_post_the_same_products_on_postgresql():
    url, name = fresh_pg_database()
    engine = make_engine(url)
    try:
        factory = session_factory(engine)
        products = _products(factory)
        with ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(post_many, [url] * WORKERS, range(WORKERS), [products] * WORKERS,
                                    [RECEIPTS] * WORKERS))
        _verify(factory, results)
    finally:
        engine.dispose()
        drop_pg_database(name)
