"""A supplier's layout hint learned from one correction and used on its next document, through the API:
the reviewer types the PO number the reader did not find; the next invoice from the same supplier, printing
its PO number behind the same unusual label, comes back with it read."""

from __future__ import annotations

from db_support import db_url  # noqa: F401
from service_support import auth, import_master, labelled_invoice, running_app, upload, wait_read


def _invoice(number: str, job: str) -> bytes:
    return labelled_invoice(number, "Job ticket ref", job)


def test_a_po_label_taught_once_is_read_on_the_next_invoice(db_url, tmp_path):
    with running_app(db_url, tmp_path) as client:
        import_master(client, kinds=("suppliers", "products"))
        first = upload(client, "BL-1001.pdf", _invoice("BL-1001", "77881-A")).json()
        wait_read(client)
        doc = client.get(f"/api/v1/documents/{first['id']}", headers=auth()).json()
        assert doc["extraction"]["supplier_match"]["method"] == "tax_id"
        assert "po_number" not in doc["extraction"]["fields"]               # 'Job ticket ref' is no PO cue
        fixed = client.patch(f"/api/v1/documents/{first['id']}", headers=auth(),
                             json={"fields": {"po_number": "77881-A"}})
        assert fixed.status_code == 200, fixed.text

        second = upload(client, "BL-1002.pdf", _invoice("BL-1002", "77990-B")).json()
        wait_read(client)
        doc = client.get(f"/api/v1/documents/{second['id']}", headers=auth()).json()
        po = doc["extraction"]["fields"]["po_number"]
        assert po["value"] == "77990-B" and po["bbox"] is not None and po["confidence"] < 1.0
