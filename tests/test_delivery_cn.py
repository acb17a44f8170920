"""Chinese delivery notes from hand-built layouts: three suppliers, three different forms."""

from __future__ import annotations

import unicodedata
from datetime import date
from decimal import Decimal

from extractors.cn.delivery import extract_delivery_note, shelf_life_end
from extractors.layout import BBox, Layout, Line, Page, Word
from extractors.result import Field, LineItem

SIZE = 10.0     # font size and word height, points
PITCH = 18.0    # rows 18 pt apart


def _width(text: str) -> float:
    """About one em per CJK / full-width character, half an em otherwise."""
    return sum(SIZE if unicodedata.east_asian_width(c) in "WF" else 0.55 * SIZE for c in text)


def _cell(x: float, y: float, text: str) -> list[Word]:
    """One cell's words (split at spaces, as a reader does) starting at x."""
    words = []
    for part in text.split():
        words.append(Word(part, BBox(x, y, x + _width(part), y + SIZE)))
        x += _width(part) + 0.3 * SIZE
    return words


def _grid(top: float, xs: list[float], rows: list[list[str]]) -> list[Line]:
    """A block of rows PITCH apart; cell j of each row starts at xs[j]; empty cells print nothing."""
    lines = []
    for i, row in enumerate(rows):
        words = [w for x, text in zip(xs, row) if text for w in _cell(x, top + i * PITCH, text)]
        if words:
            lines.append(Line(tuple(words)))
    return lines


def _layout(*blocks: list[Line]) -> Layout:
    lines = tuple(ln for block in blocks for ln in block)
    return Layout((Page(1, 595.0, 842.0, lines),), "test")


def _values(fields: dict[str, Field]) -> dict[str, object]:
    return {name: f.value for name, f in fields.items()}


def _column(lines: list[LineItem], name: str) -> list[object]:
    return [li.fields[name].value if name in li.fields else None for li in lines]


def _check_fields_well_formed(fields: dict[str, Field], lines: list[LineItem]) -> None:
    for f in [*fields.values(), *(f for li in lines for f in li.fields.values())]:
        assert 0.0 <= f.confidence <= 1.0
        assert f.page in (0, 1)
        if f.value is not None and f.page == 1:
            assert f.bbox is not None and f.bbox.x0 <= f.bbox.x1 and f.bbox.y0 <= f.bbox.y1


# ------------------------------------------------------------------------------------ layout 1

def _food_note() -> Layout:
    """Food distributor: labels with colons in their own word, 批号/生产日期/保质期 columns, 合计 of quantity."""
    title = _grid(30, [260], [["送货单"]])
    head = _grid(50, [40, 100, 330, 370], [
        ["供货单位：", "杭州鲜丰食品有限公司", "电话：", "0571-88886666"],
        ["地址：", "杭州市余杭区文一西路100号"],
    ])
    head2 = _grid(86, [40, 80, 250, 290, 420, 460], [
        ["客户：", "西湖餐饮管理有限公司", "单号：", "SH20260305001", "日期：", "2026-03-05"],
        ["订单号：", "PO-7788"],
    ])
    xs = [30, 60, 140, 210, 250, 290, 360, 440, 500]
    table = _grid(140, xs, [
        ["序号", "品名", "规格", "单位", "数量", "批号", "生产日期", "保质期", "备注"],
        ["1", "冷冻鸡翅中", "1kg×10", "箱", "20", "B260301", "2026-03-01", "12个月", ""],
        ["2", "速冻水饺 猪肉白菜", "500g×20", "袋", "50", "B260215", "2026/2/15", "180天", "冷冻"],
        ["3", "辣椒酱", "250g", "箱", "5", "L2025", "2025.12.20", "1年", ""],
        ["4", "", "", "", "", "", "", "", ""],
        ["合计", "", "", "", "75", "", "", "", ""],
    ])
    foot = _grid(260, [40, 90, 300, 350], [["送货人：", "张三", "收货人：", "李四"]])
    return _layout(title, head, head2, table, foot)


