"""`inbound bench review`: how fast a person clears the review queue, measured in a real browser.

A real `inbound serve` (embedded SQLite, in-process pipeline) on loopback with the electronics master data; Debian's
chromium driven by Playwright at a tablet's 1024 x 768, logged in as a clerk.  Three measures, each the median over
its documents (20 each; --quick: 5):

(a) a clean document: from the document screen being usable to the next document's screen, pressing Enter once;
(b) one wrong product match: an invoice whose second line ("Capacitor 100nF", no size printed) the matcher cannot
    settle between the 0402 and 0603 capacitors; the right one is the 0402, whose pack size for this supplier
    nobody has said yet.  The clerk's keys: Enter (to the value needing attention), arrow keys through the
    candidates until the right product shows, Enter (on to its pack size, asked for while it is not known),
    "100", Enter (on to Confirm), Enter (confirm).  The first fix teaches the pack size, so later ones skip it;
    every document was read before the first fix, so each still needs the product picked (documents read after
    it arrive matched by the learned alias, see the tests).  Keys are counted as pressed; seconds from usable
    screen to the next screen;
(c) a 5-page PDF (an invoice of 110 lines over 5 pages): from navigation start until the screen is usable — the
    first page's image drawn, its boxes placed, the form present — each document opened once (nothing cached);
(d) a goods receipt note read with no lines: a line added from its purchase order, matched and posted (_no_lines);
(e) the queue page with 10,000 more documents in the database (--quick: 2,000; pipeline.bench.queue_seed).

The keys are pressed by Playwright as fast as the page takes them, so the seconds are the screen's own latency (the
server's posting and the next page's load included), not a person's reading time.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import httpx

from pipeline.bench.ledger import BenchUnavailable
from pipeline.bench.service import BENCH_RATES, free_port, say, stop, wait_until_up

ROOT = Path(__file__).resolve().parents[2]
INBOUND = str(Path(sys.executable).parent / "inbound")
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
CLERK = ("bench-clerk", "bench-clerk-password")
RIGHT_SKU = "EL-CAP-0402-100N"
PACK = "100"                 # 0402 capacitors in this supplier's pack: the factor the clerk types
MOVED_ON = "() => document.activeElement.name === 'l.2.uom_factor' || document.activeElement.id === 'confirm'"
USABLE = """() => {
    const img = document.querySelector('.page:not([hidden]) img');
    const box = document.querySelector('.page:not([hidden]) .box');
    return !!(img && img.complete && img.naturalWidth > 0 && box && box.style.left && document.getElementById('review-form'));
}"""


def run_bench(*, quick: bool) -> dict:
    return run(count=5 if quick else 20, long_docs=3 if quick else 5, queue_size=2_000 if quick else 10_000)


def run(*, count: int, long_docs: int, queue_size: int = 10_000) -> dict:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise BenchUnavailable("this bench needs playwright (pip install -e '.[test]')") from exc
    if not CHROMIUM.exists():
        raise BenchUnavailable("this bench needs /usr/bin/chromium (scripts/browser.sh installs it)")
    key = "bench-" + uuid.uuid4().hex
    home = Path(tempfile.mkdtemp(prefix="inbound-bench-review-"))
    port = free_port()
    env = {**os.environ, "INBOUND_HOME": str(home), "INBOUND_DEMO": "0", "INBOUND_BOOTSTRAP_API_KEY": key,
           "INBOUND_EXCHANGE_RATES": BENCH_RATES}
    env.pop("INBOUND_DATABASE_URL", None)
    env.pop("INBOUND_BROKER_URL", None)
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([INBOUND, "serve", "--port", str(port)], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_up(base)
        api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=120)
        _prepare(api)
        say(f"making and reading {2 * count + long_docs} documents ...")
        clean = [_upload(api, f"clean-{n}.pdf", _invoice(n, sure=True)) for n in range(count)]
        unsure = [_upload(api, f"fix-{n}.pdf", _invoice(count + n, sure=False)) for n in range(count)]
        long = [_upload(api, f"long-{n}.pdf", _long_pdf(n)) for n in range(long_docs)]
        _wait_final(api, clean + unsure + long)
        right = api.get("/api/v1/products", params={"sku": RIGHT_SKU}).json()["items"][0]["id"]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
            try:
                page = _clerk_page(browser, base)
                figures = {"documents_each": count, "browser": f"chromium {browser.version}", "viewport": "1024x768"}
                figures.update(_clean(page, clean))
                figures.update(_fix(page, unsure, right))
                figures.update(_long(page, long))
                _check_posted(api, clean + unsure, right)
                figures.update(_no_lines(page, api, count))
                figures.update(_big_queue(page, home, queue_size))
            finally:
                browser.close()
        api.close()
    finally:
        stop(server)
    _print(figures)
    return figures


# -- the data ---------------------------------------------------------------------------------------------

def _prepare(api: httpx.Client) -> None:
    for kind in ("suppliers", "products", "supplier_products"):
        path = ROOT / "fixtures" / "master" / "electronics" / f"{kind}.csv"
        answer = api.post("/api/v1/master/import", files={"file": (path.name, path.read_bytes())}, data={"kind": kind})
        answer.raise_for_status()
    answer = api.post("/api/v1/users", json={"username": CLERK[0], "password": CLERK[1], "role": "clerk"})
    answer.raise_for_status()


def _invoice(n: int, *, sure: bool) -> bytes:
    """A Brightline invoice: two lines by supplier SKU (sure), or the second without SKU or size (unsure)."""
    from fixtures.synth import SynthLine, demo_invoices, invoice_pdf
    base = demo_invoices()[1]
    resistor, capacitor = base.lines
    second = capacitor if sure else SynthLine("", "Capacitor 100nF", capacitor.quantity, "pack",
                                              capacitor.unit_price, capacitor.tax_rate)
    quantity = Decimal(1 + n % 3)
    issued = date(2026, 3, 1) + timedelta(days=n % 20)
    inv = replace(base, number=f"INV-{90000 + n}", issued=issued, due=issued + timedelta(days=30), po_number="",
                  lines=(replace(resistor, quantity=quantity), second))
    return invoice_pdf(inv)


def _long_pdf(n: int) -> bytes:
    """A 5-page invoice: header on page 1, 110 lines running over 5 pages, totals on the last."""
    from fpdf import FPDF
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 8, "Brightline Components Ltd.", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    for text in ("14 Canal Road, M1 2AB Manchester", "VAT ID: GB123456782", "INVOICE",
                 f"Invoice No.: INV-LONG-{n}", "Invoice Date: 2026-03-02"):
        pdf.cell(0, 5, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    widths = (20, 90, 15, 15, 25, 25)
    for cell, width in zip(("Item No.", "Description", "Qty", "Unit", "Unit Price", "Amount"), widths):
        pdf.cell(width, 6, cell, border="B")
    pdf.ln()
    subtotal = Decimal(0)
    for line in range(1, 111):
        quantity, price = Decimal(1 + line % 4), Decimal("3.75")
        amount = quantity * price
        subtotal += amount
        cells = ("CAP-100N", f"Capacitor 100nF X7R 0603, lot {line}", str(quantity), "pack", f"{price}", f"{amount:.2f}")
        for cell, width in zip(cells, widths):
            pdf.cell(width, 6, cell)
        pdf.ln()
    tax = (subtotal * Decimal("0.20")).quantize(Decimal("0.01"))
    for label, value in (("Subtotal", subtotal), ("VAT Amount", tax), ("Total", subtotal + tax)):
        pdf.cell(150, 6, label)
        pdf.cell(40, 6, f"{value:.2f}", new_x="LMARGIN", new_y="NEXT")
    while pdf.page_no() < 5:
        pdf.add_page()
        pdf.cell(0, 6, "Terms: payment within 30 days.", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _upload(api: httpx.Client, name: str, data: bytes) -> int:
    answer = api.post("/api/v1/documents", files={"file": (name, data, "application/pdf")})
    answer.raise_for_status()
    return answer.json()["id"]


def _wait_final(api: httpx.Client, ids: list[int], timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    waiting = set(ids)
    while waiting and time.monotonic() < deadline:
        waiting = {i for i in waiting if api.get(f"/api/v1/documents/{i}").json()["status"] in ("received", "processing")}
        time.sleep(0.3)
    if waiting:
        raise BenchUnavailable(f"{len(waiting)} documents were not read in {timeout_s:.0f} s")


# -- the browser ------------------------------------------------------------------------------------------

def _clerk_page(browser, base: str):
    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="en-GB", base_url=base)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto("/review/login")
    page.fill("input[name=username]", CLERK[0])
    page.fill("input[name=password]", CLERK[1])
    page.click("form.login button[type=submit]")
    page.wait_for_url("**/review/queue")
    return page


def _open(page, document_id: int) -> None:
    page.goto(f"/review/documents/{document_id}")
    page.wait_for_function(USABLE)


def _leave(page, document_id: int) -> None:
    """Until the browser shows another screen than this document's, usable."""
    page.wait_for_url(lambda url: not url.split("?")[0].endswith(f"/review/documents/{document_id}"))
    page.wait_for_load_state("load")


