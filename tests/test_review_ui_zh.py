"""The review screen in zh-CN shows no English (Playwright driving Debian's chromium, a real uvicorn on loopback):
an admin and a clerk, each with a chromium in locale zh-CN (the UI picks Chinese from Accept-Language), visit
every page reachable from the nav, the admin tabs and the queue (its status tabs, every document: invoices with
PO issues, a duplicate, one with unmatched lines and wrong sums, a Chinese VAT invoice, a delivery note, a
receipt, a failed file), the approvals list with a document waiting, the stock view, the login, a missing
document and the admin page a clerk may not open.  On each, every text node, button label, placeholder, title,
aria-label, alt and option text outside elements marked translate="no" (printed supplier data) is read, and a
Latin-letter word of 2+ letters fails the test unless it is

- a code: all capitals, or with a digit (CNY, GBP, PO-4898, INV-88213, EL-RES-10K, F1, INBOUND_MODEL),
- a unit a master or a document counts in (pcs, kg, ml, ...),
- a key's name as printed on the keyboard (Enter, Esc, Tab, Shift), or
- the product's name, Inbound.

Screenshots of every page go to tmp_path/screenshots (and $INBOUND_TEST_ARTIFACTS when set).  The failure lists
each English word with the page and the element it sits in.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest

from review_ui.issue_texts import MESSAGES
from service_support import DEMO, MASTER
from test_review_ui import Server, _login, browser, shots  # noqa: F401 (fixtures)

ADMIN = ("ada", "admin-password-1")
CLERK = ("chen", "clerk-password-1")
APPROVER = ("abe", "approver-password-1")
UNITS = frozenset({"pcs", "pc", "kg", "mg", "ml", "cm", "mm", "km", "lb", "oz", "box", "boxes", "pack", "packs",
                   "reel", "reels", "roll", "rolls", "set", "sets", "pair", "pairs", "doz", "ea", "ctn"})
KEYS = frozenset({"Enter", "Esc", "Tab", "Shift", "Ctrl", "Alt", "Space", "Backspace", "Delete", "Del", "Home",
                  "End", "PgUp", "PgDn", "Cmd"})       # printed on the keys themselves
ALLOWED = UNITS | KEYS | {"Inbound"}
RAW_CODES = sorted(code for code in MESSAGES if "_" in code)    # an issue or failure code shown as it is stored
SKIP_PATH = re.compile(r"\.(png|jpe?g|pdf|xlsx|xls|csv|json|ofd|xml|js|css)$|/(pages|words|original|download|file|"
                       r"export|static|conversion|products)\b|/api/")

# every text a person reads on the page, outside translate="no": [where, text]
COLLECT = r"""() => {
  const out = [];
  const skipped = (el) => !!el.closest('[translate="no"], script, style, noscript, template');
  const where = (el) => {
    const parts = [];
    for (let e = el; e && e.nodeType === 1 && parts.length < 4; e = e.parentElement) {
      let p = e.tagName.toLowerCase();
      if (e.id) p += '#' + e.id; else if (e.classList.length) p += '.' + [...e.classList].join('.');
      parts.unshift(p);
      if (e.id) break;
    }
    return parts.join(' > ');
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || skipped(el) || !n.textContent.trim()) continue;
    if (el.tagName === 'OPTION' || el.tagName === 'TEXTAREA') continue;     // options below; textarea: a value
    let text = n.textContent.trim();
    if (el.matches('.who[data-name]')) text = text.replace(el.dataset.name, '');  // who is signed in: a name
    out.push([where(el), text]);
  }
  for (const el of document.querySelectorAll('[placeholder], [title], [aria-label], [alt], option, ' +
                                             'input[type=submit], input[type=button], input[type=reset]')) {
    if (skipped(el)) continue;
    for (const name of ['placeholder', 'title', 'aria-label', 'alt']) {
      if (el.hasAttribute(name) && el.getAttribute(name).trim()) out.push([where(el) + ' @' + name, el.getAttribute(name)]);
    }
    if (el.tagName === 'OPTION' && el.textContent.trim()) out.push([where(el), el.textContent.trim()]);
    if (el.tagName === 'INPUT' && el.value) out.push([where(el) + ' @value', el.value]);
  }
  out.push(['title', document.title]);
  return out;
}"""

WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_./'][A-Za-z0-9]+)*")


def english_words(text: str) -> list[str]:
    """The Latin-letter words of 2+ letters in `text` that are not a code, a unit or the product's name."""
    found = []
    for word in WORD.findall(text):
        letters = re.sub(r"[^A-Za-z]", "", word)
        if len(letters) < 2 or word in ALLOWED or word.lower() in UNITS:
            continue
        if any(c.isdigit() for c in word) or word.upper() == word:
            continue                                   # a code (SKU, PO, document number), an acronym or currency
        found.append(word)
    return found


