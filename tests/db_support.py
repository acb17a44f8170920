"""Real databases for the persistence tests: SQLite files and PostgreSQL databases, fresh for each test.

PostgreSQL: the server of scripts/services.sh (127.0.0.1:5432, trust auth; INBOUND_TEST_PG_URL overrides the
admin URL).  Once per test session a uniquely named template database is migrated to head; each test gets
`CREATE DATABASE ... TEMPLATE` of it (fast) and drops it afterwards; the template is dropped at exit.
When the server cannot be reached the PostgreSQL cases fail under CI=true and are skipped elsewhere.
SQLite: the template is a migrated file, copied for each test.

Test modules import the fixtures: `from db_support import db_url, factory  # noqa: F401`.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from models.db import make_engine, session_factory, upgrade

ADMIN_URLS = [u for u in (os.environ.get("INBOUND_TEST_PG_URL"),
                          "postgresql+psycopg://postgres@127.0.0.1:5432/test",
                          "postgresql+psycopg://root@127.0.0.1:5432/test",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/postgres") if u]
RUN_ID = uuid.uuid4().hex[:10]
BACKENDS = ["sqlite", "postgresql"]


@functools.cache
def pg_admin_url() -> str | None:
    """An admin URL that answers, or None."""
    for url in ADMIN_URLS:
        engine = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as connection:
                connection.execute(text("select 1"))
            return url
        except Exception:  # any failure to connect means: try the next
            continue
        finally:
            engine.dispose()
    return None


def require_pg() -> str:
    url = pg_admin_url()
    if url is None:
        message = "PostgreSQL not reachable at 127.0.0.1:5432 (run scripts/services.sh)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return url


def _admin(sql: str) -> None:
    engine = create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(sql))
    finally:
        engine.dispose()


def _pg_url(name: str) -> str:
    return make_url(pg_admin_url()).set(database=name).render_as_string(hide_password=False)


@functools.cache
def pg_template() -> str:
    name = f"inbound_test_{RUN_ID}_tmpl"
    _admin(f'CREATE DATABASE "{name}"')
    atexit.register(_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    upgrade(_pg_url(name))
    return name


@functools.cache
def sqlite_template() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="inbound-test-"))
    atexit.register(shutil.rmtree, folder, True)
    path = folder / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


def fresh_pg_database() -> tuple[str, str]:
    """(url, name) of a new database at head."""
    require_pg()
    name = f"inbound_test_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    _admin(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template()}"')
    return _pg_url(name), name


def empty_pg_database() -> tuple[str, str]:
    require_pg()
    name = f"inbound_test_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    _admin(f'CREATE DATABASE "{name}"')
    return _pg_url(name), name


def drop_pg_database(name: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    """A fresh database at head, on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "inbound.db"
        shutil.copyfile(sqlite_template(), path)
        yield f"sqlite:///{path}"
        return
    url, name = fresh_pg_database()
    yield url
    drop_pg_database(name)


@pytest.fixture
def factory(db_url):
    engine = make_engine(db_url)
    yield session_factory(engine)
    engine.dispose()


# -- factories ------------------------------------------------------------------------------------------------

def add_product(session, sku: str, *, unit: str = "pcs", allow_negative: bool = False, batch_tracked: bool = False,
                tax_rate: str | None = "0.13"):
    from decimal import Decimal

    from models.tables import Product
    product = Product(sku=sku, name=f"product {sku}", unit=unit, allow_negative=allow_negative,
                      batch_tracked=batch_tracked, tax_rate=Decimal(tax_rate) if tax_rate else None)
    session.add(product)
    session.flush()
    return product


def add_document(session, name: str, *, status: str = "ready", who: str = "test"):
    """A document that has been read and waits for posting (status `ready` by default)."""
    import hashlib

    from models.documents import create_document, set_reading
    document, _ = create_document(session, sha256=hashlib.sha256(name.encode()).hexdigest(), filename=f"{name}.pdf")
    extraction = {"document_type": "delivery_note", "fields": {"invoice_number": {"value": name, "raw": name,
                                                                                 "confidence": 0.9}}, "lines": []}
    record_to = "ready" if status in ("ready", "confirmed") else status
    from models.documents import record_status
    record_status(session, document, "processing", who=who)
    set_reading(session, document.id, extraction=extraction, matches={}, who=who, status=record_to)
    if status == "confirmed":
        record_status(session, document, "confirmed", who=who)
    return document


def post_many(url: str, worker: int, product_ids: list[int], receipts: int) -> list[tuple[int, str, str]]:
    """One clerk: `receipts` receipts against the products (order rotated per worker), each its own transaction.
    Returns (product id, base quantity, value) per line posted.  Runs in threads and in spawned processes."""
    import hashlib
    from decimal import Decimal

    from models.db import transaction
    from models.documents import create_document, record_status
    from models.ledger import ReceiptLine, post_receipt
    engine = make_engine(url, pool_size=2)
    factory = session_factory(engine)
    posted = []
    try:
        for n in range(receipts):
            order = product_ids[worker % len(product_ids):] + product_ids[:worker % len(product_ids)]
            lines = [ReceiptLine(i + 1, pid, Decimal(1 + (worker + n + i) % 5), Decimal(f"{1 + (worker * 7 + n) % 9}.25"))
                     for i, pid in enumerate(order)]
            with transaction(factory) as session:
                name = f"w{worker}-r{n}"
                document, _ = create_document(session, sha256=hashlib.sha256(name.encode()).hexdigest(), filename=name)
                record_status(session, document, "processing", who="clerk")
                record_status(session, document, "ready", who="clerk")
                post_receipt(session, document_id=document.id, lines=lines, posted_by=f"clerk-{worker}")
            posted += [(line.product_id, str(line.quantity), str(line.quantity * line.unit_price)) for line in lines]
    finally:
        engine.dispose()
    return posted
