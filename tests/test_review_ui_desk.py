"""Issue 17, the desk: upload from the browser (drop zone and file picker, several files, progress, duplicates
named, failures shown), the original downloaded byte for byte, the filtered queue's posted receipts as Kingdee /
Yonyou XLSX, one issue count on the queue and the document screen (a batch-tracked line without a batch number is
never `ready`), and a delivery note compared with what its PO has open (never "invoiced, 0 received").

Playwright driving Debian's chromium against a real uvicorn on loopback (tests/test_review_ui.py's Server and
helpers), at 1024 px; screenshots in tmp_path/screenshots (and $INBOUND_TEST_ARTIFACTS when set).  Skipped where
those skip (no playwright or no /usr/bin/chromium), except under CI=true.
"""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import httpx
import pytest

from service_support import DEMO, MASTER

CHROMIUM = Path("/usr/bin/chromium")
try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:            # pragma: no cover - the test extra installs it
    sync_playwright = None
if (sync_playwright is None or not CHROMIUM.exists()) and __import__("os").environ.get("CI") != "true":
    pytest.skip("playwright or /usr/bin/chromium missing (scripts/browser.sh installs chromium)",
                allow_module_level=True)

from test_review_ui import CLERK, Server, _login, _page, browser, shots  # noqa: E402,F401 (fixtures)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Both demo masters with their purchase orders and supplier links, and the clerk."""
    with Server(tmp_path_factory.mktemp("desk")) as running:
        for folder in ("electronics", "food"):
            for kind in ("suppliers", "products", "supplier_products", "purchase_orders"):
                path = MASTER / folder / f"{kind}.csv"
                if not path.exists():
                    continue
                answer = running.api.post("/api/v1/master/import", files={"file": (path.name, path.read_bytes())},
                                          data={"kind": kind})
                assert answer.status_code == 200, answer.text
        answer = running.api.post("/api/v1/users", json={"username": CLERK[0], "password": CLERK[1],
                                                         "role": "clerk"})
        assert answer.status_code in (200, 201), answer.text
        yield running


def _signed_in(browser, server, locale: str = "en-GB"):
    context, page, dialogs = _page(browser, server, locale=locale)
    _login(page)
    return context, page, dialogs


def _cookies(context) -> dict:
    return {c["name"]: c["value"] for c in context.cookies()}


# -- upload -----------------------------------------------------------------------------------------------

