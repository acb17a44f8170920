"""Lines on the review screen in a real browser (issue 17): a receipt read without lines gets a line added (the
chooser offers the open PO lines first), matched and posted from the keyboard; lines are split and deleted; a
product is created from an unmatched line with its supplier link; the proposed new supplier is created, another
one picked by search; the product search shows its list while typing.

Playwright drives Debian's chromium against a real uvicorn on loopback, as tests/test_review_ui.py does (its
Server and helpers); these skip where those skip.  Screenshots go to tmp_path/screenshots (and to
$INBOUND_TEST_ARTIFACTS when set).
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from lines_support import receipt_without_lines, unknown_supplier_invoice
from service_support import MASTER
from test_review_ui import CLERK, _login, _page, browser, served, shots  # noqa: F401 (fixtures)

from playwright.sync_api import expect  # noqa: E402  (test_review_ui skips the module without it)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The electronics master with its supplier-product links and purchase orders (PO-4898: 2 reels of EL-RES-10K
    at 21.50, 10 packs of EL-CAP-0603-100N at 3.75)."""
    for running in served(tmp_path_factory.mktemp("review-ui-lines")):
        for kind in ("supplier_products", "purchase_orders"):
            path = MASTER / "electronics" / f"{kind}.csv"
            answer = running.api.post("/api/v1/master/import", files={"file": (path.name, path.read_bytes())},
                                      data={"kind": kind})
            assert answer.status_code == 200, answer.text
        yield running


def _upload(server, name: str, data: bytes) -> int:
    doc_id = server.upload(name, data)
    server.wait_read()
    return doc_id


def _doc(server, doc_id: int) -> dict:
    return server.api.get(f"/api/v1/documents/{doc_id}").json()


def _value(line: dict, key: str):
    cell = line.get(key)
    return cell.get("value") if isinstance(cell, dict) else cell


def _open(page, doc_id: int) -> None:
    page.goto(f"/review/documents/{doc_id}")
    expect(page.locator("#review-form")).to_be_visible()


def test_a_receipt_without_lines_gets_a_line_added_matched_and_posted_by_keyboard(server, browser, shots):
    doc_id = _upload(server, "GRN-8001.pdf", receipt_without_lines("GRN-8001"))
    assert _doc(server, doc_id)["extraction"]["lines"] == []
    context, page, dialogs = _page(browser, server)
    _login(page)
    _open(page, doc_id)
    expect(page.locator("#no-lines")).to_be_visible()
    expect(page.locator("#add-line")).to_be_visible()
    page.screenshot(path=str(shots / "no-lines.png"), full_page=True)
    keys = 0

    def press(key: str) -> None:
        nonlocal keys
        keys += 1
        page.keyboard.press(key)

    press("a")                                            # the new line, its product chooser focused …
    expect(page.locator("#add-line-dialog")).to_be_visible()
    expect(page.locator("#add-product")).to_be_focused()
    options = page.locator("#add-found li")
    expect(options.first).to_be_visible()                 # … offering the open lines of PO-4898 first
    expect(options.first).to_contain_text("EL-RES-10K")
    expect(options.first).to_contain_text("PO-4898 / 1")
    page.screenshot(path=str(shots / "add-line-chooser.png"), full_page=True)
    press("Enter")                                        # picked: unit, price, open quantity filled in
    expect(page.locator("#add-quantity")).to_be_focused()
    expect(page.locator("#add-quantity")).to_have_value("2")
    expect(page.locator("#add-unit")).to_have_value("reel")
    expect(page.locator("#add-price")).to_have_value("21.5")
    page.screenshot(path=str(shots / "add-line-filled.png"), full_page=True)
    press("Enter")                                        # added
    expect(page.locator(".message")).to_contain_text("Line added")
    expect(page.locator("tbody.line[data-line='1']")).to_be_visible()
    expect(page.locator("tbody.line[data-line='1'] td.amount")).to_contain_text("43.00")
    expect(page.locator("tbody.line[data-line='1'] .po")).to_contain_text("PO-4898 / 1")
    page.screenshot(path=str(shots / "line-added.png"), full_page=True)
    while "/review/documents/" in page.url and keys < 12 and not page.locator(".message", has_text="Posted").count():
        before = page.url
        press("Enter")                                    # the values needing a look (if any), then Confirm
        page.wait_for_timeout(150)
        if page.url != before:
            break
    page.wait_for_load_state()
    expect(page.locator(".message")).to_contain_text("Posted")
    print(f"no-lines receipt: line added, matched and posted in {keys} keys")
    assert keys <= 12, keys
    doc = _doc(server, doc_id)
    assert doc["status"] == "posted"
    [line] = doc["extraction"]["lines"]
    assert line["product_match"]["method"] == "manual" and line["po_line"] == {"po_number": "PO-4898", "line_no": 1}
    resistor = server.api.get("/api/v1/products", params={"sku": "EL-RES-10K"}).json()["items"][0]["id"]
    stock = server.api.get("/api/v1/stock", params={"product_id": resistor}).json()
    assert [m for m in stock["moves"] if m.get("document_id") == doc_id and Decimal(m["quantity"]) == 10000]
    assert [c for c in doc["history"] if c["path"] == "lines.1" and c["who"] == CLERK[0]]
    assert dialogs == []
    context.close()


