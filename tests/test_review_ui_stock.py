"""The stock pages in a real browser (issue 17; Playwright on Debian's chromium against a real uvicorn, as
tests/test_review_ui.py): a GBP receipt posts only with its exchange rate (the clerk is told to enter it) and is
kept in the base currency CNY beside a CNY receipt of the same product, every value showing its currency; the
warehouse column is a per-warehouse breakdown; a food delivery's batches show their production and expiry dates
and the moves behind each; the near-expiry list (临期预警) applies each category's threshold set on the settings
page; move times are shown in the configured time zone; the zh-CN pages show no English outside supplier data.

Screenshots go to tmp_path/screenshots (and to $INBOUND_TEST_ARTIFACTS when set).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest

from models.company import save_settings
from models.db import transaction
from test_review_ui import CLERK, _login, _page, browser, served, shots  # noqa: F401 (fixtures)

from playwright.sync_api import expect  # noqa: E402 (test_review_ui skipped the module when it is missing)

ADMIN = ("ada", "admin-password-1")
# the food delivery note's lines (fixtures/demo/cn-delivery-demo.pdf) -> our product, its category, expiry in days
FOOD = {1: ("FD-SAUCE", "酱油 500ml", "瓶", "调味品", 200), 2: ("FD-APPLE", "苹果", "斤", "水果", 4),
        3: ("FD-POTATO", "土豆", "箱", "蔬菜", 20), 4: ("FD-RICE", "大米 5kg", "袋", "粮油", 20),
        5: ("FD-BEEF", "牛腩", "包", "肉类", -1)}
THRESHOLDS = "30; 水果=5; 粮油=10; 肉类=3"
ZONE = "America/New_York"
# text outside translate="no" elements of <main> (what a zh-CN page must show in Chinese)
UI_TEXT = """() => { const out = [];
  const walk = (n) => { if (n.nodeType === 3) { out.push(n.textContent); return; }
    if (n.nodeType !== 1 || n.getAttribute('translate') === 'no' || ['SCRIPT', 'STYLE'].includes(n.tagName)) return;
    for (const c of n.childNodes) walk(c); };
  walk(document.querySelector('main')); return out.join(' '); }"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    for running in served(tmp_path_factory.mktemp("review-ui-stock")):
        answer = running.api.post("/api/v1/users", json={"username": ADMIN[0], "password": ADMIN[1], "role": "admin"})
        assert answer.status_code in (200, 201), answer.text
        with transaction(running.app.state.services.factory) as session:    # whatever the environment says:
            save_settings(session, who="test", base_currency="CNY", exchange_rates={})   # CNY, no standing rate
        yield running



def _english_words(page) -> list[str]:
    return re.findall(r"[A-Za-z]{2,}", page.evaluate(UI_TEXT))


def _product(server, sku: str) -> int:
    return server.api.get("/api/v1/products", params={"sku": sku}).json()["items"][0]["id"]