def test_upload_by_picker_and_drop_with_progress_duplicates_and_failures(server, browser, shots, tmp_path):
    """The complaint: the browser cannot upload a document.  Several files through the file picker, one dropped on
    the drop zone; each gets a progress bar and its answer: received (a link), already received as #N (named),
    refused (why)."""
    first = server.upload("INV-88213.pdf")
    server.wait_read()
    files = tmp_path / "up"
    files.mkdir()
    (files / "送货单-demo.pdf").write_bytes((DEMO / "cn-delivery-demo.pdf").read_bytes())
    (files / "again.pdf").write_bytes((DEMO / "INV-88213.pdf").read_bytes())           # the same bytes: duplicate
    (files / "empty.pdf").write_bytes(b"")                                               # refused: empty
    context, page, dialogs = _signed_in(browser, server)
    expect(page.locator("#drop-zone")).to_be_visible()
    page.set_input_files("#upload-input", [str(files / n) for n in ("送货单-demo.pdf", "again.pdf", "empty.pdf")])
    items = page.locator("#uploads li")
    expect(items).to_have_count(3)
    for n in range(3):
        expect(items.nth(n)).to_have_attribute("data-state", re.compile("received|duplicate|failed"), timeout=30_000)
    by_name = {items.nth(n).locator(".name").inner_text(): items.nth(n) for n in range(3)}
    new = by_name["送货单-demo.pdf"]
    expect(new).to_have_attribute("data-state", "received")
    assert new.locator("progress").evaluate("p => p.value") == 100
    href = new.locator("a.doc-link").get_attribute("href")
    new_id = int(href.rsplit("/", 1)[1])
    again = by_name["again.pdf"]
    expect(again).to_have_attribute("data-state", "duplicate")
    expect(again.locator("a.doc-link")).to_have_text(f"Already received as #{first} INV-88213.pdf")
    expect(again.locator("a.doc-link")).to_have_attribute("href", f"/review/documents/{first}")
    empty = by_name["empty.pdf"]
    expect(empty).to_have_attribute("data-state", "failed")
    expect(empty.locator(".note")).to_contain_text("empty")
    page.screenshot(path=str(shots / "upload-picker.png"), full_page=True)

    # drag and drop: a real drop event with a DataTransfer holding a file, onto the drop zone
    data = (DEMO / "cn-vat-demo.pdf").read_bytes()
    handle = page.evaluate_handle("""(bytes) => {
        const transfer = new DataTransfer();
        transfer.items.add(new File([new Uint8Array(bytes)], "dropped 发票.pdf", {type: "application/pdf"}));
        return transfer; }""", list(data))
    page.dispatch_event("#drop-zone", "dragenter", {"dataTransfer": handle})
    expect(page.locator("#drop-zone")).to_have_class(re.compile(r"\bover\b"))
    page.dispatch_event("#drop-zone", "drop", {"dataTransfer": handle})
    dropped = page.locator("#uploads li").nth(3)
    expect(dropped).to_have_attribute("data-state", "received", timeout=30_000)
    expect(dropped.locator(".name")).to_have_text("dropped 发票.pdf")
    page.screenshot(path=str(shots / "upload-drop.png"), full_page=True)

    server.wait_read()
    docs = server.api.get("/api/v1/documents", params={"source": "upload", "limit": 100}).json()["items"]
    by_id = {d["id"]: d for d in docs}
    assert by_id[new_id]["filename"] == "送货单-demo.pdf" and by_id[new_id]["source"] == "upload"
    assert by_id[new_id]["sha256"] == hashlib.sha256((DEMO / "cn-delivery-demo.pdf").read_bytes()).hexdigest()
    assert any(d["filename"] == "dropped 发票.pdf" for d in docs)
    expect(page.locator("#upload-done")).to_be_visible()
    page.click("#upload-refresh")
    expect(page.locator(f"#queue tr[data-id='{new_id}']")).to_be_visible()
    assert dialogs == []
    context.close()


def test_upload_checks_the_form_token_and_the_size_limit(server, browser):
    context, page, _ = _signed_in(browser, server)
    cookies = _cookies(context)
    with httpx.Client(base_url=server.base, cookies=cookies) as client:
        forged = client.post("/review/upload", data={"csrf": "forged"}, files={"file": ("x.pdf", b"%PDF-1.4 x")})
        assert forged.status_code == 403
        csrf = page.locator("#upload").get_attribute("data-csrf")
        limit = server.app.state.services.settings.max_upload_bytes
        big = client.post("/review/upload", data={"csrf": csrf}, files={"file": ("big.pdf", b"0" * (limit + 1))})
        assert big.status_code == 413 and "limit" in big.json()["message"]
    with httpx.Client(base_url=server.base) as stranger:
        assert stranger.post("/review/upload", files={"file": ("x.pdf", b"x")}).status_code == 401
    context.close()


# -- download the original --------------------------------------------------------------------------------

def test_a_signed_in_clerk_downloads_the_original_byte_for_byte(server, browser, shots):
    """The complaint: the file link answers 401 to a signed-in clerk.  The link on the document screen gives the
    bytes as received, as an attachment under the document's own (Chinese) file name."""
    data = (DEMO / "cn-delivery-demo.pdf").read_bytes() + b"\n% a copy named in Chinese\n"
    answer = server.api.post("/api/v1/documents", files={"file": ("送货单 0412.pdf", data, "application/pdf")})
    doc_id = answer.json()["id"]
    server.wait_read()
    context, page, _ = _signed_in(browser, server)
    page.goto(f"/review/documents/{doc_id}")
    link = page.locator(".doc-head a#download-original")
    expect(link).to_be_visible()
    page.screenshot(path=str(shots / "download-link.png"))
    with page.expect_download() as waiting:
        link.click()
    download = waiting.value
    assert download.suggested_filename == "送货单 0412.pdf"
    assert Path(download.path()).read_bytes() == data
    with httpx.Client(base_url=server.base, cookies=_cookies(context)) as client:
        answer = client.get(f"/review/documents/{doc_id}/file")
        assert answer.status_code == 200 and answer.content == data
        disposition = answer.headers["content-disposition"]
        assert disposition.startswith("attachment;") and "filename*=UTF-8''%E9%80%81%E8%B4%A7%E5%8D%95%200412.pdf" \
            in disposition
        assert client.get("/review/documents/999999/file").status_code == 404
    with httpx.Client(base_url=server.base) as stranger:
        assert stranger.get(f"/review/documents/{doc_id}/file", follow_redirects=False).status_code == 303
    context.close()