def _clean(page, ids: list[int]) -> dict:
    seconds, keys = [], []
    for number, document_id in enumerate(ids, 1):
        _open(page, document_id)
        if page.locator("[data-attention]").count():
            raise BenchUnavailable(f"document {document_id} was meant to be clean but needs attention")
        started = time.perf_counter()
        page.keyboard.press("Enter")
        _leave(page, document_id)
        seconds.append(time.perf_counter() - started)
        keys.append(1)
        say(f"  clean {number}/{len(ids)}: {seconds[-1]:.2f} s")
    return {"clean_keys_median": _whole(statistics.median(keys)), "clean_s_median": round(statistics.median(seconds), 3),
            "clean_s_max": round(max(seconds), 3)}


def _fix(page, ids: list[int], right: int) -> dict:
    seconds, keys, at_top = [], [], 0
    for number, document_id in enumerate(ids, 1):
        _open(page, document_id)
        select = page.locator("select[name='l.2.product_id']")
        started = time.perf_counter()
        pressed = _press(page, "Enter")
        focused = page.evaluate("document.activeElement.dataset.for || ''")
        if focused != "l.2.product_id":
            raise BenchUnavailable(f"document {document_id}: Enter went to {focused!r}, not line 2's product")
        at_top += select.input_value() == str(right)
        tries = 0
        while select.input_value() != str(right):
            pressed += _press(page, "ArrowDown")
            tries += 1
            if tries > 12:
                raise BenchUnavailable(f"document {document_id}: {RIGHT_SKU} is not among line 2's candidates")
        pressed += _press(page, "Enter")            # on to the pack size the 0402 needs (not known), or Confirm
        page.wait_for_function(MOVED_ON)             # the screen looks the product's factor up first
        if page.evaluate("document.activeElement.name || ''") == "l.2.uom_factor":
            for key in PACK:
                pressed += _press(page, key)
            pressed += _press(page, "Enter")        # on to Confirm
        if page.evaluate("document.activeElement.id") != "confirm":
            raise BenchUnavailable(f"document {document_id}: the second Enter did not reach Confirm")
        pressed += _press(page, "Enter")            # confirm
        _leave(page, document_id)
        seconds.append(time.perf_counter() - started)
        keys.append(pressed)
        say(f"  fix {number}/{len(ids)}: {pressed} keys, {seconds[-1]:.2f} s")
    return {"fix_keys_median": _whole(statistics.median(keys)), "fix_keys_first": keys[0],
            "fix_s_median": round(statistics.median(seconds), 3),
            "fix_s_max": round(max(seconds), 3), "fix_right_product_on_top": at_top}


