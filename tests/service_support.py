"""Helpers for the service tests: an app on a fresh database (SQLite or PostgreSQL, from db_support), keys,
waiting for the in-process pipeline, demo files."""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path

from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "fixtures" / "demo"
MASTER = ROOT / "fixtures" / "master"
ADMIN_KEY = "test-admin-key-0123456789"


def auth(key: str = ADMIN_KEY) -> dict:
    return {"Authorization": f"Bearer {key}"}


def settings_for(db_url: str, home: Path, **overrides):
    from pipeline.config import Settings
    # standing rates of 1: the service tests post GBP and EUR invoices and check values in the document's units;
    # tests/test_money_currency.py posts at real rates and refuses a confirm without one
    values = dict(home=home, database_url=db_url, demo=False, bootstrap_api_key=ADMIN_KEY, webhook_backoff_s=0.2,
                  exchange_rates="GBP=1; EUR=1")
    values.update(overrides)
    return Settings(**values)


@contextmanager
def running_app(db_url: str, home: Path, **overrides):
    from api.app import create_app
    app = create_app(settings_for(db_url, home, **overrides))
    with TestClient(app) as client:
        yield client


def wait_read(client: TestClient, timeout_s: float = 120) -> None:
    """Until the in-process pipeline has nothing left to do."""
    assert client.app.state.services.dispatcher.join(timeout_s), "the pipeline did not finish in time"


def import_master(client: TestClient, folder: str = "electronics",
                  kinds: tuple[str, ...] = ("suppliers", "products", "supplier_products", "purchase_orders")) -> None:
    for kind in kinds:
        path = MASTER / folder / f"{kind}.csv"
        answer = client.post("/api/v1/master/import", headers=auth(), files={"file": (path.name, path.read_bytes())},
                             data={"kind": kind})
        assert answer.status_code == 200, answer.text


def upload(client: TestClient, name: str, data: bytes | None = None, key: str = ADMIN_KEY):
    data = (DEMO / name).read_bytes() if data is None else data
    return client.post("/api/v1/documents", headers=auth(key), files={"file": (name, data, "application/pdf")})


def wait_for(predicate, timeout_s: float = 30, step_s: float = 0.1):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step_s)
    raise AssertionError("condition not met in time")


def labelled_invoice(number: str, label: str, value: str) -> bytes:
    """A one-page Brightline invoice (in the electronics master) printing `value` behind an unusual `label`."""
    from fpdf import FPDF
    pdf = FPDF(unit="pt", format="A4")
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    rows = ["Brightline Components Ltd.", "14 Canal Road, Manchester M1 2AB", "VAT GB123456782", "",
            f"Invoice {number}", "Invoice date: 2026-03-02", f"{label} {value}", "",
            "Description                       Qty      Unit price      Amount",
            "Resistor 10k 0.25W                  2          21.50        43.00",
            "", "Total GBP 43.00"]
    for i, row in enumerate(rows):
        pdf.text(50, 60 + 16 * i, row)
    return bytes(pdf.output())