def test_safe_file_names():
    from review_ui.desk_routes import content_disposition, safe_filename
    assert safe_filename("../../etc/passwd", "d") == "passwd"
    assert safe_filename('a"b\r\nc;.pdf', "d") == "a_b_c_.pdf"
    assert safe_filename("C:\\scans\\发票.pdf", "d") == "发票.pdf"
    assert safe_filename(".hidden", "d") == "hidden" and safe_filename("...", "doc-1") == "doc-1"
    assert content_disposition("plain.pdf") == 'attachment; filename="plain.pdf"'
    assert content_disposition("发票.pdf") == "attachment; filename=\"__.pdf\"; filename*=UTF-8''%E5%8F%91%E7%A5%A8.pdf"


# -- one issue count; ready means nothing to ask --------------------------------------------------------

def test_the_queue_counts_the_issues_the_screen_lists_and_ready_asks_for_nothing(server, browser, shots):
    """The complaints: the queue's issue counts differ from the document screen (3 vs 5), and a document shown
    "ready, 0" asks for a batch number when opened.  cn-vat-demo's first product is batch-tracked and no batch is
    printed: it is not ready, and the queue and the screen show the same issues."""
    data = (DEMO / "cn-vat-demo.pdf").read_bytes() + b"\n% issue count\n"
    answer = server.api.post("/api/v1/documents", files={"file": ("vat-count.pdf", data, "application/pdf")})
    doc_id = answer.json()["id"]
    server.wait_read()
    doc = server.api.get(f"/api/v1/documents/{doc_id}").json()
    assert doc["status"] == "needs_review"
    assert "batch_required" in {i["code"] for i in doc["issues"]}
    context, page, _ = _signed_in(browser, server)
    ids = [r["id"] for r in server.api.get("/api/v1/documents", params={"limit": 100}).json()["items"]
           if r["status"] in ("needs_review", "ready")]
    page.goto("/review/queue")
    page.screenshot(path=str(shots / "queue-counts.png"), full_page=True)
    assert doc_id in ids
    for document in ids:
        shown = int(page.locator(f"#queue tr[data-id='{document}'] td.issues").inner_text())
        status = page.locator(f"#queue tr[data-id='{document}'] .status").inner_text()
        screen = context.new_page()
        screen.goto(f"{server.base}/review/documents/{document}")
        listed = screen.locator("#issues li").count()
        assert listed == shown, f"document {document}: queue {shown}, screen {listed}"
        if status == "ready":
            assert screen.locator("#issues li[data-code=batch_required]").count() == 0
            assert screen.locator("#issues li.sev-error").count() == 0
        if document == doc_id:
            screen.screenshot(path=str(shots / "screen-counts.png"), full_page=True)
            expect(screen.locator("#issues li[data-code=batch_required]")).to_have_count(1)
        screen.close()
    # the clerk enters the batch number: the issue is gone on both screens at once
    page.goto(f"/review/documents/{doc_id}")
    before = page.locator("#issues li").count()
    page.fill("input[name='l.1.batch_no']", "LOT-7")
    page.click("button[name=action][value=save]")
    page.wait_for_load_state()
    page.goto(f"/review/documents/{doc_id}")
    expect(page.locator("#issues li[data-code=batch_required]")).to_have_count(0)
    after = page.locator("#issues li").count()
    assert after == before - 1
    page.goto("/review/queue")
    expect(page.locator(f"#queue tr[data-id='{doc_id}'] td.issues")).to_have_text(str(after))
    context.close()


