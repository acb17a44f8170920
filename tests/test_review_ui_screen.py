"""The document screen as a desk uses it (issue 17), in Debian's chromium through Playwright against a real uvicorn
on loopback (tests/test_review_ui.py's Server and helpers):

- an approver sees what the clerk changed (before -> after, who, when) and the amounts the changed values make;
- long values (addresses, bank accounts, names) are shown whole, never cut off;
- on a phone (390 px, chromium's mobile emulation) the page and only the values needing a look show, with large
  tap targets, no sideways scrolling, and the same keys on a hardware keyboard.

Screenshots go to tmp_path/screenshots (and to $INBOUND_TEST_ARTIFACTS when set).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:            # pragma: no cover - the test extra installs it
    sync_playwright = None
if (sync_playwright is None or not CHROMIUM.exists()) and os.environ.get("CI") != "true":
    pytest.skip("playwright or /usr/bin/chromium missing (scripts/browser.sh installs chromium)",
                allow_module_level=True)

from test_review_ui import CLERK, _login, _page, browser, served, shots  # noqa: E402,F401 (fixtures)

APPROVER = ("alma", "approver-password-1")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    for running in served(tmp_path_factory.mktemp("review-screen")):
        answer = running.api.post("/api/v1/users", json={"username": APPROVER[0], "password": APPROVER[1],
                                                         "role": "approver"})
        assert answer.status_code in (200, 201), answer.text
        yield running



def test_the_approver_sees_what_the_clerk_changed_and_the_amounts_it_makes(server, browser, shots):
    doc_id = server.upload("INV-88213.pdf")
    server.wait_read()
    line = server.api.get(f"/api/v1/documents/{doc_id}").json()["extraction"]["lines"][0]
    price = line["unit_price"]["value"]
    context, page, _ = _page(browser, server)
    _login(page)
    page.goto(f"/review/documents/{doc_id}")
    expect(page.locator("#changes")).to_have_count(0)            # nothing changed yet: no section
    page.fill("input[name='l.1.quantity']", "3")
    page.click("#save")
    page.wait_for_load_state()
    context.close()

    context, page, _ = _page(browser, server)
    _login(page, APPROVER)
    page.goto(f"/review/documents/{doc_id}")
    row = page.locator("#changes tr.change[data-path='lines.1.quantity']")
    expect(row).to_be_visible()
    expect(row.locator(".before")).to_have_text("2")
    expect(row.locator(".after")).to_have_text("3")
    expect(row.locator(".who")).to_have_text(CLERK[0])
    expect(row.locator(".when")).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d$"))
    now = page.locator("#recomputed li[data-line='1'] .now")
    expect(now).to_have_text(f"{3 * float(price):.2f}")          # 3 x 21.50, not the printed 43.00
    expect(page.locator("#recomputed .lines-total .now")).to_have_text(f"{3 * float(price) + 37.5:.2f}")
    page.screenshot(path=str(shots / "approver-changes.png"), full_page=True)
    context.close()
    server.api.post(f"/api/v1/documents/{doc_id}/reject", json={"reason": "test done"})


def test_long_values_are_shown_whole(server, browser, shots):
    doc_id = server.upload("RE-2026-0412.pdf")
    server.wait_read()
    context, page, _ = _page(browser, server, locale="zh-CN")
    _login(page)
    page.goto(f"/review/documents/{doc_id}")
    expect(page.locator("#review-form")).to_be_visible()
    cut = page.evaluate("""() => Array.from(document.querySelectorAll('.fields input, .fields textarea'))
        .filter((el) => el.value && (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 2))
        .map((el) => `${el.name}: ${el.value}`)""")
    assert cut == [], f"values cut off: {cut}"
    longest = page.evaluate("""() => Math.max(...Array.from(document.querySelectorAll('.fields textarea'))
        .map((el) => el.value.length), 0)""")
    assert longest > 28                                     # the address and bank account really are long
    page.screenshot(path=str(shots / "long-values.png"), full_page=True)
    context.close()
    server.api.post(f"/api/v1/documents/{doc_id}/reject", json={"reason": "test done"})


def test_a_phone_shows_the_page_and_only_what_needs_a_look(server, browser, shots):
    doc_id = server.upload("RE-2026-0412-scan.jpg")
    server.wait_read()
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=3, is_mobile=True,
                                  has_touch=True, locale="en-GB", base_url=server.base)
    page = context.new_page()
    page.set_default_timeout(10_000)
    _login(page)
    page.goto(f"/review/documents/{doc_id}")
    expect(page.locator(".page:not([hidden]) img")).to_have_js_property("complete", True)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390      # nothing to scroll sideways
    image = page.locator(".page:not([hidden]) img").bounding_box()
    assert image and image["y"] < 844 / 2 and image["width"] > 300                     # the page, on top, wide

    shown = page.evaluate("""() => Array.from(document.querySelectorAll('.field'))
        .filter((el) => el.offsetParent !== null).map((el) => el.dataset.name)""")
    needing = page.evaluate("""() => Array.from(document.querySelectorAll('.field.attention'))
        .map((el) => el.dataset.name)""")
    total = page.locator(".field").count()
    assert sorted(shown) == sorted(needing) and len(shown) < total
    small = page.evaluate("""() => Array.from(document.querySelectorAll('button, input, select, textarea, a'))
        .filter((el) => el.offsetParent !== null && el.type !== 'hidden' && el.closest('main'))
        .map((el) => [el.id || el.name || el.textContent.trim(), el.getBoundingClientRect().height])
        .filter(([, h]) => h < 44)""")
    assert small == [], f"tap targets under 44 px: {small}"
    page.screenshot(path=str(shots / "phone-document.png"), full_page=True)

    page.locator("#show-all").tap()
    assert page.evaluate("() => Array.from(document.querySelectorAll('.field')).every((el) => el.offsetParent)")
    page.screenshot(path=str(shots / "phone-all-values.png"), full_page=True)
    page.locator("#show-all").tap()

    page.evaluate("() => document.activeElement.blur()")    # a hardware keyboard: the same keys as on the desk
    page.keyboard.press("Enter")                  # something needs a look: Enter goes to it first
    assert page.evaluate("() => document.activeElement.hasAttribute('data-attention')")
    context.close()
    server.api.post(f"/api/v1/documents/{doc_id}/reject", json={"reason": "test done"})


def _skewed_scans() -> list[tuple[str, bytes, str]]:
    """The demo invoice scanned turned by 1.8 degrees: as a JPEG, as an image-only PDF, and a phone photo."""
    import io
    import random

    import pypdfium2 as pdfium
    from PIL import Image

    from fixtures.make_scans import image_only_pdf
    from fixtures.synth_scan import scanned_variant
    from service_support import DEMO
    pdf = (DEMO / "INV-88213.pdf").read_bytes()
    page = pdfium.PdfDocument(pdf)[0]
    image = page.render(scale=200 / 72).to_pil().convert("L").rotate(1.8, expand=True, fillcolor=255,
                                                                     resample=Image.BICUBIC)
    out = io.BytesIO()
    image.save(out, "JPEG", dpi=(200, 200), quality=85)
    jpeg = out.getvalue()
    width, height = (v * 72 / 200 for v in image.size)
    return [("skewed.jpg", jpeg, "image/jpeg"), ("skewed-scan.pdf", image_only_pdf([jpeg], [(width, height)]),
                                                 "application/pdf"),
            ("photo.jpg", scanned_variant(pdf, random.Random(1), photo=True, seal=False), "image/jpeg")]


def test_boxes_sit_on_their_words_on_skewed_scans(server, browser, shots):
    """Each value's box, as the browser places it over the page image, covers the ink of its word: most of the
    dark pixels around it fall inside, and its middle is where the ink's middle is (within a quarter of its
    height), on a skewed JPEG, an image-only PDF of it and a phone photo."""
    import io

    import numpy as np
    from PIL import Image
    context, page, _ = _page(browser, server)
    _login(page)
    for name, data, mime in _skewed_scans():
        answer = server.api.post("/api/v1/documents", files={"file": (name, data, mime)})
        doc_id = answer.json()["id"]
        server.wait_read()
        page.goto(f"/review/documents/{doc_id}")
        expect(page.locator(".page:not([hidden]) img")).to_have_js_property("complete", True)
        png = page.request.get(f"/review/documents/{doc_id}/pages/1.png").body()
        ink = np.asarray(Image.open(io.BytesIO(png)).convert("L")) < 110
        placed = page.evaluate("""() => {
            const img = document.querySelector('.page:not([hidden]) img').getBoundingClientRect();
            return Array.from(document.querySelectorAll('.page:not([hidden]) .box')).map((box) => {
                const r = box.getBoundingClientRect();
                return {ref: box.dataset.ref, x0: (r.left - img.left) / img.width, y0: (r.top - img.top) / img.height,
                        x1: (r.right - img.left) / img.width, y1: (r.bottom - img.top) / img.height};
            });
        }""")
        h_px, w_px = ink.shape
        off = []
        for box in placed:
            x0, x1 = int(box["x0"] * w_px), int(box["x1"] * w_px)
            y0, y1 = int(box["y0"] * h_px), int(box["y1"] * h_px)
            h = y1 - y0
            side = max(3, h // 2)
            band = ink[y0:y1, max(0, x0 - side):x1 + side]          # the box's rows, a little wider
            if band.sum() < 20:
                continue
            across = ink[y0:y1, x0:x1].sum() / band.sum()           # shifted sideways: ink left outside
            top = max(0, y0 - h)
            rows = ink[top:y1 + h, x0:x1].sum(axis=1) > 0           # the text rows under the box's columns
            runs, start = [], None
            for y, on in enumerate([*rows, False]):
                if on and start is None:
                    start = y
                elif not on and start is not None:
                    runs.append((top + start, top + y))
                    start = None
            run = max(runs, key=lambda r: min(r[1], y1) - max(r[0], y0), default=None)
            covered = 0.0 if run is None else max(0, min(run[1], y1) - max(run[0], y0)) / (run[1] - run[0])
            if across < 0.85 or covered < 0.8:                      # shifted up or down: the row sticks out
                off.append((box["ref"], round(float(across), 2), round(covered, 2)))
        page.screenshot(path=str(shots / f"boxes-{name}.png"), full_page=True)
        assert len(placed) >= 10, f"{name}: only {len(placed)} boxes"
        assert len(off) <= len(placed) // 10, f"{name}: boxes off their words: {off}"
    context.close()