def test_food_distributor_header() -> None:
    fields, _ = extract_delivery_note(_food_note())
    assert _values(fields) == {
        "supplier_name": "杭州鲜丰食品有限公司",
        "supplier_phone": "0571-88886666",
        "supplier_address": "杭州市余杭区文一西路100号",
        "buyer_name": "西湖餐饮管理有限公司",
        "document_number": "SH20260305001",
        "document_date": date(2026, 3, 5),
        "po_number": "PO-7788",
        "total_quantity": Decimal("75"),
        "deliverer": "张三",
        "receiver": "李四",
    }
    assert fields["buyer_name"].confidence > 0.9
    assert fields["document_date"].raw == "2026-03-05"
    assert fields["document_number"].page == 1
    assert fields["document_number"].bbox is not None and fields["document_number"].bbox.x0 == 290


def test_food_distributor_lines() -> None:
    _, lines = extract_delivery_note(_food_note())
    assert [li.line_no for li in lines] == [1, 2, 3]
    # words of one cell are joined without a space at a CJK edge (as in extractors.cn.vat); raw keeps the print
    assert _column(lines, "description") == ["冷冻鸡翅中", "速冻水饺猪肉白菜", "辣椒酱"]
    assert lines[1].fields["description"].raw == "速冻水饺 猪肉白菜"
    assert _column(lines, "spec") == ["1kg×10", "500g×20", "250g"]
    assert _column(lines, "unit") == ["箱", "袋", "箱"]
    assert _column(lines, "quantity") == [Decimal("20"), Decimal("50"), Decimal("5")]
    assert _column(lines, "batch_no") == ["B260301", "B260215", "L2025"]
    assert _column(lines, "production_date") == [date(2026, 3, 1), date(2026, 2, 15), date(2025, 12, 20)]
    assert _column(lines, "shelf_life") == ["12个月", "180天", "1年"]
    assert _column(lines, "expiry_date") == [date(2027, 3, 1), date(2026, 8, 14), date(2026, 12, 20)]
    assert _column(lines, "remarks") == [None, "冷冻", None]
    derived = lines[0].fields["expiry_date"]
    assert derived.raw == "" and derived.confidence < lines[0].fields["production_date"].confidence
    assert all("unit_price" not in li.fields and "amount" not in li.fields for li in lines)
    _check_fields_well_formed(*extract_delivery_note(_food_note()))


# ------------------------------------------------------------------------------------ layout 2

def _electronics_note() -> Layout:
    """Electronics 出库单: labels in cells, value in the next cell; wrapped name; 合计 row with 大写."""
    title = _grid(30, [240], [["销售出库单"]])
    head = _grid(55, [40, 100, 330, 390], [
        ["发货单位", "深圳市华强电子有限公司", "联系电话", "0755-83216688"],
        ["客户名称", "广州创新科技有限公司", "单据编号", "CK-2026-0042"],
        ["收货地址", "广州市天河区科韵路8号", "出库日期", "2026/3/5"],
        ["采购单号", "PO20260228"],
    ])
    xs = [30, 60, 130, 240, 310, 340, 400, 450, 510]
    table = _grid(140, xs, [
        ["序号", "物料编码", "物料名称", "规格型号", "单位", "实发数量", "单价", "金额", "备注"],
        ["1", "C0402-104", "贴片电容", "0402 100nF", "个", "1000", "0.05", "50.00", ""],
        ["2", "R0603-10K", "贴片电阻", "0603 10K", "个", "2000", "0.02", "40.00", ""],
        ["3", "IC-STM32", "32位ARM微控制器", "LQFP48", "片", "10", "12.50", "125.00", "含静电袋"],
        ["", "", "STM32F103C8T6", "", "", "", "", "", ""],
        ["合计", "大写", "贰佰壹拾伍元整", "", "", "3010", "", "215.00", ""],
    ])
    foot = _grid(270, [40, 90, 200, 250, 380, 430], [["制单人", "王五", "送货人", "赵六", "收货人", "陈七"]])
    return _layout(title, head, table, foot)


def test_electronics_header() -> None:
    fields, _ = extract_delivery_note(_electronics_note())
    assert _values(fields) == {
        "supplier_name": "深圳市华强电子有限公司",
        "supplier_phone": "0755-83216688",
        "buyer_name": "广州创新科技有限公司",
        "buyer_address": "广州市天河区科韵路8号",
        "document_number": "CK-2026-0042",
        "document_date": date(2026, 3, 5),
        "po_number": "PO20260228",
        "total_amount": Decimal("215.00"),
        "total_amount_in_words": "贰佰壹拾伍元整",
        "total_quantity": Decimal("3010"),
        "deliverer": "赵六",
        "receiver": "陈七",
        "currency": "CNY",
    }
    assert fields["total_amount"].confidence >= 0.97        # 大写 agrees with 小写
    assert fields["total_amount_in_words"].confidence >= 0.97


