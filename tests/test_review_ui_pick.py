"""Click to pick on the review screen: with a field focused, a click on a word of the page image fills it, a drag
over several words fills it with them in reading order, and saving sends where each value was picked
(`source.fields.NAME` / `source.lines.N.FIELD`) so that the history and the layout hints learn it.

The browser tests drive Debian's chromium through Playwright against a real uvicorn on loopback, as
tests/test_review_ui.py does (its Server and helpers); they skip where those skip (no playwright package or no
/usr/bin/chromium, except under CI=true where they fail).  Screenshots go to tmp_path/screenshots (and to
$INBOUND_TEST_ARTIFACTS when set).  The form parsing and the words route are also tested without a browser.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from service_support import auth, running_app, upload, wait_read

CHROMIUM = Path("/usr/bin/chromium")
try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:            # pragma: no cover - the test extra installs it
    sync_playwright = None
BROWSER = sync_playwright is not None and CHROMIUM.exists()
needs_browser = pytest.mark.skipif(not BROWSER and os.environ.get("CI") != "true",
                                   reason="playwright or /usr/bin/chromium missing (scripts/browser.sh installs it)")
if BROWSER or os.environ.get("CI") == "true":
    from test_review_ui import CLERK, _login, _page, browser, served, shots  # noqa: F401 (fixtures)


# -- without a browser ------------------------------------------------------------------------------------

def _screen() -> dict:
    line = {"no": 1, "quantity": "10", "unit_price": "2.00", "description": "Widget", "unit": "pcs", "batch_no": "",
            "match": {}, "factor": ""}
    return {"fields": [{"name": "po_number", "value": "PO-1"}, {"name": "document_number", "value": "INV-1"}],
            "lines": [line]}


def test_the_form_carries_picked_sources_for_changed_values():
    from review_ui.routes import corrections_from
    box = json.dumps({"page": 1, "bbox": [10, 20, 30.123, 40]})
    form = {"f.po_number": "PO-2", "f.document_number": "INV-1", "l.1.batch_no": "B 7", "l.1.quantity": "10",
            "source.fields.po_number": box,
            "source.fields.document_number": box,               # unchanged value: nothing to attach it to
            "source.lines.1.batch_no": json.dumps({"page": 2, "bbox": [1, 2, 3, 4]}),
            "source.lines.1.quantity": box,                     # unchanged too
            "source.fields.nope": box, "source.../x": box}
    corrections = corrections_from(form, _screen())
    assert corrections.fields == {"po_number": "PO-2"}
    assert corrections.lines == ({"line_no": 1, "batch_no": "B 7"},)
    assert corrections.sources == {"fields.po_number": {"page": 1, "bbox": [10.0, 20.0, 30.12, 40.0]},
                                   "lines.1.batch_no": {"page": 2, "bbox": [1.0, 2.0, 3.0, 4.0]}}


@pytest.mark.parametrize("posted", ["not json", "[]", "3", '{"page": 0, "bbox": [1, 2, 3, 4]}',
                                    '{"page": true, "bbox": [1, 2, 3, 4]}', '{"page": 1, "bbox": [1, 2, 3]}',
                                    '{"page": 1, "bbox": [3, 2, 1, 4]}', '{"page": 1, "bbox": ["a", 2, 3, 4]}',
                                    '{"page": 1, "bbox": [1, 2, 3, NaN]}', '{"page": 1}'])
def test_a_malformed_source_is_dropped_not_an_error(posted):
    from review_ui.routes import corrections_from
    corrections = corrections_from({"f.po_number": "PO-2", "source.fields.po_number": posted}, _screen())
    assert corrections.fields == {"po_number": "PO-2"} and corrections.sources == {}


def test_the_words_route_needs_a_session(tmp_path):
    from test_review_ui_forms import _login as form_login
    from test_review_ui_forms import _user
    with running_app(f"sqlite:///{tmp_path / 'inbound.db'}", tmp_path) as client:
        doc_id = upload(client, "INV-88213.pdf").json()["id"]
        wait_read(client)
        assert client.get(f"/review/documents/{doc_id}/words").status_code == 401
        _user(client, "cleo", "clerk")
        form_login(client, "cleo", "password-cleo")
        words = client.get(f"/review/documents/{doc_id}/words")
        assert words.status_code == 200
        assert words.json() == client.get(f"/api/v1/documents/{doc_id}/words", headers=auth()).json()
        assert "INV-88213" in {w["text"] for w in words.json()["pages"][0]["words"]}
        assert client.get("/review/documents/999999/words").status_code == 404
        screen = client.get(f"/review/documents/{doc_id}").text
        assert f'data-words="/review/documents/{doc_id}/words"' in screen


# -- in the browser ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from served(tmp_path_factory.mktemp("review-pick"))


def _word(page_words: dict, text: str, after: dict | None = None) -> dict:
    """The first word with this text (after the given one, on its line, when named)."""
    for word in page_words["words"]:
        if word["text"] == text and (after is None or (word["bbox"][0] > after["bbox"][0]
                                                        and abs(word["bbox"][1] - after["bbox"][1]) < 2)):
            return word
    raise AssertionError(f"no word {text!r} on page {page_words['number']}")


def _on_screen(page, page_words: dict, x: float, y: float) -> tuple[float, float]:
    """A point in page points -> where it is on the screen, through the displayed page's box."""
    shown = page.locator(f".page[data-page='{page_words['number']}']").bounding_box()
    return (shown["x"] + x / page_words["width"] * shown["width"],
            shown["y"] + y / page_words["height"] * shown["height"])


