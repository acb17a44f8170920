"""Approvals on the review screen (TestClient, real app on SQLite): a clerk's confirm of a receipt whose price is
off its purchase order, or that receives beyond the order, waits for an approver as `confirmed`; the approver
sees it with the reason and posts it, or sends it back to review.  Also: what needs attention is marked."""

from __future__ import annotations

import re
from decimal import Decimal

from service_support import auth, import_master, running_app, upload, wait_read
from test_api_documents import _same_text_other_bytes
from test_review_ui_forms import _csrf, _login, _user


def _logout(client) -> None:
    token = _csrf(client.get("/review/queue").text)
    client.post("/review/logout", data={"csrf": token})


def _status(client, document_id: int) -> dict:
    return client.get(f"/api/v1/documents/{document_id}", headers=auth()).json()


def test_a_price_variance_waits_for_an_approver_who_posts_it(tmp_path):
    with running_app(f"sqlite:///{tmp_path / 'inbound.db'}", tmp_path) as client:
        import_master(client)                                    # with PO-4898: 2 reels at 21.50
        invoice = upload(client, "INV-88213.pdf").json()["id"]
        wait_read(client)
        _user(client, "cleo", "clerk")
        _user(client, "abe", "approver")

        _login(client, "cleo", "password-cleo")
        screen = client.get(f"/review/documents/{invoice}").text
        assert "invoiced" not in screen      # nothing received on PO-4898 yet: this invoice is the receipt (issue 17)
        token = _csrf(screen)
        sent = client.post(f"/review/documents/{invoice}",
                           data={"csrf": token, "action": "confirm", "l.1.unit_price": "30.00"})
        assert "Sent to an approver" in sent.text and "price off the order" in sent.text
        doc = _status(client, invoice)
        assert doc["status"] == "confirmed"
        waiting = [c for c in doc["history"] if c["path"] == "status" and c["after"] == "confirmed"]
        assert waiting[-1]["who"] == "cleo" and waiting[-1]["why"].startswith("awaiting approval: ")
        mine = client.get(f"/review/documents/{invoice}").text
        assert 'id="approval"' in mine and "Only an approver can release" in mine and 'value="approve"' not in mine
        refused = client.post(f"/review/documents/{invoice}", data={"csrf": token, "action": "approve"})
        assert "Only an approver" in refused.text and _status(client, invoice)["status"] == "confirmed"
        assert 'id="nav-approvals"' not in mine                              # clerks have no approvals page link
        _logout(client)

        _login(client, "abe", "password-abe")
        listing = client.get("/review/approvals").text
        row = re.search(rf'<tr data-id="{invoice}">.*?</tr>', listing, re.S).group(0)
        assert "Brightline Components Ltd." in row and "price off the order by more than 2" in row
        page = client.get(f"/review/documents/{invoice}").text
        assert 'value="approve"' in page and 'id="approval-reason"' in page
        posted = client.post(f"/review/documents/{invoice}", data={"csrf": _csrf(page), "action": "approve"})
        assert "Posted to stock" in posted.text and "Nothing waits for approval" in posted.text
        doc = _status(client, invoice)
        assert doc["status"] == "posted"
        assert [c["who"] for c in doc["history"] if c["path"] == "status" and c["after"] == "posted"] == ["abe"]
        stock = client.get("/api/v1/stock", headers=auth(), params={"product_id": _product(client, "EL-RES-10K")})
        assert stock.json()["on_hand"] == "10000" and Decimal(stock.json()["value"]) == 60   # 2 reels at 30.00


def test_an_over_receipt_is_sent_back_by_the_approver(tmp_path):
    with running_app(f"sqlite:///{tmp_path / 'inbound.db'}", tmp_path) as client:
        import_master(client)
        first = upload(client, "INV-88213.pdf").json()["id"]
        wait_read(client)
        _user(client, "cleo", "clerk")
        _user(client, "abe", "approver")
        assert client.post(f"/api/v1/documents/{first}/confirm", headers=auth()).status_code == 200   # receives all
        again = upload(client, "INV-88213-again.pdf", _same_text_other_bytes("INV-88213.pdf")).json()["id"]
        wait_read(client)

        _login(client, "cleo", "password-cleo")
        token = _csrf(client.get(f"/review/documents/{again}").text)
        sent = client.post(f"/review/documents/{again}", data={"csrf": token, "action": "confirm"})
        assert "Sent to an approver" in sent.text and "over-receipt beyond 5% of the order on lines 1, 2" in sent.text
        assert _status(client, again)["status"] == "confirmed"
        _logout(client)

        _login(client, "abe", "password-abe")
        token = _csrf(client.get(f"/review/documents/{again}").text)
        back = client.post(f"/review/documents/{again}",
                           data={"csrf": token, "action": "send_back", "reason": "second copy of INV-88213"})
        assert "Sent back to review" in back.text
        doc = _status(client, again)
        assert doc["status"] == "needs_review"
        assert doc["history"][-1]["who"] == "abe" and doc["history"][-1]["why"] == "second copy of INV-88213"
        queue = client.get("/review/queue").text
        assert f'<tr data-id="{again}">' in queue


def test_what_needs_attention_is_marked_for_tab_and_enter(tmp_path):
    with running_app(f"sqlite:///{tmp_path / 'inbound.db'}", tmp_path) as client:
        import_master(client, kinds=("suppliers", "products"))
        unsure = upload(client, "mystery.pdf", _invoice_pdf(["Mystery gadget  2  5.00  10.00",
                                                             "LED red 0805  1  36.00  36.00"])).json()["id"]
        clean = upload(client, "cn-vat-demo.pdf").json()["id"]
        wait_read(client)
        _user(client, "cleo", "clerk")
        _login(client, "cleo", "password-cleo")
        doc = _status(client, unsure)
        expected = [line["line_no"] for line in doc["extraction"]["lines"]
                    if not line["product_match"]["auto_accepted"]]
        page = client.get(f"/review/documents/{unsure}").text
        marked = re.findall(r'class="product-search" data-for="l\.(\d+)\.product_id" data-attention', page)
        assert 1 in expected and [int(n) for n in marked] == expected
        clean_doc = _status(client, clean)
        assert clean_doc["status"] == "needs_review"       # a batch-tracked line without a batch: not ready (issue 17)
        assert {i["code"] for i in clean_doc["issues"]} == {"batch_required"}
        batch_tracked = re.findall(r'<input name="l\.(\d+)\.batch_no"[^>]*data-attention',
                                   client.get(f"/review/documents/{clean}").text)
        assert batch_tracked                                      # its products need a batch number: asked for
        batches = [{"line_no": int(n), "batch_no": f"B-{n}"} for n in batch_tracked]
        assert client.patch(f"/api/v1/documents/{clean}", headers=auth(), json={"lines": batches}).status_code == 200
        assert "data-attention" not in client.get(f"/review/documents/{clean}").text


def _invoice_pdf(lines: list[str]) -> bytes:
    from fpdf import FPDF
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, "Brightline Components Ltd.", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    for text in ("VAT No: GB123456782", "INVOICE", "Invoice No: INV-9001", "Date: 2026-03-02",
                 "Description  Qty  Unit price  Amount", *lines, "Total: 46.00 GBP"):
        pdf.cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _product(client, sku: str) -> int:
    return client.get("/api/v1/products", headers=auth(), params={"sku": sku}).json()["items"][0]["id"]