def _whole(number: float) -> int | float:
    return int(number) if float(number).is_integer() else number


def _press(page, key: str) -> int:
    page.keyboard.press(key)
    return 1


def _long(page, ids: list[int]) -> dict:
    seconds = []
    for number, document_id in enumerate(ids, 1):
        started = time.perf_counter()
        page.goto(f"/review/documents/{document_id}", wait_until="commit")
        page.wait_for_function(USABLE, polling=20)
        seconds.append(time.perf_counter() - started)
        pages = page.locator(".page").count()
        if pages != 5:
            raise BenchUnavailable(f"document {document_id} shows {pages} pages, not 5")
        say(f"  5-page PDF {number}/{len(ids)}: usable after {seconds[-1]:.2f} s")
    rows = page.locator("tbody.line").count()
    return {"five_page_usable_s_median": round(statistics.median(seconds), 3),
            "five_page_usable_s_max": round(max(seconds), 3), "five_page_lines": rows}


def _no_lines(page, api: httpx.Client, count: int) -> dict:
    """(d) Goods receipt notes whose reading has no lines (a header naming its purchase order, no item table): the
    clerk adds the line from the keyboard — `a` (the product chooser opens, the PO's open lines first), Enter (the
    first is picked: unit, price, open quantity filled in), Enter (added) — then Enter over whatever needs a look
    until the document is posted.  Each note has its own PO (2 reels of the 10k resistor at 21.50).  Keys as
    pressed, seconds from the usable screen to the next screen."""
    from fixtures.desk_documents import receipt_without_lines
    ids = []
    for n in range(count):
        answer = api.post("/api/v1/purchase-orders", json={"po_number": f"PO-BENCH-{n}", "supplier": "GB123456782",
                                                           "date": "2026-03-01", "sku": "EL-RES-10K", "quantity": "2",
                                                           "unit": "reel", "price": "21.50"})
        answer.raise_for_status()
        ids.append(_upload(api, f"grn-{n}.pdf", receipt_without_lines(f"GRN-B{n}", po_number=f"PO-BENCH-{n}")))
    _wait_final(api, ids)
    seconds, keys = [], []
    for number, document_id in enumerate(ids, 1):
        page.goto(f"/review/documents/{document_id}")
        page.wait_for_selector("#add-line")
        if page.locator("tbody.line").count():
            raise BenchUnavailable(f"document {document_id} was meant to have no lines read")
        started = time.perf_counter()
        pressed = _press(page, "a")
        page.wait_for_selector("#add-found li", state="visible")
        pressed += _press(page, "Enter")            # the PO's open line picked
        page.wait_for_function("() => document.activeElement.id === 'add-quantity'")
        pressed += _press(page, "Enter")            # added: the screen comes back with the line
        page.wait_for_selector("tbody.line[data-line='1']")
        while page.url.split("?")[0].endswith(f"/review/documents/{document_id}"):
            if pressed >= 20:
                raise BenchUnavailable(f"document {document_id}: not posted after {pressed} keys")
            pressed += _press(page, "Enter")        # the values needing a look, then Confirm
            page.wait_for_timeout(100)
        page.wait_for_load_state("load")
        seconds.append(time.perf_counter() - started)
        keys.append(pressed)
        say(f"  no lines read {number}/{len(ids)}: {pressed} keys, {seconds[-1]:.2f} s")
    for document_id in ids:
        doc = api.get(f"/api/v1/documents/{document_id}").json()
        if doc["status"] != "posted" or len(doc["extraction"]["lines"]) != 1:
            raise BenchUnavailable(f"document {document_id} ended {doc['status']} with "
                                   f"{len(doc['extraction']['lines'])} lines, not posted with the line added")
    return {"no_lines_keys_median": _whole(statistics.median(keys)), "no_lines_keys_max": max(keys),
            "no_lines_s_median": round(statistics.median(seconds), 3)}