def _copy_of(name: str, producer: str) -> bytes:
    """The same document saved again (new bytes, same printed content)."""
    import io

    import pikepdf
    with pikepdf.open(io.BytesIO((DEMO / name).read_bytes())) as pdf:
        pdf.docinfo["/Producer"] = producer
        out = io.BytesIO()
        pdf.save(out)
    return out.getvalue()


def _invoice_with_many_issues() -> bytes:
    """A Brightline invoice on PO-4898: a line no product matches, one over the order, one that does not add
    up, and a total that is not the lines' sum."""
    from fpdf import FPDF
    pdf = FPDF(unit="pt", format="A4")
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    head = ["Brightline Components Ltd.", "14 Canal Road, Manchester M1 2AB", "VAT GB123456782", "",
            "Invoice INV-5501", "Invoice date: 2026-03-02", "PO Number: PO-4898"]
    for i, row in enumerate(head):
        pdf.text(50, 60 + 16 * i, row)
    table = [("Description", "Qty", "Unit", "Unit price", "Amount"),
             ("Resistor 10k 0.25W (reel of 5000)", "2", "reel", "21.50", "43.00"),
             ("Capacitor 100nF X7R 0603", "14", "pack", "3.75", "52.50"),
             ("Mystery gadget XJ", "3", "pcs", "5.00", "16.00")]
    for i, cells in enumerate(table):
        y = 200 + 16 * i
        pdf.text(50, y, cells[0])
        pdf.text(345, y, cells[2])
        for x, cell in zip((330, 440, 510), (cells[1], cells[3], cells[4])):
            pdf.text(x - pdf.get_string_width(cell), y, cell)
    for i, row in enumerate(("Subtotal GBP 111.50", "VAT GBP 22.30", "Total GBP 150.00")):
        pdf.text(510 - pdf.get_string_width(row), 280 + 16 * i, row)
    return bytes(pdf.output())


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    """A service with both masters, an admin, a clerk and an approver, and documents of every kind: one posted
    (stock), one waiting for approval, the rest in review, one failed."""
    with Server(tmp_path_factory.mktemp("review-ui-zh")) as server:
        for folder in ("electronics", "food"):
            for kind in ("suppliers", "products", "supplier_products", "purchase_orders"):
                path = MASTER / folder / f"{kind}.csv"
                answer = server.api.post("/api/v1/master/import", files={"file": (path.name, path.read_bytes())},
                                         data={"kind": kind})
                assert answer.status_code == 200, answer.text
        for name, password, role in (ADMIN + ("admin",), CLERK + ("clerk",), APPROVER + ("approver",)):
            answer = server.api.post("/api/v1/users", json={"username": name, "password": password, "role": role})
            assert answer.status_code in (200, 201), answer.text
        answer = server.api.post("/api/v1/api-keys", json={"name": "erp-sync", "role": "integration"})
        assert answer.status_code == 201, answer.text            # rows for the keys and webhooks tabs
        answer = server.api.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "allow_private": True,
                                                            "events": ["document.extracted", "receipt.posted"]})
        assert answer.status_code == 201, answer.text
        docs = {"posted": server.upload("INV-88213.pdf"), "many": server.upload("INV-5501.pdf", _invoice_with_many_issues())}
        server.wait_read()
        rate = {"fields": {"exchange_rate": "9.1"}}             # GBP invoices; the stock is kept in CNY
        assert server.api.patch(f"/api/v1/documents/{docs['posted']}", json=rate).status_code == 200
        answer = server.api.post(f"/api/v1/documents/{docs['posted']}/confirm")
        assert answer.status_code == 200, answer.text
        docs["again"] = server.upload("INV-88213-again.pdf", _copy_of("INV-88213.pdf", "second copy"))
        docs["waiting"] = server.upload("INV-88213-third.pdf", _copy_of("INV-88213.pdf", "third copy"))
        for name in ("cn-vat-demo.pdf", "cn-delivery-demo.pdf", "RE-2026-0412.pdf"):
            docs[name] = server.upload(name)
        docs["failed"] = server.upload("broken.pdf", b"%PDF-1.4 not really a pdf")
        server.wait_read()
        assert len(set(docs.values())) == len(docs), docs
        assert server.api.patch(f"/api/v1/documents/{docs['waiting']}", json=rate).status_code == 200
        server.docs = docs
        yield server




