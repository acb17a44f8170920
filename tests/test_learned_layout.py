"""Layout memory per supplier (issue 16): a correction teaches where the supplier prints the value, and its next
document comes back with it read there (`method: learned_layout`, the fact's id), through the pure module and
through the API."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from db_support import db_url  # noqa: F401
from extractors.layout import BBox, Layout, Line, Page, Word
from extractors.learned_layout import AppliedRule, Picked, Rule, apply_rules, find, shape, teach
from extractors.result import DocumentType, Extraction, Field
from service_support import auth, import_master, labelled_invoice, running_app, upload, wait_read


def _page(rows: list[list[tuple[str, float]]], *, top: float = 60.0, step: float = 16.0) -> Layout:
    """A text page: each row a list of (word, x0) at 9 pt."""
    lines = []
    for i, row in enumerate(rows):
        y = top + i * step
        lines.append(Line(tuple(Word(t, BBox(x, y, x + 5.5 * len(t), y + 9)) for t, x in row)))
    return Layout((Page(1, 595, 842, tuple(lines)),), "text-layer")


def _doc(number: str, day: str, total: str, *, shift: float = 0.0) -> Layout:
    return _page([[("Hollis", 50), ("Foods", 90), ("Ltd", 125)],
                  [("Beleg-Kennung", 50), ("XK-" + number, 140), ("Datum", 330), (day, 370)],
                  [("Rice", 50), ("2", 300), ("12.00", 400)],
                  *([[("Oil", 50), ("1", 300), ("9.50", 400)]] if shift else []),
                  [("Zu", 300), ("zahlen", 315), ("EUR", 360), (total, 400)]])


def test_a_taught_value_is_found_again_after_its_label_in_its_format():
    taught = teach(_doc("2231", "03.02.2026", "24.00"), "document_number", "XK-2231")
    assert taught.rule is not None and taught.rule.anchor == "belegkennung" and taught.rule.side == "left"
    assert taught.rule.shape == shape("XK-2231") == "A-9"
    found = find(_doc("7718", "05.02.2026", "33.50", shift=16), taught.rule)
    assert found is not None and found[1] == "XK-7718"


def test_a_date_keeps_its_order_and_an_amount_follows_its_label_down_the_page():
    first = _doc("2231", "03.02.2026", "24.00")
    when = teach(first, "document_date", date(2026, 2, 3)).rule
    total = teach(first, "total_amount", Decimal("24.00")).rule
    assert when.date_order == "dmy" and total.anchor == "zuzahlen"
    later = _doc("7718", "04.11.2026", "33.50", shift=16)         # one more line: the total sits lower
    assert find(later, when)[1] == date(2026, 11, 4)
    assert find(later, total)[1] == Decimal("33.50")


def test_a_value_printed_nowhere_teaches_nothing_and_says_why():
    taught = teach(_doc("2231", "03.02.2026", "24.00"), "po_number", "PO-99812")
    assert taught.rule is None and "printed nowhere" in taught.reason


def test_a_picked_box_teaches_the_words_inside_it():
    layout = _doc("2231", "03.02.2026", "24.00")
    taught = teach(layout, "document_number", "XK-2231", picked=Picked(1, BBox(138, 75, 190, 86)))
    assert taught.rule is not None and taught.rule.anchor == "belegkennung"


def test_apply_fills_and_marks_learned_values_and_says_when_a_rule_misses():
    rule = teach(_doc("2231", "03.02.2026", "24.00"), "document_number", "XK-2231").rule
    stale = Rule(field="po_number", page=1, zone=(0.1, 0.1, 0.2, 0.12), anchor="bestellung", side="left",
                 shape="9")
    outside = Rule(field="due_date", page=1, zone=(1.5, 1.5, 1.7, 1.6))
    read = Extraction(DocumentType.INVOICE, "de", {"document_number": Field("Beleg-Kennung", "Beleg-Kennung", 0.5)}, ())
    out = apply_rules(read, _doc("5150", "05.02.2026", "12.00"),
                      [AppliedRule("41", rule), AppliedRule("42", stale), AppliedRule("43", outside)])
    number = out.fields["document_number"]
    assert number.value == "XK-5150" and number.method == "learned_layout" and number.fact_id == "41"
    assert number.to_json()["fact_id"] == "41"
    assert [i.code for i in out.issues] == ["learned_layout_missed"]
    assert "due_date" not in out.fields


def test_values_from_embedded_xml_are_never_overruled():
    rule = teach(_doc("2231", "03.02.2026", "24.00"), "document_number", "XK-2231").rule
    read = Extraction(DocumentType.INVOICE, "de", {"document_number": Field("R-1", "R-1", 1.0, method="xml")}, ())
    out = apply_rules(read, _doc("5150", "05.02.2026", "12.00"), [AppliedRule("7", rule)])
    assert out.fields["document_number"].value == "R-1"


# -- through the API ---------------------------------------------------------------------------------------

def _invoice(number: str, ref: str) -> bytes:
    return labelled_invoice(number, "Werkauftrag Kennung", ref)


def test_a_field_corrected_once_is_read_where_it_was_taught_on_the_next_document(db_url, tmp_path):
    with running_app(db_url, tmp_path) as client:
        import_master(client, kinds=("suppliers", "products"))
        first = upload(client, "BL-2001.pdf", _invoice("BL-2001", "WK/7781-3")).json()
        wait_read(client)
        words = client.get(f"/api/v1/documents/{first['id']}/words", headers=auth()).json()
        assert any(w["text"] == "WK/7781-3" for w in words["pages"][0]["words"])
        fixed = client.patch(f"/api/v1/documents/{first['id']}", headers=auth(),
                             json={"fields": {"remarks": "WK/7781-3", "payment_terms": "30 Tage netto"}})
        assert fixed.status_code == 200, fixed.text
        notes = {h["path"]: h for h in fixed.json()["history"] if h["path"].startswith("learned.")}
        assert "layout rule" in notes["learned.fields.remarks"]["why"]
        assert "printed nowhere" in notes["learned.fields.payment_terms"]["why"]
        fact_id = notes["learned.fields.remarks"]["after"]

        second = upload(client, "BL-2002.pdf", _invoice("BL-2002", "WK/9920-1")).json()
        wait_read(client)
        doc = client.get(f"/api/v1/documents/{second['id']}", headers=auth()).json()
        remarks = doc["extraction"]["fields"]["remarks"]
        assert remarks["value"] == "WK/9920-1" and remarks["method"] == "learned_layout"
        assert remarks["fact_id"] == str(fact_id) and remarks["bbox"] is not None
        assert "layout" not in doc["extraction"]                    # the stored words stay off the document view

        listed = client.get("/api/v1/learned?kind=layout_rule", headers=auth()).json()
        assert [f["id"] for f in listed["items"]] == [fact_id]
        assert client.delete(f"/api/v1/learned/{fact_id}", headers=auth()).status_code == 204
        third = upload(client, "BL-2003.pdf", _invoice("BL-2003", "WK/1111-2")).json()
        wait_read(client)
        doc = client.get(f"/api/v1/documents/{third['id']}", headers=auth()).json()
        assert doc["extraction"]["fields"].get("remarks", {}).get("method") != "learned_layout"


# -- the supplier's rules in the master snapshot ------------------------------------------------------------

def _taught_master(*facts):
    from matching import MasterData, Product, Supplier
    master = MasterData.build(products=[Product("P1", "FD-1", "Rice", "kg")],
                              suppliers=[Supplier("S1", "Hollis Foods Ltd"), Supplier("S2", "Other Trading Co")])
    return master.with_facts(facts)


def _rule_fact(supplier: str, rule: Rule, at, fact_id: str):
    from dataclasses import replace as _replace
    from matching.learning import layout_rule_fact
    fact = layout_rule_fact(supplier_id=supplier, document_kind="invoice", rule=rule, value="", document_id="1", at=at)
    return _replace(fact, id=fact_id)


def test_a_supplier_is_recognised_by_its_taught_particulars_and_the_later_teaching_wins():
    from datetime import datetime
    from matching.learning import layout_rules, recognise_supplier
    first = _doc("2231", "03.02.2026", "24.00")
    name = teach(first, "supplier_name", "Hollis Foods Ltd").rule
    assert name.constant == "Hollis Foods Ltd"
    old = teach(first, "document_number", "2231").rule                 # a clerk's slip, corrected later
    new = teach(first, "document_number", "XK-2231").rule
    master = _taught_master(_rule_fact("S1", name, datetime(2026, 1, 1), "1"),
                            _rule_fact("S1", old, datetime(2026, 1, 2), "2"),
                            _rule_fact("S1", new, datetime(2026, 1, 3), "3"))
    later = _doc("7718", "05.02.2026", "33.50")
    assert recognise_supplier(master, later, "invoice") == "S1"
    assert recognise_supplier(master, _page([[("Nothing", 50), ("here", 120)]]), "invoice") == ""
    rules = {a.rule.field: a.fact_id for a in layout_rules(master, "S1", "invoice")}
    assert rules == {"document_number": "3", "supplier_name": "1"}
    assert layout_rules(master, "S9", "invoice") == []                  # a supplier no longer in the master


def test_a_line_cell_is_read_from_the_column_it_was_taught_in():
    from extractors.learned_layout import teach_line_cell
    from extractors.result import LineItem
    layout = _page([[("Item", 50), ("Menge", 300), ("Preis", 400)],
                    [("Rice", 50), ("7", 300), ("12.00", 400)],
                    [("Oil", 50), ("3", 300), ("9.50", 400)]])
    def item(no: int, y: float) -> LineItem:
        return LineItem(no, {"description": Field("x", "x", 0.9, 1, BBox(50, y, 80, y + 9))})
    lines = (item(1, 76), item(2, 92))
    taught = teach_line_cell(layout, lines, 1, "quantity", Decimal("7"))
    assert taught.rule is not None and taught.rule.column == "menge"
    out = apply_rules(Extraction(DocumentType.INVOICE, "de", {}, lines), layout, [AppliedRule("9", taught.rule)])
    assert [li.fields["quantity"].value for li in out.lines] == [Decimal("7"), Decimal("3")]
    assert out.lines[1].fields["quantity"].fact_id == "9"


def test_a_supplier_particular_misread_by_ocr_is_still_taught_and_found():
    scan = _page([[("Hollis", 50), ("Foods", 90), ("Ltd", 125)], [("VAT", 50), ("GB12345b782", 80)]])
    taught = teach(scan, "supplier_tax_id", "GB123456782")
    assert taught.rule is not None and taught.rule.constant == "GB123456782"
    again = _page([[("Hollis", 50), ("Foods", 90), ("Ltd", 125)], [("VAT", 50), ("GB1234S6782", 80)]])
    assert find(again, taught.rule)[1] == "GB123456782"


def test_a_removed_value_is_dropped_where_it_was_read_and_a_particular_printed_otherwise_is_kept():
    from extractors.learned_layout import teach_absent
    layout = _doc("2231", "03.02.2026", "24.00")
    spurious = Field("Datum", "Datum", 0.6, 1, BBox(330, 76, 357, 85))
    gone = teach_absent(layout, "po_number", spurious).rule
    name = teach(layout, "supplier_name", "Hollis Nahrungsmittel GmbH").rule     # printed otherwise
    assert gone.absent and not name.printed and name.constant == "Hollis Nahrungsmittel GmbH"
    read = Extraction(DocumentType.INVOICE, "de", {"po_number": spurious,
                                                   "supplier_name": Field("Hollis", "Hollis", 0.7, 1, None)}, ())
    out = apply_rules(read, layout, [AppliedRule("1", gone), AppliedRule("2", name)])
    assert "po_number" not in out.fields
    assert (out.fields["supplier_name"].value, out.fields["supplier_name"].fact_id) == ("Hollis Nahrungsmittel GmbH", "2")
    elsewhere = Extraction(DocumentType.INVOICE, "de", {"po_number": Field("PO-1", "PO-1", 0.9, 1,
                                                                           BBox(50, 700, 90, 709))}, ())
    assert "po_number" in apply_rules(elsewhere, layout, [AppliedRule("1", gone)]).fields


def test_a_scan_slip_is_taught_where_it_stands_and_read_back_in_the_clerks_format():
    from extractors.learned_layout.rules import coerce_shape
    assert coerce_shape("0RD-123456", "A-9") == "ORD-123456"
    assert coerce_shape("ORD-5838l", "A-9", "AAA-99999") == "ORD-58381"
    assert coerce_shape("Lieferung", "A-9") is None
    scan = _page([[("Bestellung", 50), ("0RD-58381", 130)]])
    taught = teach(scan, "po_number", "ORD-58381")
    assert taught.rule is not None and taught.rule.anchor == "bestellung" and taught.rule.shape == "A-9"
    assert find(_page([[("Bestellung", 50), ("0RD-80480", 130)]]), taught.rule)[1] == "ORD-80480"
