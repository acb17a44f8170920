"""`inbound bench ledger`: posting rate and stock queries on PostgreSQL.

(a) posting: 10,000 receipts of 5 lines each (--quick: 500), each the whole path a confirmed document takes
    (create the document, workflow steps, post_receipt with its locks, moves, balances, costs, history), one
    transaction per receipt, one clerk; then the same with 4 clerks in threads on the same products.
(b) queries with 1,000,000 moves present (--quick: 50,000; bulk-inserted server-side with generate_series,
    balances rebuilt from them by one INSERT ... SELECT): on-hand and value of one product and of a whole
    warehouse (200 locations), from the balance cache the service reads and straight from the moves
    (the index on (product_id, location_id)); medians in ms over rounds, warm.
(c) the check that the cache equals the moves, in SQL, after all of it.

The database is a fresh one made on the server of INBOUND_BENCH_DATABASE_URL (default: INBOUND_DATABASE_URL if
it is PostgreSQL, else postgresql+psycopg://postgres@127.0.0.1:5432/test), dropped at the end.
Progress goes to stderr.
"""

from __future__ import annotations

import hashlib
import os
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable

from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from extractors.errors import InboundError
from pipeline.bench.reading import median_ms
from pipeline.config import get_settings

console = Console(stderr=True)
PRODUCTS, LOCATIONS, LINES = 1000, 200, 5


class BenchUnavailable(InboundError):
    code = "bench_unavailable"


def bench_database_url() -> str:
    url = os.environ.get("INBOUND_BENCH_DATABASE_URL") or get_settings().database_url
    if not url.startswith("postgresql"):
        url = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    return url


def run_admin_sql(url: str, sql: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(sql))
    finally:
        engine.dispose()


@dataclass(frozen=True, slots=True)
class Sizes:
    receipts: int      # posted by one clerk; a fifth of it again by 4 clerks
    moves: int         # background moves bulk-inserted before the queries
    rounds: int        # timed rounds per query (median)


FULL, QUICK = Sizes(10_000, 1_000_000, 100), Sizes(500, 50_000, 20)


def run_bench(*, quick: bool) -> dict:
    """Run the ledger bench on a fresh PostgreSQL database; returns the figures (also printed)."""
    figures = run(QUICK if quick else FULL)
    figures["quick"] = quick
    _print(figures)
    return figures