def test_electronics_lines_and_wrapped_description() -> None:
    _, lines = extract_delivery_note(_electronics_note())
    assert [li.line_no for li in lines] == [1, 2, 3]
    assert _column(lines, "supplier_sku") == ["C0402-104", "R0603-10K", "IC-STM32"]
    assert _column(lines, "description") == ["贴片电容", "贴片电阻", "32位ARM微控制器STM32F103C8T6"]
    assert _column(lines, "spec") == ["0402 100nF", "0603 10K", "LQFP48"]
    assert _column(lines, "unit") == ["个", "个", "片"]
    assert _column(lines, "quantity") == [Decimal("1000"), Decimal("2000"), Decimal("10")]
    assert _column(lines, "unit_price") == [Decimal("0.05"), Decimal("0.02"), Decimal("12.50")]
    assert _column(lines, "amount") == [Decimal("50.00"), Decimal("40.00"), Decimal("125.00")]
    assert _column(lines, "remarks") == [None, None, "含静电袋"]
    assert lines[2].fields["description"].raw == "32位ARM微控制器\nSTM32F103C8T6"
    assert lines[0].fields["amount"].confidence >= 0.95     # 1000 x 0.05 == 50.00
    _check_fields_well_formed(*extract_delivery_note(_electronics_note()))


def test_words_that_disagree_with_the_total_lower_confidence() -> None:
    layout = _electronics_note()
    page = layout.pages[0]
    lines = tuple(Line(tuple(Word("贰佰元整", w.bbox) if w.text == "贰佰壹拾伍元整" else w for w in ln.words))
                  for ln in page.lines)
    fields, _ = extract_delivery_note(Layout((Page(1, page.width, page.height, lines),), "test"))
    assert fields["total_amount"].value == Decimal("215.00")
    assert fields["total_amount_in_words"].confidence <= 0.5


# ------------------------------------------------------------------------------------ layout 3

def _farm_note() -> Layout:
    """Farm produce: supplier only in the title, full-width colons and digits, 年月日 dates, other order."""
    title = _grid(30, [150], [["苏州绿源农产品有限公司送货单"]])
    head = _grid(55, [40, 300, 370], [
        ["ＮＯ：ＳＨ０００１２３"],
        ["收货单位：苏州大学第一食堂", "送货日期：", "２０２６年３月５日"],
        ["电话：０５１２－６６５５８８９９", "地址：苏州市吴中区木渎镇"],
    ])
    xs = [30, 90, 180, 270, 360, 390, 440, 500]
    table = _grid(130, xs, [
        ["货号", "商品名称", "生产日期", "有效期至", "单位", "数量", "单价", "金额"],
        ["GY-001", "有机大米", "２０２６年２月１日", "２０２７年２月１日", "袋", "３０", "４５．００", "１３５０．００"],
        ["GY-014", "土鸡蛋", "2026年3月1日", "2026年4月10日", "箱", "8", "120.00", "960.00"],
        ["GY-020", "青菜", "2026年3月5日", "", "公斤", "１２．５", "6.00", "75.00"],
        ["合计：", "", "", "", "", "", "", "２３８５．００"],
    ])
    foot = _grid(230, [40, 330], [
        ["合计金额（大写）：贰仟叁佰捌拾伍元整"],
        ["备注：请冷藏保存"],
        ["送货人：刘师傅", "收货人：周阿姨"],
    ])
    return _layout(title, head, table, foot)


def test_farm_header_from_title_and_full_width() -> None:
    fields, _ = extract_delivery_note(_farm_note())
    assert _values(fields) == {
        "supplier_name": "苏州绿源农产品有限公司",
        "document_number": "SH000123",
        "buyer_name": "苏州大学第一食堂",
        "document_date": date(2026, 3, 5),
        "supplier_phone": "0512-66558899",
        "supplier_address": "苏州市吴中区木渎镇",
        "total_amount": Decimal("2385.00"),
        "total_amount_in_words": "贰仟叁佰捌拾伍元整",
        "remarks": "请冷藏保存",
        "deliverer": "刘师傅",
        "receiver": "周阿姨",
        "currency": "CNY",
    }
    assert fields["supplier_name"].confidence < fields["buyer_name"].confidence   # from the title
    assert fields["document_date"].raw == "２０２６年３月５日"
    title_box = fields["supplier_name"].bbox
    assert title_box is not None and title_box.x0 == 150 and title_box.x1 < 150 + _width("苏州绿源农产品有限公司送货单")
    assert fields["total_amount"].confidence >= 0.97