def _centre(page, page_words: dict, word: dict) -> tuple[float, float]:
    x0, y0, x1, y1 = word["bbox"]
    return _on_screen(page, page_words, (x0 + x1) / 2, (y0 + y1) / 2)


def _drag(page, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=6)
    page.mouse.up()


def _field_picks(doc: dict, path: str) -> list[dict]:
    """The history rows about this value (its change, or what was learned from it) that say it was picked."""
    return [c for c in doc["history"] if c["path"] in (path, f"learned.{path}")
            and "picked on the page" in str(c.get("why") or "").lower()]


@needs_browser
def test_a_click_or_a_drag_on_the_page_fills_the_focused_field(server, browser, shots):
    doc_id = server.upload("INV-88213.pdf")
    server.wait_read()
    words = server.api.get(f"/api/v1/documents/{doc_id}/words").json()
    first = words["pages"][0]
    number, postcode = _word(first, "INV-88213"), _word(first, "M1")
    postcode_end = _word(first, "2AB", after=postcode)
    context, page, dialogs = _page(browser, server)
    _login(page)
    page.goto(f"/review/documents/{doc_id}")
    expect(page.locator(".page:not([hidden]) img")).to_have_js_property("complete", True)
    assert page.locator("body.picking").count() == 0 and not page.locator(".words").first.is_visible()

    po = page.locator("input[name='f.po_number']")
    po.focus()
    expect(page.locator("body")).to_have_class(re.compile(r"\bpicking\b"))
    layer = page.locator(".page[data-page='1'] .words .word")
    expect(layer).to_have_count(len(first["words"]))
    expect(page.locator("#pick-hint")).to_be_visible()
    drawn = layer.nth(first["words"].index(number)).bounding_box()            # the box sits on the word
    cx, cy = _centre(page, first, number)
    assert drawn["x"] < cx < drawn["x"] + drawn["width"] and drawn["y"] < cy < drawn["y"] + drawn["height"]

    page.mouse.click(cx, cy)
    expect(po).to_have_value("INV-88213")
    assert page.evaluate("document.activeElement.name") == "f.po_number"     # the click kept the focus
    expect(layer.nth(first["words"].index(number))).to_have_class(re.compile(r"\bpicked\b"))
    page.mouse.move(*_centre(page, first, _word(first, "PO-4898")))            # hover: that word outlined
    page.screenshot(path=str(shots / "pick-click.png"), full_page=True)

    batch = page.locator("input[name='l.1.batch_no']")                        # a line cell: drag over two words
    batch.focus()
    x0, y0 = _on_screen(page, first, postcode["bbox"][0] - 2, postcode["bbox"][1] - 2)
    x1, y1 = _on_screen(page, first, postcode_end["bbox"][2] + 2, postcode_end["bbox"][3] + 2)
    _drag(page, (x0, y0), (x1, y1))
    expect(batch).to_have_value("M1 2AB")
    assert page.evaluate("document.activeElement.name") == "l.1.batch_no"
    expect(page.locator(".page[data-page='1'] .word.picked")).to_have_count(2)
    page.screenshot(path=str(shots / "pick-drag.png"), full_page=True)

    typed_over = page.locator("input[name='f.document_number']")              # picked, then typed over: no source
    typed_over.focus()
    page.mouse.click(*_centre(page, first, _word(first, "PO-4898")))
    expect(typed_over).to_have_value("PO-4898")
    typed_over.fill("INV-88213-A")
    page.keyboard.press("Escape")                                               # Esc leaves the field and picking
    expect(page.locator("body")).not_to_have_class(re.compile(r"\bpicking\b"))
    assert not page.locator(".words").first.is_visible()

    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith(f"/review/documents/{doc_id}")) as sent:
        page.click("#save")
    page.wait_for_load_state()
    expect(page.locator(".message")).to_contain_text("Saved")
    posted = parse_qs(sent.value.post_data)
    assert json.loads(posted["source.fields.po_number"][0]) == {"page": 1, "bbox": number["bbox"]}
    union = [postcode["bbox"][0], min(postcode["bbox"][1], postcode_end["bbox"][1]), postcode_end["bbox"][2],
             max(postcode["bbox"][3], postcode_end["bbox"][3])]
    assert json.loads(posted["source.lines.1.batch_no"][0]) == {"page": 1, "bbox": union}
    assert "source.fields.document_number" not in posted

    doc = server.api.get(f"/api/v1/documents/{doc_id}").json()
    assert _value(doc["extraction"]["fields"]["po_number"]) == "INV-88213"
    assert _value(doc["extraction"]["lines"][0]["batch_no"]) == "M1 2AB"
    assert _value(doc["extraction"]["fields"]["document_number"]) == "INV-88213-A"
    assert {c["who"] for c in doc["history"] if c["path"] == "fields.po_number"} == {CLERK[0]}
    # where the supplier prints it, learned from the pick (the address's postcode is not in line 1's row: no rule,
    # so no note there)
    assert _field_picks(doc, "fields.po_number")
    assert not _field_picks(doc, "fields.document_number")
    assert dialogs == []
    context.close()


