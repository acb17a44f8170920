"""The Chinese form readers on layouts they were not built on (issue 14): each test is one generic
behaviour, on a small page built here, and the last ones on documents of the layout-grammar generator
(development families only, fixed seed)."""

from __future__ import annotations

import json
import unicodedata
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from extractors.cn.delivery import extract_delivery_note
from extractors.cn.table_header import column_role
from extractors.cn.vat import extract_vat_invoice
from extractors.layout import BBox, Layout, Line, Page, Word
from extractors.result import Field, LineItem

SIZE = 10.0


def _width(text: str) -> float:
    return sum(SIZE if unicodedata.east_asian_width(c) in "WF" else 0.55 * SIZE for c in text)


def _row(y: float, *cells: tuple[float, str]) -> Line:
    """One printed row: (x, text) cells, each split into words at spaces."""
    words = []
    for x, text in cells:
        for part in text.split():
            words.append(Word(part, BBox(x, y, x + _width(part), y + SIZE)))
            x += _width(part) + 0.3 * SIZE
    return Line(tuple(words))


def _page(*rows: Line, width: float = 595.0) -> Layout:
    return Layout((Page(1, width, 842.0, tuple(r for r in rows if r.words)),), "test")


def _values(fields: dict[str, Field]) -> dict[str, object]:
    return {k: f.value for k, f in fields.items() if f.value is not None}


def _col(lines: list[LineItem], name: str) -> list[object]:
    return [li.fields[name].value if name in li.fields else None for li in lines]


def _text_in(layout: Layout, box: BBox) -> str:
    """The words whose centre lies in a box (what a reviewer sees highlighted)."""
    return "".join(w.text for w in layout.pages[0].words()
                   if box.x0 - 0.5 <= w.bbox.cx <= box.x1 + 0.5 and box.y0 - 0.5 <= w.bbox.cy <= box.y1 + 0.5)


# ------------------------------------------------------------------------------- item tables

def _packing_list() -> Layout:
    """Titles wrapped onto two rows (订单/数量, 计量/单位), titles we keep no field for (箱规, 件数,
    净重(kg)), a price-less table with batch and dates, and a page footer under the last item."""
    return _page(
        _row(30, (250, "装箱单")),
        _row(60, (40, "收货单位："), (110, "青岛明德食品有限公司")),
        _row(100, (40, "品名"), (120, "规格型号"), (200, "计量"), (240, "订单"), (285, "实发数量"),
             (345, "箱规"), (380, "件数"), (415, "净重(kg)"), (470, "批次号"), (520, "到期日")),
        _row(112, (200, "单位"), (240, "数量")),
        _row(132, (40, "纯牛奶"), (120, "250ml*24"), (205, "箱"), (245, "20"), (295, "18"), (350, "24"),
             (385, "1"), (420, "6.20"), (470, "L2301A"), (520, "2026-01-31")),
        _row(152, (40, "速冻水饺"), (120, "1kg/袋"), (205, "包"), (245, "12"), (295, "12"), (350, "6"),
             (385, "2"), (420, "12.40"), (470, "L2302B"), (520, "2025-12-15")),
        _row(190, (40, "第1页 共1页")),
    )


def test_two_row_titles_and_titles_without_a_field_keep_their_cells_apart() -> None:
    _, lines = extract_delivery_note(_packing_list())
    assert _col(lines, "description") == ["纯牛奶", "速冻水饺"]          # the footer is no wrapped text
    assert _col(lines, "spec") == ["250ml*24", "1kg/袋"]
    assert _col(lines, "unit") == ["箱", "包"]
    assert _col(lines, "quantity") == [Decimal("18"), Decimal("12")]       # 实发, not 订单 数量
    assert _col(lines, "ordered_quantity") == [Decimal("20"), Decimal("12")]
    assert _col(lines, "batch_no") == ["L2301A", "L2302B"]
    assert _col(lines, "expiry_date") == [date(2026, 1, 31), date(2025, 12, 15)]
    assert all("amount" not in li.fields for li in lines)                  # 净重 / 件数 are no amount


def test_column_roles_are_read_from_the_words_of_a_title() -> None:
    assert column_role("保质期至") == "expiry_date"
    assert column_role("制造日期") == "production_date"
    assert column_role("生产批号") == "batch_no"
    assert column_role("总价") == "amount"
    assert column_role("单价（元）") == "unit_price"
    assert column_role("订单数量") == "ordered_quantity"
    assert column_role("出库数量") == "quantity"
    assert column_role("存货编码") == "supplier_sku"
    assert column_role("规格/型号") == "spec"
    assert column_role("箱规") == "pack_size"
    assert column_role("客户代码") == "supplier_sku" and column_role("经手人") is None