def _big_queue(page, home: Path, size: int, loads: int = 5) -> dict:
    """The queue page with `size` more documents in the service's database (pipeline.bench.queue_seed, written
    straight into its SQLite file): from navigation start to the page loaded, and the server's part (to the
    response's end), medians of `loads` loads."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    from pipeline.bench.queue_seed import seed_queue
    say(f"adding {size} documents to the queue ...")
    engine = create_engine(f"sqlite:///{home / 'inbound.db'}")
    try:
        seed_queue(sessionmaker(engine), size)
    finally:
        engine.dispose()
    loaded, served = [], []
    for number in range(1, loads + 1):
        page.goto("/review/queue", wait_until="load")
        timing = page.evaluate("""() => { const n = performance.getEntriesByType('navigation')[0];
            return {load: n.loadEventEnd - n.startTime, response: n.responseEnd - n.startTime}; }""")
        loaded.append(timing["load"] / 1000)
        served.append(timing["response"] / 1000)
        say(f"  queue of {size}+ documents {number}/{loads}: loaded after {loaded[-1]:.3f} s")
    rows = page.locator("#queue tbody tr[data-id]").count()
    return {"queue_documents": size, "queue_rows_shown": rows, "queue_load_s_median": round(statistics.median(loaded), 3),
            "queue_response_s_median": round(statistics.median(served), 3)}


def _check_posted(api: httpx.Client, ids: list[int], right: int) -> None:
    for document_id in ids:
        doc = api.get(f"/api/v1/documents/{document_id}").json()
        if doc["status"] != "posted":
            raise BenchUnavailable(f"document {document_id} ended {doc['status']}, not posted")
        line = doc["extraction"]["lines"][1]
        if "fix-" in (doc.get("filename") or "") and (str(line["product_match"]["id"]) != str(right)
                                                     or line["product_match"].get("uom_factor") != PACK):
            raise BenchUnavailable(f"document {document_id} was posted with the wrong product or pack size")


def _print(f: dict) -> None:
    print(f"review bench: {f['browser']} at {f['viewport']}, medians of {f['documents_each']} documents each")
    print(f"  confirm a clean document:  {f['clean_keys_median']} key, {f['clean_s_median']} s "
          f"(max {f['clean_s_max']} s)")
    print(f"  fix one product match:     {f['fix_keys_median']} keys (the first: {f['fix_keys_first']}, with the pack "
          f"size), {f['fix_s_median']} s "
          f"(max {f['fix_s_max']} s; right product already on top in {f['fix_right_product_on_top']})")
    print(f"  5-page PDF ({f['five_page_lines']} lines) usable after {f['five_page_usable_s_median']} s "
          f"(max {f['five_page_usable_s_max']} s)")
    print(f"  a receipt with no lines read: a line added, matched and posted in {f['no_lines_keys_median']} keys "
          f"(max {f['no_lines_keys_max']}), {f['no_lines_s_median']} s")
    print(f"  queue with {f['queue_documents']} more documents: loaded after {f['queue_load_s_median']} s "
          f"(server {f['queue_response_s_median']} s; {f['queue_rows_shown']} rows on its first page)")
