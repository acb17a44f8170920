"""Lines on the review desk through the REST API (issue 17): add a line to a receipt read without lines (the
matcher suggests its product, the PO line is found), delete and split lines, create a product from an unmatched
line (with its supplier-product link), create the proposed new supplier; each change is a history row and the
lines posted are the lines shown."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from lines_support import receipt_without_lines, unknown_supplier_invoice
from service_support import auth, import_master, running_app, upload, wait_read


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    home = tmp_path_factory.mktemp("review-lines")
    with running_app(f"sqlite:///{home / 'inbound.db'}", home) as running:
        import_master(running)
        yield running


def _doc(client, doc_id: int) -> dict:
    answer = client.get(f"/api/v1/documents/{doc_id}", headers=auth())
    assert answer.status_code == 200, answer.text
    return answer.json()


def _patch(client, doc_id: int, body: dict, status: int = 200) -> dict:
    answer = client.patch(f"/api/v1/documents/{doc_id}", headers=auth(), json=body)
    assert answer.status_code == status, answer.text
    return answer.json()


def _value(line: dict, key: str):
    cell = line.get(key)
    return cell.get("value") if isinstance(cell, dict) else cell


def _receipt(client, number: str) -> int:
    doc_id = upload(client, f"{number}.pdf", receipt_without_lines(number)).json()["id"]
    wait_read(client)
    assert _doc(client, doc_id)["extraction"]["lines"] == []
    return doc_id


def _product(client, sku: str) -> int:
    return client.get("/api/v1/products", params={"sku": sku}, headers=auth()).json()["items"][0]["id"]


def test_a_receipt_without_lines_gets_a_line_added_matched_and_posted(client):
    doc_id = _receipt(client, "GRN-7001")
    refused = client.post(f"/api/v1/documents/{doc_id}/confirm", headers=auth())
    assert refused.status_code == 422 and "no lines" in refused.text
    doc = _patch(client, doc_id, {"lines": [{"add": True, "description": "Resistor 10k 0.25W", "quantity": "2",
                                             "unit": "reel", "unit_price": "21.50"}]})
    [line] = doc["extraction"]["lines"]
    resistor = _product(client, "EL-RES-10K")
    assert line["line_no"] == 1 and _value(line, "amount") == "43.00"
    assert line["product_match"]["id"] == str(resistor) and line["product_match"]["auto_accepted"]
    assert Decimal(line["product_match"]["uom_factor"]) == 5000         # the product's reel
    assert line["po_line"] == {"po_number": "PO-4898", "line_no": 1}
    added = [c for c in doc["history"] if c["path"] == "lines.1"]
    assert added and added[0]["before"] is None and added[0]["after"]["description"] == "Resistor 10k 0.25W"
    assert added[0]["who"] and added[0]["at"]
    posted = client.post(f"/api/v1/documents/{doc_id}/confirm", headers=auth())
    assert posted.status_code == 200, posted.text
    stock = client.get("/api/v1/stock", params={"product_id": resistor}, headers=auth()).json()
    assert Decimal(stock["on_hand"]) >= 10000
    assert [m for m in stock["moves"] if m.get("document_id") == doc_id and Decimal(m["quantity"]) == 10000]


def test_lines_are_deleted_and_split_and_post_as_shown(client):
    doc_id = _receipt(client, "GRN-7002")
    resistor, capacitor = _product(client, "EL-RES-10K"), _product(client, "EL-CAP-0603-100N")
    _patch(client, doc_id, {"lines": [
        {"add": True, "product_id": capacitor, "quantity": "10", "unit_price": "3.75", "unit": "pack"},
        {"add": True, "description": "Something we never ordered", "quantity": "1", "unit_price": "9.99"},
        {"add": True, "product_id": resistor, "quantity": "1", "unit": "pcs", "unit_price": "0.01"}]})
    doc = _patch(client, doc_id, {"lines": [{"line_no": 2, "delete": True}, {"line_no": 1, "split": "4"}]})
    lines = {line["line_no"]: line for line in doc["extraction"]["lines"]}
    assert sorted(lines) == [1, 3, 4]                      # 2 deleted; the split part got the next number
    assert (_value(lines[1], "quantity"), _value(lines[1], "amount")) == ("6", "22.50")
    assert (_value(lines[4], "quantity"), _value(lines[4], "amount")) == ("4", "15.00")
    assert lines[4]["product_match"]["id"] == str(capacitor) and Decimal(lines[4]["product_match"]["uom_factor"]) == 100
    assert lines[4]["po_line"] == lines[1]["po_line"] == {"po_number": "PO-4898", "line_no": 2}
    paths = {c["path"]: c for c in doc["history"]}
    assert paths["lines.2"]["after"] is None and paths["lines.2"]["before"]["description"] == "Something we never ordered"
    assert paths["lines.1.quantity"]["before"] == "10" and paths["lines.1.quantity"]["after"] == "6"
    assert paths["lines.4"]["why"] == "split from line 1"
    assert not [i for i in doc["issues"] if i.get("line_no") == 2]
    _patch(client, doc_id, {"lines": [{"line_no": 1, "split": "6"}]}, status=422)      # all of it: no
    _patch(client, doc_id, {"lines": [{"line_no": 2, "delete": True}]}, status=422)    # gone already
    posted = client.post(f"/api/v1/documents/{doc_id}/confirm", headers=auth())
    assert posted.status_code == 200, posted.text
    event = client.app.state.services.factory
    from models.tables import StockMove
    with event() as session:
        moves = session.scalars(select(StockMove).where(StockMove.document_id == doc_id)).all()
    assert sorted(m.quantity for m in moves) == [Decimal(1), Decimal(400), Decimal(600)]


def test_a_product_is_created_from_an_unmatched_line_with_its_supplier_link(client):
    doc_id = _receipt(client, "GRN-7003")
    doc = _patch(client, doc_id, {"lines": [{"add": True, "description": "Ferrite bead 600R 0402", "unit": "reel",
                                             "quantity": "3", "unit_price": "12.00", "supplier_sku": "BL-FB-600"}]})
    [line] = doc["extraction"]["lines"]
    assert line["product_match"]["id"] is None
    answer = client.post(f"/api/v1/documents/{doc_id}/lines/1/product", headers=auth(),
                         json={"sku": "EL-FB-0402-600R", "name": "Ferrite bead 600R 0402", "unit": "pcs",
                               "spec": "0402 600R", "factor": "10000"})
    assert answer.status_code == 201, answer.text
    doc = answer.json()
    [line] = doc["extraction"]["lines"]
    assert line["product_match"]["id"] == str(doc["product_id"]) and line["product_match"]["method"] == "manual"
    assert Decimal(line["product_match"]["uom_factor"]) == 10000
    from models.tables import SupplierProduct
    with client.app.state.services.factory() as session:
        link = session.scalars(select(SupplierProduct).where(SupplierProduct.product_id == doc["product_id"])).one()
    assert (link.supplier_id, link.supplier_sku, link.unit, link.factor) == (doc["supplier_id"], "BL-FB-600", "reel",
                                                                             Decimal(10000))
    again = client.post(f"/api/v1/documents/{doc_id}/lines/1/product", headers=auth(),
                        json={"sku": "EL-FB-0402-600R", "name": "x", "unit": "pcs"})
    assert again.status_code == 422 and "exists already" in again.text
    # the master the matcher uses knows it at once: a new line with the supplier's SKU matches it
    doc = _patch(client, doc_id, {"lines": [{"add": True, "description": "Ferrite bead", "supplier_sku": "BL-FB-600",
                                             "unit": "reel", "quantity": "1"}]})
    assert doc["extraction"]["lines"][1]["product_match"]["id"] == str(line["product_match"]["id"])


def test_the_proposed_new_supplier_is_created_and_set(client):
    doc_id = upload(client, "nw.pdf", unknown_supplier_invoice()).json()["id"]
    wait_read(client)
    doc = _doc(client, doc_id)
    proposal = doc["extraction"]["proposed_supplier"]
    assert proposal["name"] == "Northwind Trading Ltd." and proposal["tax_id"] == "GB987654321"
    assert "supplier_new" in {i["code"] for i in doc["issues"]}
    answer = client.post(f"/api/v1/documents/{doc_id}/supplier", headers=auth(),
                         json={**proposal, "name": "Northwind Trading Limited"})
    assert answer.status_code == 201, answer.text
    doc = answer.json()
    assert str(doc["supplier_id"]) == doc["extraction"]["supplier_match"]["id"]
    assert doc["extraction"]["supplier_match"]["method"] == "manual" and "proposed_supplier" not in doc["extraction"]
    assert "supplier_new" not in {i["code"] for i in doc["issues"]}
    supplier = client.get("/api/v1/suppliers", params={"tax_id": "GB987654321"}, headers=auth()).json()["items"][0]
    assert supplier["name"] == "Northwind Trading Limited" and supplier["phone"] == "+44 113 496 0000"
    assert client.post(f"/api/v1/documents/{doc_id}/supplier", headers=auth(), json=proposal).status_code == 422
    # taught as a supplier correction: the next invoice printing the name matches it
    other = upload(client, "nw2.pdf", unknown_supplier_invoice("NW-5502")).json()["id"]
    wait_read(client)
    assert _doc(client, other)["supplier_id"] == supplier["id"]


def test_choosing_the_supplier_matches_its_lines_again(client):
    doc_id = upload(client, "se.pdf", unknown_supplier_invoice("SE-1", name="Someone Else Ltd", tax_id="GB777")).json()["id"]
    wait_read(client)
    doc = _patch(client, doc_id, {"lines": [{"add": True, "description": "Gizmo XQ", "supplier_sku": "CAP-100N",
                                             "unit": "pack", "quantity": "1"}]})
    added = doc["extraction"]["lines"][-1]
    assert not added["product_match"]["auto_accepted"]
    brightline = client.get("/api/v1/suppliers", params={"tax_id": "GB123456782"}, headers=auth()).json()["items"][0]
    doc = _patch(client, doc_id, {"supplier_id": brightline["id"]})
    line = next(x for x in doc["extraction"]["lines"] if x["line_no"] == added["line_no"])
    assert line["product_match"]["id"] == str(_product(client, "EL-CAP-0603-100N"))
    assert line["product_match"]["auto_accepted"] and Decimal(line["product_match"]["uom_factor"]) == 100
    assert [c for c in doc["history"] if c["path"] == f"matches.lines.{added['line_no']}.product_id"]