def test_the_cells_correct_a_title_that_does_not_say_what_the_column_holds() -> None:
    """生产日期/批次 over batch codes holds the batch; an untitled-for column of dates the production date;
    a 规格 column of small whole numbers the pack size, not a spec."""
    layout = _page(
        _row(40, (40, "品名"), (150, "规格"), (200, "数量"), (260, "生产日期/批次"), (360, "标记"), (440, "单位")),
        _row(60, (40, "大米"), (155, "10"), (205, "5"), (260, "L2301A"), (360, "2026-01-05"), (440, "袋")),
        _row(80, (40, "面粉"), (155, "12"), (205, "8"), (260, "250105C3"), (360, "2026-01-07"), (440, "袋")),
        _row(100, (40, "酱油"), (155, "24"), (205, "2"), (260, "L2303C"), (360, "2026-01-09"), (440, "瓶")),
    )
    _, lines = extract_delivery_note(layout)
    assert _col(lines, "batch_no") == ["L2301A", "250105C3", "L2303C"]
    assert _col(lines, "production_date") == [date(2026, 1, 5), date(2026, 1, 7), date(2026, 1, 9)]
    assert _col(lines, "spec") == [None, None, None]
    assert _col(lines, "quantity") == [Decimal("5"), Decimal("8"), Decimal("2")]


def test_a_carried_over_row_at_the_top_of_a_page_does_not_end_the_table() -> None:
    layout = _page(
        _row(40, (40, "品名"), (200, "单位"), (260, "数量"), (330, "单价"), (400, "金额")),
        _row(60, (40, "承上页："), (400, "1,000.00")),
        _row(80, (40, "苹果"), (200, "箱"), (260, "2"), (330, "50.00"), (400, "100.00")),
        _row(100, (40, "香蕉"), (200, "箱"), (260, "1"), (330, "30.00"), (400, "30.00")),
        _row(120, (40, "合计："), (400, "1,130.00")),
    )
    _, lines = extract_delivery_note(layout)
    assert _col(lines, "description") == ["苹果", "香蕉"]


# ------------------------------------------------------------------------------- header labels

def _delivery_header() -> Layout:
    return _page(
        _row(20, (420, "打印时间："), (480, "2026-04-02")),
        _row(34, (200, "诚信经营 质量第一")),
        _row(50, (180, "杭州青禾食品有限公司")),
        _row(66, (150, "杭州市西湖区文三路100号"), (290, "0571-88886666")),
        _row(82, (150, "统一社会信用代码："), (240, "91330106MA2B0X8Y7F")),
        _row(100, (250, "送货单"), (320, "No."), (345, "SH2026031501")),
        _row(124, (40, "收货单位："), (300, "制单日期："), (360, "2026年3月15日")),
        _row(138, (40, "宁波明德商贸有限公司"), (300, "PO号："), (340, "4500012345")),
        _row(152, (40, "宁波市北仑区明州路8号"), (300, "订单日期："), (360, "2026-03-01")),
        _row(166, (40, "税号："), (80, "91330206MA2C1Y2Z3Q")),
        _row(200, (40, "品名"), (200, "单位"), (260, "数量"), (330, "单价"), (400, "金额")),
        _row(220, (40, "大米"), (200, "袋"), (260, "10"), (330, "50.00"), (400, "500.00")),
        _row(240, (40, "合计："), (400, "500.00")),
        _row(270, (40, "送货人："), (90, "王强"), (300, "收货人（签字）："), (420, "收货日期：")),
    )


def test_number_beside_the_title_and_other_wordings_of_labels() -> None:
    fields, _ = extract_delivery_note(_delivery_header())
    v = _values(fields)
    assert v["document_number"] == "SH2026031501"
    assert v["po_number"] == "4500012345"
    assert v["document_date"] == date(2026, 3, 15)      # 制单日期, not 打印时间 or 订单日期


def test_an_empty_signature_label_takes_nothing() -> None:
    fields, _ = extract_delivery_note(_delivery_header())
    assert fields["deliverer"].value == "王强"
    assert "receiver" not in _values(fields)


