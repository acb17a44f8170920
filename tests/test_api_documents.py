"""The REST API end to end on the in-process pipeline, on SQLite and PostgreSQL: upload, duplicate, the document
shape, the original byte for byte, corrections in history and learning, confirm to the ledger (idempotent),
reject, reprocess, and problems as RFC 9457."""

from __future__ import annotations

import io
from decimal import Decimal

import pikepdf

from db_support import db_url  # noqa: F401
from service_support import DEMO, auth, import_master, running_app, upload, wait_read

INVOICE = "INV-88213.pdf"


def _same_text_other_bytes(name: str) -> bytes:
    """The same document saved again (new bytes, same printed content): a second copy of one invoice."""
    with pikepdf.open(io.BytesIO((DEMO / name).read_bytes())) as pdf:
        pdf.docinfo["/Producer"] = "rescanned"
        out = io.BytesIO()
        pdf.save(out)
    return out.getvalue()


def test_upload_read_correct_learn_confirm(db_url, tmp_path):
    with running_app(db_url, tmp_path) as client:
        import_master(client, kinds=("suppliers", "products"))     # no supplier-product links: lines match fuzzy
        first = upload(client, INVOICE)
        assert first.status_code == 202, first.text
        body = first.json()
        assert set(body) == {"id", "status", "sha256"} and body["status"] == "received"
        again = upload(client, INVOICE)
        assert again.status_code == 200 and again.json() == {**body, "duplicate": True, "status": again.json()["status"]}
        wait_read(client)

        doc = client.get(f"/api/v1/documents/{body['id']}", headers=auth()).json()
        assert {"id", "status", "sha256", "source", "extraction", "issues", "history"} <= set(doc)
        assert doc["status"] in ("needs_review", "ready") and doc["source"] == "api"
        extraction = doc["extraction"]
        assert extraction["supplier_match"]["method"] == "tax_id" and extraction["supplier_match"]["id"]
        assert all("product_match" in line and "candidates" in line["product_match"] for line in extraction["lines"])
        assert set(doc["runs"][0]["timings_ms"]) == {"read", "classify", "extract", "validate", "match", "draft"}
        original = client.get(f"/api/v1/documents/{body['id']}/file", headers=auth())
        assert original.content == (DEMO / INVOICE).read_bytes()

        other = client.get("/api/v1/products", headers=auth(), params={"sku": "EL-LED-0805-R"}).json()
        assert other["total"] == 1
        led = other["items"][0]["id"]
        line = extraction["lines"][0]
        patch = {"fields": {"document_number": "INV-88213"},
                 "lines": [{"line_no": line["line_no"], "quantity": "3", "product_id": led, "uom_factor": "10",
                            "batch_no": "B-7"}]}
        fixed = client.patch(f"/api/v1/documents/{body['id']}", headers=auth(), json=patch)
        assert fixed.status_code == 200, fixed.text
        fixed = fixed.json()
        changes = {(c["path"], str(c["before"]), str(c["after"])) for c in fixed["history"]}
        assert (f"lines.{line['line_no']}.quantity", line["quantity"]["value"], "3") in changes
        first_line = fixed["extraction"]["lines"][0]
        assert first_line["product_match"]["id"] == str(led) and first_line["product_match"]["method"] == "manual"
        assert first_line["quantity"]["raw"] == line["quantity"]["raw"]          # the printed text is kept

        copy = upload(client, "INV-88213-copy.pdf", _same_text_other_bytes(INVOICE))
        assert copy.status_code == 202
        wait_read(client)
        second = client.get(f"/api/v1/documents/{copy.json()['id']}", headers=auth()).json()
        assert "duplicate_document" in {i["code"] for i in second["issues"]}
        learned = second["extraction"]["lines"][0]["product_match"]
        assert (learned["id"], learned["method"]) == (str(led), "alias")
        assert learned.get("uom_factor") == "10"
        assert second["extraction"]["lines"][0]["product_match"]["auto_accepted"] is not None

        before = client.get("/api/v1/stock", headers=auth(), params={"product_id": led}).json()
        assert before["on_hand"] == "0"
        for line in fixed["extraction"]["lines"][1:]:
            assert line["product_match"]["id"], line
        posted = client.post(f"/api/v1/documents/{body['id']}/confirm", headers={**auth(), "Idempotency-Key": "k-1"})
        assert posted.status_code == 200, posted.text
        assert posted.json()["created"] is True and posted.json()["status"] == "posted"
        repeat = client.post(f"/api/v1/documents/{body['id']}/confirm", headers={**auth(), "Idempotency-Key": "k-1"})
        assert repeat.json()["created"] is False and repeat.json()["posting_id"] == posted.json()["posting_id"]
        after = client.get("/api/v1/stock", headers=auth(), params={"product_id": led}).json()
        assert after["on_hand"] == "30" and after["sku"] == "EL-LED-0805-R" and len(after["moves"]) == 1

        rejected = client.post(f"/api/v1/documents/{copy.json()['id']}/reject", headers=auth(),
                               json={"reason": "duplicate"})
        assert rejected.json()["status"] == "rejected"
        listed = client.get("/api/v1/documents", headers=auth(), params={"status": "posted"}).json()
        assert listed["total"] == 1 and listed["items"][0]["id"] == body["id"]