def test_lines_are_split_and_deleted_on_the_screen(server, browser, shots):
    doc_id = _upload(server, "GRN-8002.pdf", receipt_without_lines("GRN-8002", currency="GBP"))
    capacitor = server.api.get("/api/v1/products", params={"sku": "EL-CAP-0603-100N"}).json()["items"][0]["id"]
    answer = server.api.patch(f"/api/v1/documents/{doc_id}", json={"lines": [
        {"add": True, "product_id": capacitor, "quantity": "10", "unit": "pack", "unit_price": "3.75"},
        {"add": True, "description": "Packing material", "quantity": "1", "unit_price": "5.00"}]})
    assert answer.status_code == 200, answer.text
    context, page, _ = _page(browser, server)
    _login(page)
    _open(page, doc_id)
    expect(page.locator("td.amount").first).to_contain_text("37.50 GBP")       # money with its currency
    line = page.locator("tbody.line[data-line='1']")
    line.locator("details.split-line summary").click()
    expect(line.locator("input.split-qty")).to_be_focused()
    page.screenshot(path=str(shots / "split-open.png"), full_page=True)
    page.keyboard.type("4")
    page.keyboard.press("Enter")
    expect(page.locator(".message")).to_contain_text("Line split")
    expect(page.locator("input[name='l.1.quantity']")).to_have_value("6")
    expect(page.locator("input[name='l.3.quantity']")).to_have_value("4")
    expect(page.locator("tbody.line[data-line='3'] td.amount")).to_contain_text("15.00")
    expect(page.locator("tbody.line[data-line='3'] select.product")).to_have_value(str(capacitor))
    page.locator("tbody.line[data-line='2'] button.delete-line").click()
    expect(page.locator(".message")).to_contain_text("Line deleted")
    expect(page.locator("tbody.line[data-line='2']")).to_have_count(0)
    page.screenshot(path=str(shots / "split-deleted.png"), full_page=True)
    doc = _doc(server, doc_id)
    assert sorted(x["line_no"] for x in doc["extraction"]["lines"]) == [1, 3]
    paths = {c["path"]: c for c in doc["history"]}
    assert paths["lines.2"]["after"] is None and paths["lines.2"]["who"] == CLERK[0]
    assert (paths["lines.1.quantity"]["before"], paths["lines.1.quantity"]["after"]) == ("10", "6")
    page.fill("#reason", "checked")                       # Enter in the reason submits as before (Confirm) …
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    expect(page.locator(".message")).not_to_contain_text("deleted")        # … never a line's delete button
    assert sorted(x["line_no"] for x in _doc(server, doc_id)["extraction"]["lines"]) == [1, 3]
    context.close()