def _zh_page(browser, server):
    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="zh-CN", base_url=server.base)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("dialog", lambda d: d.dismiss())
    return context, page



class Check:
    """Visits pages, screenshots each, and gathers the English words they show."""

    def __init__(self, page, shots, who: str) -> None:
        self.page, self.shots, self.who = page, shots, who
        self.seen: set[str] = set()
        self.found: list[str] = []

    def visit(self, path: str, name: str | None = None, status: int = 200) -> bool:
        answer = self.page.goto(path)
        if answer is None:
            return False
        if answer.status != status:
            self.found.append(f"{self.who} {name or path} | page | HTTP {answer.status} | {path!r}")
        if "text/html" not in (answer.headers.get("content-type") or ""):
            return False
        self.page.wait_for_load_state("networkidle")
        self.read(name or path)
        return True

    def read(self, name: str) -> None:
        label = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-") or "page"
        self.page.screenshot(path=str(self.shots / f"{self.who}-{label}.png"), full_page=True)
        assert self.page.evaluate("document.documentElement.lang") == "zh-CN", name
        shown = self.page.evaluate("document.body.innerText")          # translate="no" parts too
        for code in RAW_CODES:
            if re.search(rf"(?<![A-Za-z0-9_]){code}(?![A-Za-z0-9_])", shown):
                self.found.append(f"{self.who} {name} | body (raw issue code) | {code} | {code!r}")
        for where, text in self.page.evaluate(COLLECT):
            words = english_words(text)
            if words:
                self.found.append(f"{self.who} {name} | {where} | {' '.join(words)} | {text[:120]!r}")

    def crawl(self, start: list[str], limit: int = 60) -> None:
        """The start pages and every /review page their links lead to (not files, not the API)."""
        todo = list(start)
        while todo and len(self.seen) < limit:
            path = todo.pop(0)
            key = path.split("#")[0]
            if key in self.seen or SKIP_PATH.search(urlparse(key).path):
                continue
            self.seen.add(key)
            if not self.visit(key):
                continue
            for href in self.page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))"):
                target = urlparse(href)
                if (not target.netloc and target.path.startswith("/review/") and href.split("#")[0] not in self.seen
                        and "m=" not in target.query):
                    todo.append(href.split("#")[0])


def _send_for_approval(browser, server, shots) -> list[str]:
    """The clerk confirms the third copy of INV-88213: it receives beyond PO-4898 and waits for an approver; the
    page that tells so is read too."""
    context, page = _zh_page(browser, server)
    _login(page, CLERK)
    document_id = server.docs["waiting"]
    page.goto(f"/review/documents/{document_id}")
    page.click("#confirm")
    page.wait_for_url(lambda url: f"/review/documents/{document_id}" not in url or "m=" in url)
    check = Check(page, shots, "clerk")
    check.read("after-confirm")
    context.close()
    status = server.api.get(f"/api/v1/documents/{document_id}").json()["status"]
    assert status == "confirmed", status
    return check.found