# -- the delivery note is the receipt --------------------------------------------------------------------

def test_a_delivery_note_is_compared_with_the_open_po_not_as_an_invoice(server, browser, shots):
    """The complaint: on a delivery note every line said "10000 invoiced, 0 received on PO-…", although the
    document is the receipt.  The food demo's 送货单 against its PO: delivered vs open, nothing "invoiced"; the
    Brightline invoice against PO-4898, on which nothing was received yet (this invoice is what gets posted as the
    receipt), reads the same way."""
    delivery = server.upload("cn-delivery-demo.pdf")
    invoice = server.upload("INV-88213.pdf")             # PO-4898: 2 reels = 10000 pcs ordered, nothing received
    server.wait_read()
    assert server.api.get(f"/api/v1/documents/{delivery}").json()["document_type"] == "delivery_note"
    assert server.api.get(f"/api/v1/documents/{invoice}").json()["extraction"]["lines"][0]["po_line"] == {
        "po_number": "PO-4898", "line_no": 1}
    context, page, _ = _signed_in(browser, server)
    for doc_id, name in ((delivery, "delivery-note"), (invoice, "invoice-first")):
        page.goto(f"/review/documents/{doc_id}")
        issues = page.locator("#issues")
        expect(issues).to_be_visible()
        text = issues.inner_text()
        page.screenshot(path=str(shots / f"{name}-po.png"), full_page=True)
        assert "invoiced" not in text and "0 received" not in text, text
        assert page.locator("#issues li[data-code=invoice_exceeds_receipt]").count() == 0
    page.goto(f"/review/documents/{delivery}")
    expect(page.locator("#issues li[data-code=po_over_delivery]")).to_contain_text("420 delivered, 400 open")
    context.close()


# -- export ------------------------------------------------------------------------------------------------