def test_a_product_is_created_from_an_unmatched_line(server, browser, shots):
    doc_id = _upload(server, "GRN-8003.pdf", receipt_without_lines("GRN-8003"))
    context, page, _ = _page(browser, server)
    _login(page)
    _open(page, doc_id)
    page.click("#add-line")
    page.fill("#add-product", "Ferrite bead 600R 0402")
    expect(page.locator("#add-found li").first).to_be_visible()    # only look-alikes: none of them
    page.keyboard.press("Escape")                         # the list closes, the new line stays open
    expect(page.locator("#add-found")).to_be_hidden()
    expect(page.locator("#add-line-dialog")).to_be_visible()
    page.keyboard.press("Enter")                          # nothing picked: the text is the line's description
    expect(page.locator("#add-quantity")).to_be_focused()
    expect(page.locator("#add-description")).to_have_value("Ferrite bead 600R 0402")
    page.keyboard.type("3")
    page.fill("#add-unit", "reel")
    page.fill("#add-price", "12.00")
    page.keyboard.press("Enter")
    expect(page.locator(".message")).to_contain_text("Line added")
    line = page.locator("tbody.line[data-line='1']")
    line.locator("details.new-product summary").click()
    expect(line.locator("input[name='np.1.name']")).to_have_value("Ferrite bead 600R 0402")
    expect(line.locator("input[name='np.1.unit']")).to_have_value("reel")
    line.locator("input[name='np.1.sku']").fill("EL-FB-0402")
    line.locator("input[name='np.1.unit']").fill("pcs")
    line.locator("input[name='np.1.factor']").fill("10000")
    line.locator("input[name='np.1.supplier_sku']").fill("BL-FB-600")
    page.screenshot(path=str(shots / "create-product.png"), full_page=True)
    line.locator("button.create-product").click()
    expect(page.locator(".message")).to_contain_text("Product created")
    product = server.api.get("/api/v1/products", params={"sku": "EL-FB-0402"}).json()["items"][0]
    expect(page.locator("select[name='l.1.product_id']")).to_have_value(str(product["id"]))
    expect(page.locator("input[name='l.1.uom_factor']")).to_have_value("10000")
    expect(page.locator("tbody.line[data-line='1'] details.new-product")).to_have_count(0)
    page.screenshot(path=str(shots / "product-created.png"), full_page=True)
    from models.tables import SupplierProduct
    with server.app.state.services.factory() as session:
        link = session.scalars(select(SupplierProduct).where(SupplierProduct.product_id == product["id"])).one()
    assert (link.supplier_sku, link.unit, link.factor) == ("BL-FB-600", "reel", Decimal(10000))
    assert product["name"] == "Ferrite bead 600R 0402" and product["unit"] == "pcs"
    context.close()


def test_the_proposed_supplier_is_created_or_an_existing_one_picked(server, browser, shots):
    doc_id = _upload(server, "NW-6001.pdf", unknown_supplier_invoice("NW-6001"))
    context, page, _ = _page(browser, server)
    _login(page)
    _open(page, doc_id)
    section = page.locator("#new-supplier")
    expect(section).to_be_visible()
    expect(page.locator("#ns-name")).to_have_value("Northwind Trading Ltd.")
    expect(page.locator("#ns-tax_id")).to_have_value("GB987654321")
    expect(page.locator("#ns-phone")).to_have_value("+44 113 496 0000")
    expect(page.locator("#ns-bank_account")).to_have_value("GB82WEST12345698765432")
    page.screenshot(path=str(shots / "proposed-supplier.png"), full_page=True)
    page.fill("#ns-name", "Northwind Trading Limited")
    page.click("#create-supplier")
    expect(page.locator(".message")).to_contain_text("Supplier created")
    expect(page.locator("#new-supplier")).to_have_count(0)
    supplier = server.api.get("/api/v1/suppliers", params={"tax_id": "GB987654321"}).json()["items"][0]
    assert supplier["name"] == "Northwind Trading Limited"
    assert _doc(server, doc_id)["supplier_id"] == supplier["id"]

    other = _upload(server, "BX-1.pdf", unknown_supplier_invoice("BX-1", name="Brite-Line Comps", tax_id="GB555"))
    _open(page, other)
    page.fill("#supplier-search", "bright")
    found = page.locator("#supplier-found li")
    expect(found.first).to_be_visible()
    expect(found.first).to_contain_text("Brightline Components Ltd.")
    page.screenshot(path=str(shots / "pick-supplier.png"), full_page=True)
    page.keyboard.press("Enter")
    expect(page.locator("#pick-supplier")).to_be_enabled()
    page.click("#pick-supplier")
    expect(page.locator(".message")).to_contain_text("Supplier set")
    brightline = server.api.get("/api/v1/suppliers", params={"tax_id": "GB123456782"}).json()["items"][0]
    assert _doc(server, other)["supplier_id"] == brightline["id"]
    context.close()