def test_party_blocks_by_structure() -> None:
    fields, _ = extract_delivery_note(_delivery_header())
    v = _values(fields)
    assert v["supplier_name"] == "杭州青禾食品有限公司"        # not the slogan above the letterhead
    assert v["supplier_address"] == "杭州市西湖区文三路100号"   # unlabelled, by shape, under the letterhead
    assert v["supplier_phone"] == "0571-88886666"
    assert v["supplier_tax_id"] == "91330106MA2B0X8Y7F"
    assert v["buyer_name"] == "宁波明德商贸有限公司"
    assert v["buyer_address"] == "宁波市北仑区明州路8号"        # the line under the buyer's name
    assert v["buyer_tax_id"] == "91330206MA2C1Y2Z3Q"           # 税号 in the buyer's block


def test_value_boxes_hold_the_value_and_nothing_after_it() -> None:
    layout = _page(
        _row(40, (40, "订单编号："), (100, "4585585988"), (170, "订单日期"), (220, "2025/07/20")),
        _row(60, (40, "地址："), (80, "上海市浦东新区川沙路161号"), (220, "·"), (232, "Tel："), (260, "021-5555666")),
    )
    fields, _ = extract_delivery_note(layout)
    assert fields["po_number"].value == "4585585988"
    assert _text_in(layout, fields["po_number"].bbox) == "4585585988"
    assert fields["supplier_address"].value == "上海市浦东新区川沙路161号"
    assert _text_in(layout, fields["supplier_address"].bbox) == "上海市浦东新区川沙路161号"


def test_labels_glued_to_their_values_without_a_colon() -> None:
    layout = _page(
        _row(30, (40, "天津蓝湾建材有限公司")),
        _row(46, (40, "联系地址天津市滨海新区黄海路357号")),
        _row(62, (40, "电"), (52, "话18363930326")),
        _row(78, (40, "纳税人识别号91120116MA05T12349")),
        _row(100, (40, "购货单位广州恒丰粮油有限公司"), (300, "发货单号BL2025-30744")),
        _row(116, (300, "出库日期2025-06-12")),
    )
    v = _values(extract_delivery_note(layout)[0])
    assert v["supplier_address"] == "天津市滨海新区黄海路357号"
    assert v["supplier_phone"] == "18363930326"
    assert v["supplier_tax_id"] == "91120116MA05T12349"
    assert v["buyer_name"] == "广州恒丰粮油有限公司"
    assert v["document_number"] == "BL2025-30744"
    assert v["document_date"] == date(2025, 6, 12)


def test_labels_we_have_no_wording_for_are_read_by_their_words() -> None:
    layout = _page(
        _row(30, (40, "华东精密五金厂")),
        _row(60, (40, "出货单号"), (140, "填单日期："), (300, "交货日期")),
        _row(74, (40, "CH-20260311"), (200, "2026-03-11"), (300, "2026-03-12")),
        _row(100, (40, "订货单位"), (300, "生效日期："), (360, "2026-01-01")),
        _row(114, (40, "武汉新禾日化有限公司")),
    )
    v = _values(extract_delivery_note(layout)[0])
    assert v["document_number"] == "CH-20260311"       # 出货单号 over its code, no colon
    assert v["document_date"] == date(2026, 3, 11)      # 填单日期: names the document's date
    assert v["delivery_date"] == date(2026, 3, 12)
    assert v["buyer_name"] == "武汉新禾日化有限公司"        # 订货单位 over a company's name
    assert v["supplier_name"] == "华东精密五金厂"


def test_the_supplier_street_from_a_footer_beside_its_name() -> None:
    layout = _page(
        _row(30, (200, "深圳安泰文化用品有限公司"), (400, "出库单号："), (460, "BL2025-58385")),
        _row(60, (40, "客户："), (80, "苏州盛隆建材有限公司")),
        _row(100, (40, "品名"), (200, "单位"), (260, "数量")),
        _row(120, (40, "大米"), (200, "袋"), (260, "10")),
        _row(800, (200, "深圳安泰文化用品有限公司"), (330, "深圳市南山区科技园南路287号")),
    )
    fields, _ = extract_delivery_note(layout)
    assert fields["supplier_address"].value == "深圳市南山区科技园南路287号"
    assert fields["supplier_address"].bbox is not None and fields["supplier_address"].bbox.y0 == 800


# ------------------------------------------------------------------------------- receipts, totals