def test_farm_lines() -> None:
    _, lines = extract_delivery_note(_farm_note())
    assert _column(lines, "supplier_sku") == ["GY-001", "GY-014", "GY-020"]
    assert _column(lines, "description") == ["有机大米", "土鸡蛋", "青菜"]
    assert _column(lines, "production_date") == [date(2026, 2, 1), date(2026, 3, 1), date(2026, 3, 5)]
    assert _column(lines, "expiry_date") == [date(2027, 2, 1), date(2026, 4, 10), None]
    assert _column(lines, "unit") == ["袋", "箱", "公斤"]
    assert _column(lines, "quantity") == [Decimal("30"), Decimal("8"), Decimal("12.5")]
    assert _column(lines, "unit_price") == [Decimal("45.00"), Decimal("120.00"), Decimal("6.00")]
    assert _column(lines, "amount") == [Decimal("1350.00"), Decimal("960.00"), Decimal("75.00")]
    assert lines[0].fields["quantity"].raw == "３０"
    _check_fields_well_formed(*extract_delivery_note(_farm_note()))


# ------------------------------------------------------------------------------------ odds and ends

def test_quantity_with_glued_unit_and_company_line_above_title() -> None:
    title = _grid(30, [200], [["宁波海鲜批发商行"], ["送货单"]])
    table = _grid(80, [40, 160, 240], [
        ["品名", "数量", "金额"],
        ["带鱼", "10箱", "800.00"],
    ])
    fields, lines = extract_delivery_note(_layout(title, table))
    assert fields["supplier_name"].value == "宁波海鲜批发商行"
    assert _column(lines, "quantity") == [Decimal("10")]
    assert _column(lines, "unit") == ["箱"]


def test_glued_and_letter_spaced_labels_and_values_below_labels() -> None:
    head = _grid(30, [40, 52, 300], [
        ["客户:甲公司单号:A-123"],
        ["日", "期：2026年3月5日"],
    ])
    above = _grid(70, [40, 200], [["供应商", "订单号"], ["乙食品厂", "PO-9"]])
    table = _grid(120, [30, 60, 200, 260, 320], [
        ["No.", "商品名称", "数量", "单价", "金额"],
        ["1", "苹果", "3", "2.00", "6.00"],
        ["2", "", "", "", ""],
        ["合计金额：¥6.00", "", "", "", ""],
    ])
    fields, lines = extract_delivery_note(_layout(head, above, table))
    assert _values(fields) == {
        "buyer_name": "甲公司", "document_number": "A-123", "document_date": date(2026, 3, 5),
        "supplier_name": "乙食品厂", "po_number": "PO-9", "total_amount": Decimal("6.00"), "currency": "CNY",
    }
    assert fields["supplier_name"].confidence < fields["buyer_name"].confidence   # found under its label
    assert [li.fields["description"].value for li in lines] == ["苹果"]


def test_shelf_life_arithmetic() -> None:
    assert shelf_life_end(date(2026, 1, 31), "1个月") == date(2026, 2, 28)
    assert shelf_life_end(date(2026, 3, 5), "18个月") == date(2027, 9, 5)
    assert shelf_life_end(date(2026, 3, 5), "2周") == date(2026, 3, 19)
    assert shelf_life_end(date(2026, 3, 5), "常温保存") is None


def test_empty_layout() -> None:
    assert extract_delivery_note(Layout((Page(1, 595.0, 842.0, ()),), "test")) == ({}, [])


def test_delivery_notes_go_through_the_whole_extractor() -> None:
    from extractors.extract import extract_from_layout
    for layout in (_food_note(), _electronics_note(), _farm_note()):
        ex = extract_from_layout(layout)
        assert ex.document_type == "delivery_note" and ex.language == "zh"
        assert ex.lines and "document_number" in ex.fields