def test_money_per_currency_gbp_with_its_rate_beside_cny(server, browser, shots):
    gbp = server.upload("INV-88213.pdf")                  # GBP; line 1: 2 reels of 5000 EL-RES-10K at 21.50
    cny = server.upload("cn-vat-demo.pdf")                # CNY
    server.wait_read()
    resistor = _product(server, "EL-RES-10K")
    lines = server.api.get(f"/api/v1/documents/{cny}").json()["extraction"]["lines"]
    fix = [{"line_no": line["line_no"], "batch_no": f"B-{line['line_no']}"} for line in lines]
    fix[1].update(product_id=resistor, uom_factor="1")    # the same product in CNY: the sum must be in one currency
    assert server.api.patch(f"/api/v1/documents/{cny}", json={"lines": fix}).status_code == 200
    cny_value = Decimal(lines[1]["quantity"]["value"]) * Decimal(lines[1]["unit_price"]["value"])

    context, page, dialogs = _page(browser, server)
    _login(page)
    page.goto(f"/review/documents/{gbp}")
    rate = page.locator("input[name='f.exchange_rate']")
    expect(rate).to_be_visible()                          # GBP is not the base currency: the rate is asked for
    expect(rate).to_have_value("")
    expect(rate).to_have_attribute("data-attention", "")   # … first of what needs a look: Enter goes there
    doc = server.api.get(f"/api/v1/documents/{gbp}").json()
    assert doc["status"] == "needs_review" and "exchange_rate_missing" in {i["code"] for i in doc["issues"]}
    expect(page.locator("#issues")).to_contain_text("enter the exchange rate")
    page.click("#confirm")
    page.wait_for_load_state()
    expect(page.locator(".message")).to_contain_text(
        "The document is in GBP and stock is kept in CNY: enter the exchange rate (CNY per 1 GBP)")
    page.screenshot(path=str(shots / "gbp-refused-without-rate.png"), full_page=True)
    assert server.api.get(f"/api/v1/documents/{gbp}").json()["status"] == "needs_review"
    assert server.api.get("/api/v1/stock", params={"sku": "EL-RES-10K"}).json()["moves"] == []

    page.fill("input[name='f.exchange_rate']", "9.2")
    page.click("#confirm")
    page.wait_for_load_state()
    expect(page.locator(".message")).to_contain_text("Posted")
    assert server.api.get(f"/api/v1/documents/{gbp}").json()["status"] == "posted"
    page.goto(f"/review/documents/{cny}")
    expect(page.locator("input[name='f.exchange_rate']")).to_have_count(0)   # CNY is the base: no rate to enter
    page.click("#confirm")
    page.wait_for_load_state()
    expect(page.locator(".message")).to_contain_text("Posted")

    page.goto("/review/stock")
    expect(page.locator("#base-currency")).to_have_text("CNY")
    row = page.locator("tr.product[data-sku='EL-RES-10K']")
    expected = (Decimal("43") * Decimal("9.2") + cny_value).quantize(Decimal("0.01"), ROUND_HALF_UP)
    expect(row.locator("td.value")).to_have_text(f"{expected:,.2f} CNY")
    expect(row.locator("td.on-hand")).to_have_text(f"{10000 + int(Decimal(lines[1]['quantity']['value']))} pcs")
    for cell in page.locator("#stock tr.product td.value").all():                # every value says its currency
        assert re.fullmatch(r"-?[\d,]+\.\d\d CNY", cell.inner_text().strip()), cell.inner_text()
    warehouse = row.locator("tr.warehouse[data-warehouse='MAIN']")
    expect(warehouse.locator("td.qty")).to_have_text(re.compile(r"^\d+ pcs$"))
    expect(warehouse.locator("td.money")).to_have_text(f"{expected:,.2f} CNY")
    assert not re.search(r"MAIN: \d+ pcs / \d", row.inner_text())
    page.locator("tr.product[data-sku='EL-RES-10K'] + tr.moves summary").click()
    moves = page.locator("tr.product[data-sku='EL-RES-10K'] + tr.moves")
    gbp_move = moves.locator(f"tr.move:has(a[href='/review/documents/{gbp}'])")
    expect(gbp_move.locator("td.doc-amount")).to_have_text("43.00 GBP × 9.2")
    expect(gbp_move.locator("td.num").nth(1)).to_have_text("395.60 CNY")
    page.screenshot(path=str(shots / "stock-currencies.png"), full_page=True)

    api = server.api.get("/api/v1/stock", params={"sku": "EL-RES-10K"}).json()
    assert api["currency"] == "CNY" and Decimal(api["value"]) == Decimal("395.6") + cny_value
    assert {m["document_currency"] for m in api["moves"]} == {"GBP", "CNY"}
    assert dialogs == []
    context.close()


def _food_delivery(server, today: date) -> int:
    doc = server.upload("cn-delivery-demo.pdf")
    server.wait_read()
    fix = []
    for line_no, (sku, name, unit, category, days) in FOOD.items():
        answer = server.api.post("/api/v1/products", json={"sku": sku, "name": name, "unit": unit,
                                                           "category": category, "batch_tracked": True})
        assert answer.status_code == 201, answer.text
        fix.append({"line_no": line_no, "product_id": answer.json()["id"], "uom_factor": "1",
                    "batch_no": f"LOT-{sku[3:]}-{line_no}",
                    "production_date": (today - timedelta(days=30)).isoformat(),
                    "expiry_date": (today + timedelta(days=days)).isoformat()})
    answer = server.api.patch(f"/api/v1/documents/{doc}", json={"lines": fix})
    assert answer.status_code == 200, answer.text
    return doc