def test_receipt_items_printed_as_a_name_line_then_quantity_x_price() -> None:
    layout = _page(
        _row(20, (8, "北京嘉祥超市")),
        _row(34, (8, "流水号："), (50, "232/78472")),
        _row(48, (8, "-------------------------")),
        _row(60, (8, "苹果"), (160, "69.48")),
        _row(72, (20, "4"), (30, "kg"), (44, "x"), (54, "17.37")),
        _row(84, (8, "番茄罐头")),
        _row(96, (20, "4 x 18.46"), (160, "73.84")),
        _row(108, (8, "纯牛奶"), (160, "80.98")),
        _row(120, (8, "-------------------------")),
        _row(132, (8, "合计："), (160, "224.30")),
        width=200.0,
    )
    fields, lines = extract_delivery_note(layout)
    assert _col(lines, "description") == ["苹果", "番茄罐头", "纯牛奶"]
    assert _col(lines, "quantity") == [Decimal("4"), Decimal("4"), None]
    assert _col(lines, "unit") == ["kg", None, None]
    assert _col(lines, "unit_price") == [Decimal("17.37"), Decimal("18.46"), None]
    assert _col(lines, "amount") == [Decimal("69.48"), Decimal("73.84"), Decimal("80.98")]
    price = lines[1].fields["unit_price"].bbox        # '4 x 18.46' is one word: each value keeps its own box
    assert price is not None and price.x0 > 30
    assert fields["total_amount"].value == Decimal("224.30")


def test_subtotal_tax_and_total_are_told_apart_by_their_arithmetic() -> None:
    layout = _page(
        _row(30, (250, "销售发票")),
        _row(60, (40, "品名"), (200, "单位"), (260, "数量"), (330, "单价"), (400, "金额")),
        _row(80, (40, "大米"), (200, "袋"), (260, "10"), (330, "100.00"), (400, "1,000.00")),
        _row(100, (40, "合计"), (400, "1,000.00")),
        _row(120, (300, "增值税 13 %："), (400, "¥"), (410, "130.00")),
        _row(140, (300, "合计金额："), (400, "¥"), (410, "1,130.00")),
    )
    fields, lines = extract_vat_invoice(layout)        # a supplier's own invoice, not the VAT form
    v = _values(fields)
    assert (v["subtotal"], v["tax_amount"], v["total_amount"]) == (Decimal("1000.00"), Decimal("130.00"),
                                                                 Decimal("1130.00"))
    assert _col(lines, "description") == ["大米"]


# ------------------------------------------------------------------------------- generated documents

GRAMMAR_KINDS = "delivery,packing,receipt,invoice"


@pytest.fixture(scope="module")
def grammar_docs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fixtures.cjk_font import font_available
    if not font_available():
        pytest.skip("the CJK font is not installed")
    from fixtures.grammar.__main__ import options_from
    from fixtures.grammar.generate import generate
    out = tmp_path_factory.mktemp("grammar_zh")
    options, folder = options_from([str(out), "--count", "12", "--seed", "7", "--langs", "zh", "--kinds",
                                    GRAMMAR_KINDS, "--workers", "1", "--no-progress"])
    generate(options, folder)
    return folder


def test_generated_forms_of_development_families(grammar_docs: Path) -> None:
    """Fields and lines of a dozen generated Chinese forms (development families, seed 7), with every
    value's box holding the printed text."""
    from pipeline.bench.evaluate import Report, documents_in, load_truth, score_document
    from pipeline.bench.runner import extract_file
    from extractors.options import ReadOptions
    docs = []
    for doc_path, gt_path in documents_in(grammar_docs):
        truth = load_truth(gt_path)
        assert truth["gt_meta"]["held_back"] is False
        extraction = extract_file(doc_path, ReadOptions())
        docs.append(score_document(doc_path.name, truth, extraction))
        words = json.loads(doc_path.with_suffix(".words.json").read_text())["pages"]
        _check_boxes(extraction.fields, words)
    report = Report(docs)
    assert report.overall("fields").f1 >= 0.95 and report.overall("lines").f1 >= 0.95, report.summary_line()


def _check_boxes(fields: dict[str, Field], pages: list[dict]) -> None:
    """A field read off the page (not derived) has a box over printed words."""
    for name, f in fields.items():
        if f.value is None or f.bbox is None or not f.raw:
            continue
        words = pages[f.page - 1]["words"]
        inside = [w for w in words if f.bbox.x0 - 1 <= (w["bbox"][0] + w["bbox"][2]) / 2 <= f.bbox.x1 + 1
                  and f.bbox.y0 - 1 <= (w["bbox"][1] + w["bbox"][3]) / 2 <= f.bbox.y1 + 1]
        assert inside, name
