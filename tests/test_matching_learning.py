"""Learning from reviewers: corrections become facts, facts make the next document match by `alias`."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from extractors import BBox, DocumentType, Extraction, Field, LineItem
from matching import (
    LearnedKind, LineCorrection, MasterData, MatchMethod, PrintedLine, PrintedSupplier, Product, Review, Supplier,
    convert_unit, facts_from_line, facts_from_review, layout_hints, layout_hints_from, match_document,
    match_product, match_supplier, supplier_alias_fact,
)

D = Decimal
T0 = datetime(2026, 1, 1, 9, 0)
T1 = datetime(2026, 1, 2, 9, 0)


def _master() -> MasterData:
    products = [Product("P1", "FD-1", "金龙鱼 调和油", "瓶", spec="5L"),
                Product("P2", "FD-2", "金龙鱼 花生油", "瓶", spec="5L"),
                Product("P3", "FD-3", "海天 生抽酱油", "瓶", spec="500ml")]
    return MasterData.build(products=products, suppliers=[Supplier("S1", "宁波益丰商贸有限公司")])


def test_a_correction_makes_the_next_line_match_by_alias():
    master = _master()
    line = PrintedLine(1, "JLY食用油 5L/桶", supplier_sku="YF-0931", unit="桶")
    before = match_product(line, "S1", master)
    assert not (before.auto_accepted and before.id == "P2")
    facts = facts_from_line(supplier_id="S1", line=line, product_id="P2", factor=D(1), at=T0)
    taught = master.with_facts(facts)
    again = match_product(PrintedLine(7, "JLY食用油 5L/桶", supplier_sku="YF-0931", unit="桶"), "S1", taught)
    assert (again.id, again.method, again.auto_accepted) == ("P2", MatchMethod.ALIAS, True)
    by_text = match_product(PrintedLine(2, "JLY食用油 5L/桶"), "S1", taught)
    assert (by_text.id, by_text.method) == ("P2", MatchMethod.ALIAS)
    other_supplier = match_product(PrintedLine(2, "JLY食用油 5L/桶"), "S9", taught)
    assert other_supplier.method != MatchMethod.ALIAS


def test_unit_factor_is_learned_per_supplier():
    master = _master()
    line = PrintedLine(1, "海天生抽", unit="件")
    product = master.product("P3")
    conv, issues = convert_unit(printed_unit="件", quantity=D(2), unit_price=None, product=product,
                                supplier_id="S1", master=master)
    assert conv.factor is None and issues
    taught = master.with_facts(facts_from_line(supplier_id="S1", line=line, product_id="P3", factor=D(12), at=T0))
    conv, issues = convert_unit(printed_unit="件", quantity=D(2), unit_price=None, product=product,
                                supplier_id="S1", master=taught)
    assert (conv.factor, conv.quantity, conv.source, issues) == (D(12), D(24), "learned", [])


def test_conflicting_teachings_latest_wins_and_history_stays():
    master = _master()
    line = PrintedLine(1, "金龙鱼油 5L")
    old = facts_from_line(supplier_id="S1", line=line, product_id="P1", factor=None, at=T0)
    new = facts_from_line(supplier_id="S1", line=line, product_id="P2", factor=None, at=T1)
    taught = master.with_facts(new + old)                                 # order given does not matter
    assert match_product(line, "S1", taught).id == "P2"
    assert len(taught.facts) == 2


def test_supplier_alias():
    master = _master()
    printed = PrintedSupplier("益丰商行(宁波)")
    assert match_supplier(printed, master)[0].method != MatchMethod.ALIAS
    fact = supplier_alias_fact(printed_name="益丰商行(宁波)", supplier_id="S1", at=T0)
    m, _ = match_supplier(printed, master.with_facts([fact]))
    assert (m.id, m.method) == ("S1", MatchMethod.ALIAS)


def _f(value, raw=None, x0=None) -> Field:
    box = BBox(x0, 100, x0 + 40, 110) if x0 is not None else None
    return Field(value, raw if raw is not None else str(value), 0.9, page=1, bbox=box)


def _doc(lines) -> Extraction:
    fields = {"supplier_name": _f("宁波益丰商贸有限公司"), "document_number": _f("N1")}
    items = tuple(LineItem(i, {"description": _f(d), "unit": _f(u), "quantity": _f(D(1))})
                  for i, (d, u) in enumerate(lines, start=1))
    return Extraction(DocumentType.DELIVERY_NOTE, "zh", fields, items)


def test_review_feeds_only_what_was_touched():
    master = _master()
    doc = _doc([("海天生抽酱油 500ml", "瓶"), ("金龙鱼食用油 5L", "桶")])
    before = match_document(doc, master)
    assert before.lines[0].product.auto_accepted and before.lines[0].product.id == "P3"
    review = Review("S1", "宁波益丰商贸有限公司", (
        LineCorrection(PrintedLine(1, "海天生抽酱油 500ml", unit="瓶"), "P3", D(1)),
        LineCorrection(PrintedLine(2, "金龙鱼食用油 5L", unit="桶"), "P1", D(1)),
    ))
    facts = facts_from_review(review, before, at=T0)
    assert {(f.kind, f.target_id) for f in facts} == {(LearnedKind.PRODUCT_ALIAS, "P1"),
                                                      (LearnedKind.UNIT_FACTOR, "P1")}
    after = match_document(_doc([("海天生抽酱油 500ml", "瓶"), ("金龙鱼食用油 5L", "桶")]), master.with_facts(facts))
    second = after.lines[1]
    assert (second.product.id, second.product.method, second.unit.factor) == ("P1", MatchMethod.ALIAS, D(1))


def test_layout_hints_from_a_corrected_document():
    fields = {"po_number": _f("PO-77", "PO-77"), "document_date": _f(date(2026, 4, 3), "03/04/2026")}
    line = LineItem(1, {"description": _f("x", x0=50), "quantity": _f(D(1), x0=300), "unit": _f("瓶", x0=250),
                        "amount": _f(D(2), x0=400)})
    corrected = Extraction(DocumentType.DELIVERY_NOTE, "zh", fields, (line,))
    facts = layout_hints_from(supplier_id="S1", corrected=corrected,
                              text_lines=["送货单", "订单编号：PO-77", "日期 03/04/2026"], at=T0)
    hints = layout_hints(_master().with_facts(facts), "S1")
    assert hints.po_label == "订单编号"
    assert hints.date_order == "dmy"
    assert hints.columns == ("description", "unit", "quantity", "amount")
    assert layout_hints(_master(), "S1").po_label == ""