def test_food_desk_batches_near_expiry_per_category_and_local_times(server, browser, shots):
    context, page, dialogs = _page(browser, server, locale="zh-CN")
    _login(page, ADMIN)
    page.goto("/review/settings")
    expect(page.locator("input[name=timezone]")).to_have_value("Asia/Shanghai")     # the default
    page.fill("input[name=timezone]", ZONE)
    page.fill("input[name=near_expiry_days]", THRESHOLDS)
    page.screenshot(path=str(shots / "settings-zh.png"), full_page=True)
    assert _english_words(page) == []
    page.click("#save-settings")
    page.wait_for_url(re.compile(r"/review/settings"))
    expect(page.locator(".message")).to_contain_text("设置已保存")
    page.fill("input[name=timezone]", "Mars/Olympus")
    page.click("#save-settings")
    expect(page.locator("#settings-error")).to_have_text("不是有效的时区: Mars/Olympus")
    assert _english_words(page) == []

    today = datetime.now(ZoneInfo(ZONE)).date()
    doc = _food_delivery(server, today)
    page.goto(f"/review/documents/{doc}")
    page.click("#confirm")
    page.wait_for_load_state()
    expect(page.locator(".message")).to_contain_text("已入库")
    assert server.api.get(f"/api/v1/documents/{doc}").json()["status"] == "posted"

    page.goto("/review/stock")
    expect(page.locator("#timezone")).to_contain_text(ZONE)
    apple = page.locator("tr.product[data-sku='FD-APPLE'] + tr.moves + tr.batches tr.batch")
    expect(apple).to_have_count(1)
    expect(apple.locator(".batch-no")).to_have_text("LOT-APPLE-2")
    expect(apple.locator(".produced")).to_have_text((today - timedelta(days=30)).isoformat())
    expect(apple.locator(".expiry")).to_contain_text((today + timedelta(days=4)).isoformat())
    expect(apple.locator(".expiry .tag")).to_have_text("临期")
    expect(apple.locator(".days")).to_have_text("4")
    behind = page.locator("tr.product[data-sku='FD-APPLE'] + tr.moves + tr.batches tr.batch + tr.batch-moves")
    behind.locator("summary").click()
    move = behind.locator("tr.move")
    expect(move).to_have_count(1)
    posted = server.api.get("/api/v1/stock", params={"sku": "FD-APPLE"}).json()["moves"][0]["posted_at"]
    local = datetime.fromisoformat(posted).astimezone(ZoneInfo(ZONE)).strftime("%Y-%m-%d %H:%M")
    expect(move.locator("td.when")).to_have_text(local)                               # not the UTC timestamp
    expect(move.locator("td.when time")).to_have_attribute("datetime", posted)
    assert local != datetime.fromisoformat(posted).strftime("%Y-%m-%d %H:%M")
    beef = page.locator("tr.product[data-sku='FD-BEEF'] + tr.moves + tr.batches tr.batch")
    expect(beef.locator(".expiry .tag")).to_have_text("已过期")
    page.screenshot(path=str(shots / "stock-batches-zh.png"), full_page=True)
    assert _english_words(page) == []

    page.click("#near-expiry-link")
    page.wait_for_url(re.compile(r"/review/stock/expiry"))
    rows = page.locator("#near-expiry tbody tr")
    # 肉类 3 days: beef (expired); 水果 5: the apples (4 days); 蔬菜 the default 30: potatoes (20); not the rice
    # (粮油 10 days, though 20 < 30) nor the soy sauce (200 days)
    expect(rows).to_have_count(3)
    assert [r.get_attribute("data-sku") for r in rows.all()] == ["FD-BEEF", "FD-APPLE", "FD-POTATO"]
    expect(page.locator("#near-expiry tr[data-sku='FD-BEEF'] .tag")).to_have_text("已过期")
    expect(page.locator("#near-expiry tr[data-sku='FD-APPLE'] td.days")).to_have_text("4")
    expect(page.locator("#near-expiry tr[data-sku='FD-APPLE'] td.num").last).to_have_text("5")
    expect(page.locator("#today")).to_have_text(today.isoformat())
    page.screenshot(path=str(shots / "near-expiry-zh.png"), full_page=True)
    assert _english_words(page) == []
    assert dialogs == []
    context.close()


def test_only_an_admin_changes_the_settings(server, browser, shots):
    context, page, _ = _page(browser, server)
    _login(page)                                          # the clerk
    page.goto("/review/settings")
    expect(page.locator("input[name=base_currency]")).to_have_attribute("readonly", "")
    expect(page.locator("#save-settings")).to_have_count(0)
    token = page.locator("input[name=csrf]").first.input_value()
    answer = page.request.post("/review/settings", form={"csrf": token, "base_currency": "GBP",
                                                         "timezone": "UTC", "near_expiry_days": "1"})
    assert answer.status == 403 and "Only an admin" in answer.text()
    page.screenshot(path=str(shots / "settings-clerk.png"), full_page=True)
    context.close()
