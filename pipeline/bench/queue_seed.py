"""A review queue of many documents, written straight into a database: what the queue's speed is measured on
(`inbound bench review`, tests/test_review_queue.py).

`seed_queue(factory, count)` adds `count` documents as the pipeline leaves them: a machine reading (with a
stored layout of the page's words), its matches and issues, the reviewed copy (`current`), spread over the
statuses a working desk has (most waiting for review, many posted, a few failed), over 40 suppliers (half with a
Chinese name) and 200 products (a quarter batch-tracked, some lines without a batch number), oldest first one
minute apart.  Documents only: no postings or stock moves are made.  Deterministic for a seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from models.tables import Document, Product, Supplier

# (status, share of the documents)
STATUS_MIX = (("needs_review", 0.35), ("ready", 0.15), ("posted", 0.35), ("confirmed", 0.03),
              ("rejected", 0.07), ("failed", 0.05))
SUPPLIERS = 40
PRODUCTS = 200
BATCH = 500                   # rows per INSERT


@dataclass(frozen=True, slots=True)
class Seeded:
    documents: int
    suppliers: int
    products: int
    by_status: dict[str, int]


def _field(value: str, rng: random.Random, page: int = 1) -> dict:
    x, y = rng.uniform(40, 400), rng.uniform(40, 780)
    return {"value": value, "raw": value, "confidence": round(rng.uniform(0.82, 0.99), 4), "page": page,
            "bbox": [round(x, 2), round(y, 2), round(x + 90, 2), round(y + 10, 2)]}


def _supplier_name(i: int) -> str:
    if i % 2:
        return f"{'成都上海深圳杭州广州'[i % 5 * 2:i % 5 * 2 + 2]}{'泰和鑫源华强润泽康达'[i % 5 * 2:i % 5 * 2 + 2]}食品有限公司{i}"
    return f"Northwind Supply {i} Ltd."


def _ensure_master(session: Session) -> tuple[list[tuple[int, str]], list[tuple[int, str, str, bool]]]:
    """The seed's suppliers and products (added once; a second seed reuses them)."""
    if session.scalar(select(Supplier.id).where(Supplier.name == _supplier_name(1))) is None:
        session.execute(insert(Supplier), [{"name": _supplier_name(i), "tax_id": f"9151010{i:011d}"}
                                           for i in range(1, SUPPLIERS + 1)])
        session.execute(insert(Product), [{"sku": f"SEED-{i:04d}", "name": f"种子商品 {i}", "unit": "瓶" if i % 3 else "kg",
                                           "batch_tracked": i % 4 == 0} for i in range(1, PRODUCTS + 1)])
        session.flush()
    suppliers = [(s.id, s.name) for s in session.scalars(select(Supplier).where(Supplier.name.in_(
        [_supplier_name(i) for i in range(1, SUPPLIERS + 1)])))]
    products = [(p.id, p.sku, p.unit, bool(p.batch_tracked))
                for p in session.scalars(select(Product).where(Product.sku.like("SEED-%")))]
    return suppliers, products