def test_reprocess_keeps_history_and_earlier_reading(db_url, tmp_path):
    with running_app(db_url, tmp_path) as client:
        doc_id = upload(client, INVOICE).json()["id"]
        wait_read(client)
        assert client.post(f"/api/v1/documents/{doc_id}/reprocess", headers=auth()).status_code == 202
        wait_read(client)
        doc = client.get(f"/api/v1/documents/{doc_id}", headers=auth()).json()
        assert [r["reason"] for r in doc["runs"]] == ["intake", "reprocess"]
        assert all(r["status"] == "done" for r in doc["runs"])
        assert [c["after"] for c in doc["history"] if c["path"] == "extraction"] == ["machine reading"] * 2
        assert doc["status"] in ("needs_review", "ready")


def test_several_files_a_size_limit_and_bad_input(db_url, tmp_path):
    with running_app(db_url, tmp_path, max_upload_mb=0.01) as client:
        small = b"%PDF-1.4 not really a pdf" * 10
        many = client.post("/api/v1/documents", headers=auth(),
                           files=[("file", ("a.pdf", small)), ("file", ("b.txt", b"Invoice INV-1\nTotal 12.00"))])
        assert many.status_code == 202 and many.json()["total"] == 2
        big = client.post("/api/v1/documents", headers=auth(), files={"file": ("big.pdf", b"x" * 20000)})
        assert big.status_code == 413
        assert big.headers["content-type"] == "application/problem+json" and big.json()["code"] == "too_large"
        wait_read(client)
        failed = client.get("/api/v1/documents", headers=auth(), params={"status": "failed"}).json()
        assert failed["total"] == 1 and failed["items"][0]["failure_reason"]


def test_auth_roles_and_revocation(db_url, tmp_path):
    with running_app(db_url, tmp_path) as client:
        anonymous = client.get("/api/v1/documents")
        assert anonymous.status_code == 401 and anonymous.json()["status"] == 401
        assert client.get("/api/v1/documents", headers=auth("wrong")).status_code == 401
        clerk = client.post("/api/v1/api-keys", headers=auth(), json={"name": "desk", "role": "clerk"}).json()
        assert clerk["key"].startswith("inb_") and clerk["role"] == "clerk"
        assert client.get("/api/v1/documents", headers=auth(clerk["key"])).status_code == 200
        doc_id = upload(client, INVOICE, key=clerk["key"]).json()["id"]
        wait_read(client)
        refused = client.post(f"/api/v1/documents/{doc_id}/confirm", headers=auth(clerk["key"]))
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
        assert client.post("/api/v1/api-keys", headers=auth(clerk["key"]), json={"name": "x", "role": "admin"}
                           ).status_code == 403
        keys = client.get("/api/v1/api-keys", headers=auth()).json()
        assert all("key" not in k for k in keys["items"])                     # secrets are never shown again
        client.delete(f"/api/v1/api-keys/{clerk['id']}", headers=auth())
        assert client.get("/api/v1/documents", headers=auth(clerk["key"])).status_code == 401

        client.post("/api/v1/users", headers=auth(), json={"username": "ann", "password": "correct horse", "role": "approver"})
        assert client.post("/api/v1/auth/login", json={"username": "ann", "password": "wrong pass"}).status_code == 401
        token = client.post("/api/v1/auth/login", json={"username": "ann", "password": "correct horse"}).json()["token"]
        assert client.get("/api/v1/me", headers=auth(token)).json() == {"name": "ann", "role": "approver",
                                                                        "key_id": client.get("/api/v1/me", headers=auth(token)).json()["key_id"],
                                                                        "user_id": 1}
        unknown = client.post("/api/v1/documents/999999/confirm", headers=auth(token))
        assert unknown.status_code == 404 and unknown.headers["content-type"] == "application/problem+json"
        assert client.get("/api/v1/documents/999999", headers=auth()).status_code == 404