def run(sizes: Sizes) -> dict:
    """The bench at these sizes; the database is made and dropped here."""
    from models.db import make_engine, session_factory, upgrade
    server = bench_database_url()
    name = f"inbound_bench_{uuid.uuid4().hex[:8]}"
    try:
        run_admin_sql(server, f'CREATE DATABASE "{name}"')
    except Exception as exc:  # no server, no rights: say so in one line
        raise BenchUnavailable(f"The ledger bench needs PostgreSQL ({make_url(server).render_as_string()}): "
                               f"{str(exc).splitlines()[0]}") from exc
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    receipts, moves, rounds = sizes.receipts, sizes.moves, sizes.rounds
    engine = make_engine(url, pool_size=8)
    try:
        upgrade(url)
        factory = session_factory(engine)
        with Progress(console=console, transient=False) as progress:
            products, warehouse = _seed(factory)
            figures = {"database": "postgresql " + _server_version(engine), "quick": False}
            figures["posting"] = _bench_posting(factory, products, receipts, progress)
            figures["posting_4_clerks"] = _bench_parallel(factory, products, receipts // 5, progress)
            figures["background_moves"] = _bulk_moves(engine, products, warehouse, moves, progress)
            figures["queries_ms"] = _bench_queries(factory, products, warehouse, rounds, progress)
            figures["cache_equals_moves"] = _cache_equals_moves(engine)
        return figures
    finally:
        engine.dispose()
        run_admin_sql(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _server_version(engine) -> str:
    with engine.connect() as connection:
        return connection.execute(text("SHOW server_version")).scalar().split()[0]


def _seed(factory) -> tuple[list[int], int]:
    from models.db import transaction
    from models.tables import Location, Product, Warehouse
    with transaction(factory) as session:
        session.add_all(Product(sku=f"B-{i:05d}", name=f"bench product {i}", unit="pcs") for i in range(PRODUCTS))
        warehouse = Warehouse(code="BENCH", name="bench warehouse")
        session.add(warehouse)
        session.flush()
        session.add_all(Location(warehouse_id=warehouse.id, code=f"L{i:03d}", name=f"bin {i}") for i in range(LOCATIONS))
        session.flush()
        products = list(session.scalars(select(Product.id).order_by(Product.id)))
        return products, warehouse.id


def _post_one(factory, tag: str, n: int, products: list[int]) -> float:
    """One confirmed document posted the way the service posts it; returns its milliseconds."""
    from models.db import transaction
    from models.documents import create_document, record_status
    from models.ledger import ReceiptLine, post_receipt
    t0 = time.perf_counter()
    picks = [products[(n * 7 + i * 131) % len(products)] for i in range(LINES)]
    lines = [ReceiptLine(i + 1, pid, Decimal(1 + (n + i) % 20), Decimal(f"{1 + (n * 3 + i) % 50}.35"))
             for i, pid in enumerate(dict.fromkeys(picks))]
    with transaction(factory) as session:
        name = f"{tag}-{n}"
        document, _ = create_document(session, sha256=hashlib.sha256(name.encode()).hexdigest(), filename=name,
                                      source="api")
        record_status(session, document, "processing", who="bench")
        record_status(session, document, "ready", who="bench")
        post_receipt(session, document_id=document.id, lines=lines, posted_by="bench", idempotency_key=name)
    return (time.perf_counter() - t0) * 1000


def _bench_posting(factory, products: list[int], receipts: int, progress: Progress) -> dict:
    task = progress.add_task(f"posting {receipts:,} receipts x {LINES} lines", total=receipts)
    latencies = []
    t0 = time.perf_counter()
    for n in range(receipts):
        latencies.append(_post_one(factory, "solo", n, products))
        progress.advance(task)
    seconds = time.perf_counter() - t0
    return {"receipts": receipts, "lines_per_receipt": LINES, "seconds": round(seconds, 2),
            "receipts_per_s": round(receipts / seconds, 1), "median_ms": round(statistics.median(latencies), 2)}


def _bench_parallel(factory, products: list[int], receipts: int, progress: Progress) -> dict:
    task = progress.add_task(f"posting {receipts:,} receipts, 4 clerks", total=receipts)

    def clerk(worker: int) -> None:
        for n in range(worker, receipts, 4):
            _post_one(factory, "team", n, products)
            progress.advance(task)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(clerk, range(4)))
    seconds = time.perf_counter() - t0
    return {"receipts": receipts, "clerks": 4, "seconds": round(seconds, 2),
            "receipts_per_s": round(receipts / seconds, 1)}


def _bulk_moves(engine, products: list[int], warehouse: int, count: int, progress: Progress) -> dict:
    """`count` moves spread over every product and the bench warehouse's locations, in one statement."""
    task = progress.add_task(f"bulk-inserting {count:,} moves", total=3)
    t0 = time.perf_counter()
    with engine.begin() as connection:
        first_location = connection.execute(text("SELECT min(id) FROM locations WHERE warehouse_id = :w"),
                                            {"w": warehouse}).scalar()
        document = connection.execute(text(
            "INSERT INTO documents (sha256, filename, source, status, created_at, updated_at) VALUES "
            "(md5('bulk') || md5('bulk'), 'bulk', 'api', 'posted', now(), now()) RETURNING id")).scalar()
        posting = connection.execute(text(
            "INSERT INTO postings (document_id, kind, posted_by, posted_at) VALUES (:d, 'receipt', 'bench', now()) "
            "RETURNING id"), {"d": document}).scalar()
        connection.execute(text(
            "INSERT INTO stock_moves (posting_id, document_id, line_no, product_id, location_id, batch, quantity, "
            "unit_cost, value, posted_by, posted_at) "
            "SELECT :p, :d, g, :p0 + (g * 7919) % :np, :l0 + (g * 104729) % :nl, '', 1 + g % 10, "
            "1 + (g % 97) / 100.0, (1 + g % 10) * (1 + (g % 97) / 100.0), 'bench', now() "
            "FROM generate_series(1::bigint, :n) AS g"),
            {"p": posting, "d": document, "p0": products[0], "np": len(products), "l0": first_location,
             "nl": LOCATIONS, "n": count})
        progress.advance(task)
        _rebuild_caches(connection, posting)
        progress.advance(task)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE"))
        total = connection.execute(text("SELECT count(*) FROM stock_moves")).scalar()
    progress.advance(task)
    return {"moves_inserted": count, "moves_total": total, "seconds": round(time.perf_counter() - t0, 2)}


def _rebuild_caches(connection, posting: int) -> None:
    """Add the bulk posting's moves to the balance and cost caches (what posting does row by row)."""
    connection.execute(text(
        "INSERT INTO stock_balances (product_id, location_id, batch, quantity, value) "
        "SELECT product_id, location_id, batch, sum(quantity), sum(value) FROM stock_moves WHERE posting_id = :p "
        "GROUP BY product_id, location_id, batch "
        "ON CONFLICT (product_id, location_id, batch) DO UPDATE SET quantity = stock_balances.quantity + "
        "excluded.quantity, value = stock_balances.value + excluded.value"), {"p": posting})
    connection.execute(text(
        "INSERT INTO product_costs (product_id, quantity, value, average_cost, updated_at) "
        "SELECT product_id, sum(quantity), sum(value), 0, now() FROM stock_moves WHERE posting_id = :p "
        "GROUP BY product_id ON CONFLICT (product_id) DO UPDATE SET quantity = product_costs.quantity + "
        "excluded.quantity, value = product_costs.value + excluded.value"), {"p": posting})
    connection.execute(text("UPDATE product_costs SET average_cost = round(value / quantity, 6) WHERE quantity > 0"))


def _median_ms(fn: Callable[[], object], rounds: int) -> float:
    return round(median_ms(fn, rounds), 3)


def _bench_queries(factory, products: list[int], warehouse: int, rounds: int, progress: Progress) -> dict:
    from models.stock import moves_totals, on_hand, stock_report, stock_value, warehouse_stock
    from models.tables import Location, StockMove
    product = products[len(products) // 2]
    task = progress.add_task("stock queries", total=5)
    out = {}
    with factory() as session:
        def step(name: str, fn: Callable[[], object]) -> None:
            out[name] = _median_ms(fn, rounds)
            progress.advance(task)

        step("one_product_on_hand_and_value", lambda: (on_hand(session, product), stock_value(session, product)))
        step("one_product_stock_report", lambda: stock_report(session, product))
        step("warehouse_on_hand_and_value", lambda: warehouse_stock(session, warehouse))
        step("one_product_from_moves", lambda: moves_totals(session, product))
        by_moves = (select(StockMove.product_id, func.sum(StockMove.quantity), func.sum(StockMove.value))
                    .join(Location, Location.id == StockMove.location_id).where(Location.warehouse_id == warehouse)
                    .group_by(StockMove.product_id))
        step("warehouse_from_moves", lambda: session.execute(by_moves).all())
    out["rounds"] = rounds
    return out


def _cache_equals_moves(engine) -> bool:
    with engine.connect() as connection:
        return connection.execute(text(
            "SELECT count(*) FROM (SELECT product_id, location_id, batch, sum(quantity) q, sum(value) v "
            "FROM stock_moves GROUP BY 1, 2, 3) m FULL JOIN stock_balances b USING (product_id, location_id, batch) "
            "WHERE m.q IS DISTINCT FROM b.quantity OR m.v IS DISTINCT FROM b.value")).scalar() == 0


def _print(figures: dict) -> None:
    table = Table(title=f"ledger bench ({figures['database']}{', quick' if figures['quick'] else ''})")
    table.add_column("measure")
    table.add_column("figure", justify="right")
    post, team, bulk = figures["posting"], figures["posting_4_clerks"], figures["background_moves"]
    table.add_row(f"post {post['receipts']:,} receipts x {post['lines_per_receipt']} lines, 1 clerk",
                  f"{post['receipts_per_s']} receipts/s (median {post['median_ms']} ms)")
    table.add_row(f"post {team['receipts']:,} receipts, 4 clerks", f"{team['receipts_per_s']} receipts/s")
    table.add_row(f"bulk-insert {bulk['moves_inserted']:,} moves (+ caches)", f"{bulk['seconds']} s")
    for name, ms in figures["queries_ms"].items():
        if name != "rounds":
            table.add_row(f"{name.replace('_', ' ')} ({bulk['moves_total']:,} moves)", f"{ms} ms")
    table.add_row("balance cache == sum(moves)", str(figures["cache_equals_moves"]))
    Console().print(table)