def _reading(n: int, rng: random.Random, supplier: tuple[int, str], products) -> tuple[dict, dict]:
    """(machine reading, matches) for document n, in the stored shapes."""
    number = f"SH{20260000 + n}"
    kind = "delivery_note" if n % 3 else "vat_invoice"
    lines, match_lines, issues = [], [], []
    total = Decimal(0)
    for line_no in range(1, rng.randint(2, 9)):
        product_id, sku, unit, tracked = rng.choice(products)
        quantity, price = Decimal(rng.randint(1, 400)), Decimal(rng.randint(100, 9000)) / 100
        amount = quantity * price
        total += amount
        line = {"line_no": line_no, "description": _field(f"种子商品 {sku[-4:]} 500ml", rng),
                "quantity": _field(str(quantity), rng), "unit": _field(unit, rng),
                "unit_price": _field(format(price, "f"), rng), "amount": _field(format(amount, "f"), rng)}
        batched = not tracked or rng.random() < 0.8
        if tracked and batched:
            line["batch_no"] = _field(f"B{n:05d}{line_no}", rng)
        lines.append(line)
        accepted = rng.random() < 0.9
        match_lines.append({"line_no": line_no, "product_match": {
            "id": str(product_id), "name": f"种子商品 {sku[-4:]}", "score": 0.97 if accepted else 0.6,
            "method": "supplier_sku" if accepted else "fuzzy", "auto_accepted": accepted,
            "candidates": [{"id": str(product_id), "name": sku, "score": 0.97}], "uom_factor": "1"},
            "base_quantity": str(quantity), "unit_cost": format(price, "f")})
        if not accepted:
            issues.append({"code": "product_needs_review", "severity": "info", "field": "description",
                           "line_no": line_no, "message": f"Line {line_no}: please check the product."})
        if tracked and not batched:
            issues.append({"code": "batch_required", "severity": "error", "field": "batch_no", "line_no": line_no,
                           "message": f"Line {line_no}: {sku} needs a batch number."})
    fields = {"supplier_name": _field(supplier[1], rng), "document_number": _field(number, rng),
              "document_date": _field(f"2026-{1 + n % 12:02d}-{1 + n % 28:02d}", rng),
              "total_amount": _field(format(total, "f"), rng), "currency": _field("CNY", rng),
              "po_number": _field(f"PO{240000 + n % 700}", rng)}
    page_text = [f"{supplier[1]} 送货单 {number}", *(f"{i} 种子商品 行 {i}" for i in range(30))]
    words = [[{"text": f"词{i}{j}", "bbox": [10.0 * j, 12.0 * i, 10.0 * j + 9, 12.0 * i + 10]} for j in range(8)]
             for i in range(12)]
    extraction = {"source": "upload", "sha256": f"{n:064x}", "document_type": kind, "language": "zh", "pages": 1,
                  "reader": "text", "fields": fields, "lines": lines, "issues": [], "page_text": page_text,
                  "timings_ms": {"read": 40.0}, "layout": {"source": "text", "pages": [
                      {"number": 1, "width": 595.0, "height": 842.0, "lines": words}]}}
    matches = {"supplier_match": {"id": str(supplier[0]), "name": supplier[1], "score": 1.0, "method": "tax_id",
                                  "auto_accepted": True, "candidates": []},
               "lines": match_lines, "issues": issues, "needs_review": bool(issues)}
    return extraction, matches


def seed_queue(factory: sessionmaker[Session], count: int = 10_000, *, seed: int = 1,
               start: datetime | None = None) -> Seeded:
    """Add `count` documents (see the module docstring); returns what was added."""
    rng = random.Random(seed)
    start = start or datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc)
    statuses = [s for s, _ in STATUS_MIX]
    weights = [w for _, w in STATUS_MIX]
    by_status: dict[str, int] = {}
    with factory() as session:
        suppliers, products = _ensure_master(session)
        first = (session.scalar(select(Document.id).order_by(Document.id.desc()).limit(1)) or 0) + 1
        rows = []
        for n in range(first, first + count):
            status = rng.choices(statuses, weights)[0]
            by_status[status] = by_status.get(status, 0) + 1
            supplier = rng.choice(suppliers)
            at = start + timedelta(minutes=n)
            row = {"id": n, "sha256": f"{seed:08x}{n:056x}", "filename": f"送货单-{n:05d}.pdf", "mime": "application/pdf",
                   "size_bytes": 40_000, "source": rng.choice(("upload", "upload", "email", "folder", "api")),
                   "blob_ref": f"{seed:08x}{n:056x}", "status": status, "created_at": at, "updated_at": at,
                   "supplier_id": None, "extraction": None, "matches": None, "current": None, "document_type": None,
                   "document_number": None, "number_key": None, "total_amount": None, "failure_reason": None}
            if status == "failed":
                row["failure_reason"] = "corrupt_file"
            else:
                extraction, matches = _reading(n, rng, supplier, products)
                if status == "ready" and matches["needs_review"]:     # as the pipeline's draft decides
                    status = row["status"] = "needs_review"
                    by_status["ready"] -= 1
                    by_status["needs_review"] = by_status.get("needs_review", 0) + 1
                current = {key: value for key, value in extraction.items() if key != "layout"}
                number = extraction["fields"]["document_number"]["value"]
                row.update(supplier_id=supplier[0], extraction=extraction, matches=matches,
                           current={"extraction": current, "matches": matches},
                           document_type=extraction["document_type"], document_number=number,
                           number_key=number.upper(), total_amount=extraction["fields"]["total_amount"]["value"])
            rows.append(row)
            if len(rows) >= BATCH:
                session.execute(insert(Document), rows)
                rows = []
        if rows:
            session.execute(insert(Document), rows)
        session.commit()
    return Seeded(count, len(suppliers), len(products), by_status)