def test_the_product_search_shows_its_list_while_typing(server, browser, shots):
    doc_id = _upload(server, "NW-6002.pdf", unknown_supplier_invoice("NW-6002", name="Someone Else Ltd", tax_id="GB777"))
    context, page, _ = _page(browser, server)
    _login(page)
    _open(page, doc_id)
    search = page.locator("input.product-search[data-for='l.1.product_id']")
    search.click()
    page.keyboard.type("0603")
    found = page.locator("#found-1 li")
    expect(found.first).to_be_visible()                    # the list shows, under the box
    assert found.count() >= 2
    box, under = search.bounding_box(), page.locator("#found-1").bounding_box()
    assert under["y"] >= box["y"] + box["height"] - 2 and under["height"] > 20
    page.screenshot(path=str(shots / "search-list.png"), full_page=True)
    second = found.nth(1).inner_text()
    page.keyboard.press("ArrowDown")
    expect(found.nth(1)).to_have_class(re.compile(r"\bactive\b"))
    page.keyboard.press("Enter")
    expect(page.locator("#found-1")).to_be_hidden()
    sku = second.split()[0]
    product = server.api.get("/api/v1/products", params={"sku": sku}).json()["items"][0]
    expect(page.locator("select[name='l.1.product_id']")).to_have_value(str(product["id"]))
    expect(page.locator("tbody.line[data-line='1']")).to_have_attribute("data-converted", str(product["id"]))
    search.click()
    page.keyboard.type("LED")
    expect(found.first).to_be_visible()
    found.first.click()                                    # a click picks too
    expect(page.locator("#found-1")).to_be_hidden()
    context.close()


def _english_left(page, selector: str) -> str:
    """The text of `selector` without the printed supplier data (translate="no") and key names."""
    text = page.locator(selector).evaluate(
        "d => { const c = d.cloneNode(true); c.querySelectorAll('[translate=no]').forEach(e => e.remove());"
        " c.querySelectorAll('input, textarea').forEach(e => e.remove()); return c.textContent; }")
    return " ".join(re.findall(r"[A-Za-z]{2,}", re.sub(r"\b(Enter|Esc)\b", "", text)))


def test_the_lines_area_in_chinese(server, browser, shots):
    doc_id = _upload(server, "GRN-8004.pdf", receipt_without_lines("GRN-8004"))
    other = _upload(server, "ZH-1.pdf", unknown_supplier_invoice("ZH-1", name="Zhang Imports Ltd", tax_id="GB888"))
    server.api.patch(f"/api/v1/documents/{other}", json={"lines": [{"add": True, "description": "Gadget QQ",
                                                                   "quantity": "2", "unit_price": "1.50"}]})
    context, page, _ = _page(browser, server, locale="zh-CN")
    _login(page)
    _open(page, doc_id)
    expect(page.locator("#add-line")).to_contain_text("添加明细")
    expect(page.locator("#no-lines")).to_contain_text("未从此单据识别出明细")
    page.keyboard.press("a")
    expect(page.locator("#add-found li").first).to_be_visible()
    assert _english_left(page, "#add-line-dialog") == ""
    page.screenshot(path=str(shots / "add-line-zh.png"), full_page=True)
    _open(page, other)
    expect(page.locator("#new-supplier h2")).to_have_text("建议新建的供应商")
    page.locator("tbody.line details.new-product summary").last.click()
    for selector in ("#lines", "#new-supplier"):
        assert _english_left(page, selector) == "", selector
    page.screenshot(path=str(shots / "lines-zh.png"), full_page=True)
    context.close()