def _value(stored):
    """A value as the contract stores it: a read field {"value", ...} or the bare value a person typed."""
    return stored.get("value") if isinstance(stored, dict) else stored


@needs_browser
def test_a_document_read_before_layouts_were_kept_offers_no_picking(server, browser, shots):
    """No stored layout (read before this change): no word boxes, no errors, a click on a box still finds its field."""
    from sqlalchemy.orm.attributes import flag_modified

    from models.db import transaction
    from models.documents import get_document
    from service_support import DEMO
    data = (DEMO / "INV-88213.pdf").read_bytes().replace(b"%%EOF", b"% an older copy\n%%EOF")
    doc_id = server.upload("INV-88213-old.pdf", data)
    server.wait_read()
    with transaction(server.app.state.services.factory) as session:
        document = get_document(session, doc_id)
        document.extraction = {k: v for k, v in document.extraction.items() if k != "layout"}
        flag_modified(document, "extraction")
    assert server.api.get(f"/api/v1/documents/{doc_id}/words").json() == {"pages": []}
    context, page, dialogs = _page(browser, server)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _login(page)
    with page.expect_response(lambda r: r.url.endswith(f"/review/documents/{doc_id}/words")) as answered:
        page.goto(f"/review/documents/{doc_id}")
    assert answered.value.json() == {"pages": []}
    expect(page.locator(".page:not([hidden]) img")).to_have_js_property("complete", True)
    page.focus("input[name='f.po_number']")
    assert page.locator(".words").count() == 0
    expect(page.locator("body")).not_to_have_class(re.compile(r"\bpicking\b"))
    page.click(".box[data-ref='f-supplier_tax_id']")     # as before: a box takes you to its field
    assert page.evaluate("document.activeElement.name") == "f.supplier_tax_id"
    assert errors == [] and dialogs == []
    context.close()