def test_the_filtered_queue_exports_its_posted_receipts(server, browser, shots):
    """The complaint: posted receipts cannot be exported to Excel from the browser.  Two receipts posted; the queue
    filtered to posted and one supplier gives a Kingdee and a Yonyou sheet with that receipt's lines only."""
    from openpyxl import load_workbook
    clean = server.api.post("/api/v1/documents", files={"file": (
        "vat.pdf", (DEMO / "cn-vat-demo.pdf").read_bytes() + b"\n% export\n", "application/pdf")}).json()["id"]
    food = server.api.post("/api/v1/documents", files={"file": (
        "food.pdf", (DEMO / "cn-delivery-demo.pdf").read_bytes() + b"\n% export\n", "application/pdf")}).json()["id"]
    server.wait_read()
    for doc_id in (clean, food):
        doc = server.api.get(f"/api/v1/documents/{doc_id}").json()
        fixes = []
        for line in doc["extraction"]["lines"]:
            fix = {"line_no": line["line_no"], "batch_no": f"B-{line['line_no']}"}
            if not line["product_match"].get("id"):
                fix["product_id"] = server.api.get("/api/v1/products", params={"limit": 1}).json()["items"][0]["id"]
            if not line["product_match"].get("uom_factor"):
                fix["uom_factor"] = "1"
            fixes.append(fix)
        assert server.api.patch(f"/api/v1/documents/{doc_id}", json={"lines": fixes}).status_code == 200
        answer = server.api.post(f"/api/v1/documents/{doc_id}/confirm")
        assert answer.status_code in (200, 201), answer.text
    supplier = server.api.get(f"/api/v1/documents/{food}").json()["extraction"]["supplier_match"]["name"]
    context, page, _ = _signed_in(browser, server, locale="zh-CN")
    page.goto("/review/queue")
    expect(page.locator("#export-hint")).to_be_visible()
    page.click("#export-hint")
    page.fill("input[name=q]", supplier)
    page.click("form.filters button[type=submit]")
    expect(page.locator(f"#queue tr[data-id='{food}']")).to_be_visible()
    expect(page.locator(f"#queue tr[data-id='{clean}']")).to_have_count(0)
    page.screenshot(path=str(shots / "export-filtered.png"), full_page=True)
    sheets = {}
    for fmt in ("kingdee", "yonyou"):
        with page.expect_download() as waiting:
            page.click(f"#export-{fmt}")
        download = waiting.value
        name = download.suggested_filename
        assert name.startswith(f"{fmt}-receipts-") and name.endswith(".xlsx")
        book = load_workbook(io.BytesIO(Path(download.path()).read_bytes()), read_only=True)
        sheets[fmt] = [list(row) for row in book.active.iter_rows(values_only=True)]
    kingdee, yonyou = sheets["kingdee"], sheets["yonyou"]
    food_doc = server.api.get(f"/api/v1/documents/{food}").json()
    assert kingdee[0][:3] == ["单据编号", "单据类型", "入库日期"] and yonyou[0][:2] == ["入库单号", "入库日期"]
    assert len(kingdee) - 1 == len(food_doc["extraction"]["lines"]) == len(yonyou) - 1
    number = food_doc["extraction"]["fields"]["document_number"]["value"]
    assert {row[0] for row in kingdee[1:]} == {number} == {row[0] for row in yonyou[1:]}
    assert {row[4] for row in kingdee[1:]} == {supplier}
    # a filter that lists no posted receipt says so instead of offering an empty sheet
    page.goto("/review/queue?status=posted&q=nothing-like-this")
    expect(page.locator("#export-kingdee")).to_have_count(0)
    expect(page.locator("#export-none")).to_contain_text("没有可导出")
    expect(page.locator("#empty")).to_have_text("没有符合条件的单据。")
    with httpx.Client(base_url=server.base, cookies=_cookies(context)) as client:
        answer = client.get("/review/export.xlsx", params={"fmt": "kingdee", "status": "posted", "q": "nothing-like"})
        assert answer.status_code == 303 and "/review/queue?" in answer.headers["location"]
        assert client.get("/review/export.xlsx", params={"fmt": "sap", "status": "posted"}).status_code == 404
    page.screenshot(path=str(shots / "export-nothing.png"), full_page=True)
    context.close()


# -- the queue in Chinese, paged ---------------------------------------------------------------------------

def test_the_queue_pages_and_speaks_chinese(server, browser, shots):
    """Page navigation on a long queue (a page of 50 rows), and no English outside supplier data on the zh-CN
    queue page (text outside translate="no")."""
    from pipeline.bench.queue_seed import seed_queue
    seed_queue(server.app.state.services.factory, 300, seed=7)
    context, page, _ = _signed_in(browser, server, locale="zh-CN")
    page.goto("/review/queue")
    expect(page.locator("#pager")).to_be_visible()
    where = page.locator("#page-where").inner_text()
    assert where.startswith("第 1–50 条")
    page.click("#page-on")
    expect(page.locator("#page-where")).to_contain_text("第 51–100 条")
    assert page.locator("#queue tbody tr[data-id]").count() == 50
    page.click("#page-last")
    expect(page.locator("#page-on")).to_have_count(0)
    page.screenshot(path=str(shots / "queue-zh-paged.png"), full_page=True)
    english = page.evaluate("""() => {
        const out = [];
        const walker = document.createTreeWalker(document.querySelector("main"), NodeFilter.SHOW_TEXT);
        while (walker.nextNode()) {
            const node = walker.currentNode;
            if (node.parentElement.closest("[translate=no]")) continue;
            const words = node.textContent.match(/[A-Za-z]{2,}/g);
            if (words) out.push(...words);
        }
        for (const el of document.querySelectorAll("main [placeholder], main [aria-label]")) {
            if (el.closest("[translate=no]")) continue;
            for (const value of [el.getAttribute("placeholder"), el.getAttribute("aria-label")])
                if (value && /[A-Za-z]{2,}/.test(value)) out.push(value);
        }
        return out; }""")
    assert english == [], english
    context.close()