def test_the_admin_and_the_clerk_see_no_english_in_zh_cn(desk, browser, shots):
    found = _send_for_approval(browser, desk, shots)

    context, page = _zh_page(browser, desk)
    check = Check(page, shots, "login")
    check.visit("/review/login", "login")
    page.fill("input[name=username]", "nobody")
    page.fill("input[name=password]", "wrong-password")
    page.click("form.login button[type=submit]")
    page.wait_for_load_state("networkidle")
    check.read("login-failed")
    found += check.found
    context.close()

    context, page = _zh_page(browser, desk)
    _login(page, ADMIN)
    admin = Check(page, shots, "admin")
    starts = ["/review/queue", "/review/stock", "/review/approvals", "/review/admin/users", "/review/admin/keys",
              "/review/admin/webhooks", "/review/admin/learned", "/review/admin/models"]
    starts += page.eval_on_selector_all("header nav a[href]", "els => els.map(e => e.getAttribute('href'))")
    starts += [f"/review/documents/{i}" for i in desk.docs.values()]
    starts += [f"/review/queue?status={s}" for s in ("needs_review", "ready", "confirmed", "posted", "failed",
                                                     "rejected")]
    admin.crawl(starts)
    for document_id in (desk.docs["many"], desk.docs["again"]):
        admin.visit(f"/review/documents/{document_id}")
        page.keyboard.press("?")                       # the shortcuts list
        page.wait_for_timeout(200)
        admin.read(f"document-{document_id}-help")
    admin.visit("/review/documents/999999", "missing", status=404)
    found += admin.found
    visited = admin.seen
    context.close()

    context, page = _zh_page(browser, desk)
    _login(page, CLERK)
    clerk = Check(page, shots, "clerk")
    clerk.crawl(["/review/queue", "/review/stock", *[f"/review/documents/{i}" for i in desk.docs.values()]],
                limit=25)
    clerk.visit("/review/admin/users", "admin-forbidden", status=403)
    found += clerk.found
    context.close()

    for wanted in ("/review/queue", "/review/stock", "/review/approvals", "/review/admin/users",
                   "/review/admin/models", f"/review/documents/{desk.docs['many']}"):
        assert wanted in visited, wanted
    assert not found, "English words on zh-CN pages (who page | element | words | text):\n" + _summary(found)


def _summary(found: list[str]) -> str:
    """One line per element and words, with the first page it was seen on and how many pages show it."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for line in found:
        page, where, words, text = line.split(" | ", 3)
        grouped.setdefault((re.sub(r"\d+", "N", where), words), []).append(f"{page} | {text}")
    return "\n".join(f"{places[0].split(' | ')[0]} (+{len(places) - 1} more) | {where} | {words} | "
                     f"{places[0].split(' | ', 1)[1]}" for (where, words), places in grouped.items())


def test_issue_messages_are_chinese_without_raw_codes(desk, browser, shots):
    """The documents' issues (a line no product matches, wrong sums, a PO over-receipt, a duplicate) are listed
    in Chinese with their values, and no issue code is on screen."""
    context, page = _zh_page(browser, desk)
    _login(page, CLERK)
    codes, shown = [], ""
    for key in ("many", "posted", "again"):
        page.goto(f"/review/documents/{desk.docs[key]}")
        issues = page.locator("#issues li")
        these = [issues.nth(i).get_attribute("data-code") for i in range(issues.count())]
        text = page.locator("#issues").inner_text()
        page.locator("#issues").screenshot(path=str(shots / f"issues-{key}.png"))
        for code in these:
            assert code not in text, code
        plain = page.locator("#issues").evaluate(
            "el => { const c = el.cloneNode(true); c.querySelectorAll('[translate=no]').forEach(x => x.remove());"
            " return c.textContent; }")
        assert not english_words(plain), (key, english_words(plain))
        codes += these
        shown += text + "\n"
    assert {"product_unmatched", "duplicate_document", "line_arithmetic"} <= set(codes), codes
    assert {"po_over_delivery", "invoice_exceeds_receipt", "po_price_variance"} & set(codes), codes
    assert "没有商品与“Mystery gadget XJ”匹配" in shown and "PO-4898" in shown and "重复" in shown, shown
    assert "pick one or create it" not in shown and "invoiced" not in shown
    context.close()


def test_the_word_rule():
    assert english_words("PO-4898 CNY 10 pcs INV-88213 EL-RES-10K F1 Inbound 收货审核 INBOUND_MODEL") == []
    assert english_words("needs review · clerk") == ["needs", "review", "clerk"]
    assert english_words("Webhook URL") == ["Webhook"]