def test_master_data_and_operations(db_url, tmp_path):
    with running_app(db_url, tmp_path) as client:
        supplier = client.post("/api/v1/suppliers", headers=auth(), json={"name": "ACME Parts Ltd", "tax_id": "GB123456782"})
        assert supplier.status_code == 201, supplier.text
        product = client.post("/api/v1/products", headers=auth(),
                              json={"sku": "W-1", "name": "Widget", "unit": "pcs", "aliases": ["widget one"]})
        assert product.status_code == 201 and product.json()["aliases"] == ["widget one"]
        bad = client.post("/api/v1/products", headers=auth(), json={"sku": "W-2", "name": "", "unit": "pcs"})
        assert bad.status_code == 422 and bad.json()["report"]["errors"]
        po = client.post("/api/v1/purchase-orders", headers=auth(), json={
            "po_number": "PO-1", "supplier": "GB123456782", "date": "2026-01-05",
            "lines": [{"sku": "W-1", "quantity": "10", "unit": "pcs", "price": "1.25"}]})
        assert po.status_code == 201, po.text
        assert po.json()["lines"][0]["quantity"] == "10"
        assert client.get("/api/v1/products", headers=auth(), params={"sku": "W-1"}).json()["total"] == 1
        assert client.get("/api/v1/suppliers", headers=auth()).json()["total"] == 1
        stock = client.get("/api/v1/stock", headers=auth(), params={"sku": "W-1"}).json()
        assert stock == {**stock, "on_hand": "0", "value": "0", "locations": [], "moves": []}
        assert client.get("/healthz").json()["status"] == "ok"
        metrics = client.get("/metrics")
        assert 'inbound_documents{status="posted"} 0.0' in metrics.text and "inbound_queue_depth" in metrics.text
        paths = client.get("/openapi.json").json()["paths"]
        for path in ("/api/v1/documents", "/api/v1/documents/{document_id}", "/api/v1/documents/{document_id}/file",
                     "/api/v1/documents/{document_id}/confirm", "/api/v1/documents/{document_id}/reject",
                     "/api/v1/products", "/api/v1/suppliers", "/api/v1/purchase-orders", "/api/v1/master/import",
                     "/api/v1/stock", "/api/v1/webhooks", "/healthz", "/metrics"):
            assert path in paths, path


def test_contract_edges(db_url, tmp_path):
    """Unknown paths answer problem JSON; a flat one-line purchase order and supplier/product ids are taken."""
    with running_app(db_url, tmp_path) as client:
        missing = client.get("/api/v1/nothing-here", headers=auth())
        assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
        supplier = client.post("/api/v1/suppliers", headers=auth(), json={"name": "ACME Parts Ltd"}).json()
        product = client.post("/api/v1/products", headers=auth(), json={"sku": "W-1", "name": "Widget", "unit": "pcs"}).json()
        flat = client.post("/api/v1/purchase-orders", headers=auth(), json={
            "po_number": "PO-9", "supplier": supplier["id"], "product_id": product["id"], "quantity": 5, "price": "2.5"})
        assert flat.status_code == 201, flat.text
        assert flat.json()["lines"] == [{"line_no": 1, "product_id": product["id"], "quantity": "5", "unit": "pcs",
                                         "price": "2.5"}]


def test_a_chosen_product_brings_its_own_factor_and_an_unknown_one_stops_posting(db_url, tmp_path):
    """Never the replaced product's factor, never a silent 1: the chosen product's factor for the printed unit as
    the matcher finds it (its conversions, a supplier link, a learned factor), else none, and then no posting."""
    with running_app(db_url, tmp_path) as client:
        import_master(client, kinds=("suppliers", "products", "supplier_products"))
        doc_id = upload(client, INVOICE).json()["id"]
        wait_read(client)
        sku = {p["sku"]: p["id"] for p in client.get("/api/v1/products", headers=auth()).json()["items"]}
        lines = client.get(f"/api/v1/documents/{doc_id}", headers=auth()).json()["extraction"]["lines"]
        assert [Decimal(line["product_match"]["uom_factor"]) for line in lines] == [5000, 100]   # reel, pack (links)

        view = client.patch(f"/api/v1/documents/{doc_id}", headers=auth(), json={"lines": [
            {"line_no": 1, "product_id": sku["EL-CAP-0402-100N"]},          # 2 reel: the 0402's reel is 10000
            {"line_no": 2, "product_id": sku["EL-CAP-0402-100N"]}]}).json()  # 10 pack: the 0402's pack is unknown
        first, second = (line["product_match"] for line in view["extraction"]["lines"])
        assert Decimal(first["uom_factor"]) == 10000 and "uom_factor" not in second
        refused = client.post(f"/api/v1/documents/{doc_id}/confirm", headers=auth())
        assert refused.status_code == 422
        assert "how many pcs are in one 'pack' is not known" in refused.json()["detail"]
        assert client.get(f"/api/v1/documents/{doc_id}", headers=auth()).json()["status"] != "posted"

        client.patch(f"/api/v1/documents/{doc_id}", headers=auth(), json={"lines": [{"line_no": 2, "uom_factor": "100"}]})
        assert client.post(f"/api/v1/documents/{doc_id}/confirm", headers=auth()).status_code == 200
        stock = client.get("/api/v1/stock", headers=auth(), params={"product_id": sku["EL-CAP-0402-100N"]}).json()
        assert Decimal(stock["on_hand"]) == 21000                              # 2 x 10000 + 10 x 100