@needs_browser
def test_a_date_field_takes_the_picked_date_and_cjk_words_join_without_a_space(server, browser, shots):
    from fpdf import FPDF

    from fixtures.cjk_font import FONT_PATH, font_available
    font = FONT_PATH if font_available() else None        # without it (scripts/fonts.sh): the date part only
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", "", 11)
    for text in ("Brightline Components Ltd.", "VAT No: GB123456782", "INVOICE", "Invoice No: INV-4242",
                 "Invoice Date: 02.03.2026", "Description  Qty  Unit price  Amount", "Widget  2  5.00  10.00",
                 "Total: 10.00 GBP"):
        pdf.cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
    if font is not None:
        pdf.add_font("cjk", fname=str(font), collection_font_number=0)
        pdf.set_font("cjk", "", 11)
        pdf.cell(0, 7, "备注 上海 仓库", new_x="LMARGIN", new_y="NEXT")
    doc_id = server.upload("pick-date.pdf", bytes(pdf.output()))
    server.wait_read()
    first = server.api.get(f"/api/v1/documents/{doc_id}/words").json()["pages"][0]
    context, page, dialogs = _page(browser, server)
    _login(page)
    page.goto(f"/review/documents/{doc_id}")
    expect(page.locator(".page:not([hidden]) img")).to_have_js_property("complete", True)
    due = page.locator("input[name='f.due_date']")
    due.focus()
    expect(page.locator(".page[data-page='1'] .words .word")).to_have_count(len(first["words"]))
    page.mouse.click(*_centre(page, first, _word(first, "02.03.2026")))
    expect(due).to_have_value("2026-03-02")                                    # printed day first
    if font is not None:
        remark = page.locator("input[name='f.po_number']")
        remark.focus()
        left, right = _word(first, "上海"), _word(first, "仓库")
        _drag(page, _on_screen(page, first, left["bbox"][0] - 1, left["bbox"][1] - 1),
              _on_screen(page, first, right["bbox"][2] + 1, right["bbox"][3] + 1))
        expect(remark).to_have_value("上海仓库")
    page.screenshot(path=str(shots / "pick-date.png"), full_page=True)
    assert dialogs == []
    context.close()


@needs_browser
def test_picking_stays_quick_on_a_long_dense_document(server, browser, shots):
    from fpdf import FPDF
    pdf = FPDF()
    pdf.set_font("Helvetica", "", 7)
    for number in range(1, 6):
        pdf.add_page()
        pdf.cell(0, 5, f"INVOICE  Invoice No: LONG-{number}  Date: 2026-01-0{number}", new_x="LMARGIN", new_y="NEXT")
        for row in range(60):
            pdf.cell(0, 4, " ".join(f"w{number}r{row}c{col}" for col in range(12)), new_x="LMARGIN", new_y="NEXT")
    doc_id = server.upload("long-dense.pdf", bytes(pdf.output()))
    server.wait_read()
    words = server.api.get(f"/api/v1/documents/{doc_id}/words").json()["pages"]
    total = sum(len(p["words"]) for p in words)
    assert len(words) == 5 and total > 3000
    context, page, dialogs = _page(browser, server)
    _login(page)
    page.goto(f"/review/documents/{doc_id}")
    po = page.locator("input[name='f.po_number']")
    po.focus()
    expect(page.locator(".words .word")).to_have_count(total, timeout=20_000)
    took_ms = page.evaluate("""() => {
        const input = document.querySelector("input[name='f.po_number']"), other = document.querySelector("#reason");
        const started = performance.now();
        for (let i = 0; i < 20; i++) { other.focus(); input.focus(); document.body.getBoundingClientRect(); }
        return performance.now() - started;
    }""")
    assert took_ms < 2000, f"20 focus changes took {took_ms:.0f} ms"
    for _ in range(4):
        page.click("#page-next")                       # paging keeps the field focused (and picking on)
    expect(page.locator("#page-no")).to_have_text("5")
    assert page.evaluate("document.activeElement.name") == "f.po_number"
    last = words[4]
    target = _word(last, "w5r10c3")
    started = time.monotonic()
    page.mouse.click(*_centre(page, last, target))
    expect(po).to_have_value("w5r10c3")
    assert time.monotonic() - started < 3
    page.screenshot(path=str(shots / "pick-long.png"), full_page=True)
    assert dialogs == []
    context.close()
