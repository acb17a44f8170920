"""OFD reader (extractors.ofd), Chinese VAT invoice extraction (extractors.cn.vat), extractors.cn.checks."""

from __future__ import annotations

import io
import json
import time
import unicodedata
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from extractors.cn.checks import amount_in_words_to_decimal, uscc_is_valid
from extractors.errors import CorruptFile, TooLarge, UnsafeContent
from extractors.layout import BBox, Layout, Line, Page, Word
from extractors.ofd import ofd_attachments, parse_deltas, read_ofd
from extractors.options import ReadOptions
from extractors.result import format_value
from extractors.cn.vat import extract_vat_invoice, parse_rate

REALDOCS = Path(__file__).resolve().parents[2] / "shared" / "realdocs"
SAMPLE = REALDOCS / "ofdrw_ofd_einvoices" / "ofd_fapiao_shili.ofd"
needs_sample = pytest.mark.skipif(not SAMPLE.exists(), reason="shared realdocs not present")


def _same(got: str | None, want: str) -> bool:
    if got is None:
        return False
    try:
        return Decimal(got) == Decimal(want)
    except ArithmeticError:
        return " ".join(got.split()).casefold() == " ".join(want.split()).casefold()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


# ------------------------------------------------------------------------------------------
# OFD reader
# ------------------------------------------------------------------------------------------

@needs_sample
def test_read_ofd_sample_words_and_boxes() -> None:
    layout = read_ofd(SAMPLE.read_bytes(), ReadOptions())
    assert layout.source == "ofd" and len(layout.pages) == 1
    page = layout.pages[0]
    assert page.source == "ofd"
    assert page.width == pytest.approx(210 * 72 / 25.4) and page.height == pytest.approx(140 * 72 / 25.4)
    words = {w.text: w for w in page.words()}
    assert "050001700111" in words
    assert any(w.text.startswith("发票代码") for w in page.words())
    for w in page.words():
        assert 0 <= w.bbox.x0 < w.bbox.x1 <= page.width + 1
        assert 0 <= w.bbox.y0 < w.bbox.y1 <= page.height + 1
    code, label = words["050001700111"], next(w for w in page.words() if w.text.startswith("发票代码"))
    assert code.bbox.y_overlap(label.bbox) > 0.5 and code.bbox.x0 >= label.bbox.x0
    # the check code is printed in groups: separate words
    assert {"14754", "82292", "98567", "72523"} <= set(words)


@needs_sample
def test_ofd_attachments_sample() -> None:
    atts = ofd_attachments(SAMPLE.read_bytes())
    assert "original_invoice.xml" in atts
    assert b"050001700111" in atts["original_invoice.xml"]


def test_parse_deltas_repeat_syntax() -> None:
    assert parse_deltas("g 3 1.5 2", 10) == [1.5, 1.5, 1.5, 2.0]
    assert parse_deltas("g 1000000000 1", 4) == [1.0] * 4   # capped at what the text needs
    assert parse_deltas(None, 3) is None


def test_zip_bomb_raises_too_large_quickly() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("Doc_0/Pages/Page_0/Content.xml", "w", force_zip64=True) as fh:
            chunk = bytes(1 << 20)
            for _ in range(300):
                fh.write(chunk)
        zf.writestr("OFD.xml", b"<OFD/>")
    data = buf.getvalue()
    assert len(data) < 2_000_000
    start = time.monotonic()
    with pytest.raises(TooLarge):
        read_ofd(data, ReadOptions())
    assert time.monotonic() - start < 2.0


def test_unpacked_limit_holds_for_actual_reads() -> None:
    ofd = (b'<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"><ofd:DocBody>'
           b"<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>")
    data = _zip({"OFD.xml": ofd, "Doc_0/Document.xml": b"<a>" + b" " * 50_000 + b"</a>"})
    with pytest.raises(TooLarge):
        read_ofd(data, ReadOptions(max_unpacked_bytes=20_000))


def test_not_a_zip_is_corrupt() -> None:
    with pytest.raises(CorruptFile):
        read_ofd(b"%PDF-1.7 this is not a zip at all", ReadOptions())
    with pytest.raises(CorruptFile):
        read_ofd(SAMPLE.read_bytes()[:4000] if SAMPLE.exists() else b"PK\x03\x04broken", ReadOptions())


def test_xml_entities_are_unsafe() -> None:
    evil = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
            b'<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"><ofd:DocBody>'
            b"<ofd:DocRoot>&lol2;</ofd:DocRoot></ofd:DocBody></ofd:OFD>")
    with pytest.raises(UnsafeContent):
        read_ofd(_zip({"OFD.xml": evil}), ReadOptions())


def test_path_tricks_are_unsafe() -> None:
    with pytest.raises(UnsafeContent):
        read_ofd(_zip({"../../etc/passwd": b"x", "OFD.xml": b"<OFD/>"}), ReadOptions())
    ofd = (b'<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"><ofd:DocBody>'
           b"<ofd:DocRoot>../outside/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>")
    with pytest.raises(UnsafeContent):
        read_ofd(_zip({"OFD.xml": ofd}), ReadOptions())


def test_too_many_pages() -> None:
    ofd = (b'<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"><ofd:DocBody>'
           b"<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>")
    pages = b"".join(b'<ofd:Page ID="%d" BaseLoc="Pages/Page_%d/Content.xml"/>' % (i, i) for i in range(5))
    doc = b'<ofd:Document xmlns:ofd="http://www.ofdspec.org/2016"><ofd:Pages>' + pages + b"</ofd:Pages></ofd:Document>"
    with pytest.raises(TooLarge):
        read_ofd(_zip({"OFD.xml": ofd, "Doc_0/Document.xml": doc}), ReadOptions(max_pages=3))


# ------------------------------------------------------------------------------------------
# VAT extraction on the real sample
# ------------------------------------------------------------------------------------------

@needs_sample
def test_vat_sample_matches_ground_truth() -> None:
    gt = json.loads(SAMPLE.with_suffix(".json").read_text(encoding="utf-8"))
    fields, lines = extract_vat_invoice(read_ofd(SAMPLE.read_bytes(), ReadOptions()))
    wrong = {k: (v, format_value(fields[k].value) if k in fields else None)
             for k, v in gt["fields"].items()
             if k not in fields or not _same(format_value(fields[k].value), v)}
    assert not wrong
    assert len(lines) == len(gt["lines"])
    for want, got in zip(gt["lines"], lines):
        for k, v in want.items():
            if k != "line_no":
                assert k in got.fields and _same(format_value(got.fields[k].value), v), (want["line_no"], k)
    assert fields["document_date"].value == date(2020, 10, 10)
    assert fields["total_amount_in_words"].value == "叁佰壹拾捌圆整"
    f = fields["invoice_code"]
    assert f.page == 1 and f.bbox is not None and f.confidence >= 0.85


# ------------------------------------------------------------------------------------------
# a hand-made 数电 (fully digital) invoice layout
# ------------------------------------------------------------------------------------------

SIZE = 9.0


def _w(text: str, x: float, y: float, size: float = SIZE) -> Word:
    width = sum(size if unicodedata.east_asian_width(c) in "WF" else 0.55 * size for c in text)
    return Word(text, BBox(x, y, x + width, y + size))


def _vertical(text: str, x: float, y: float, step: float = 12.0) -> list[Word]:
    return [_w(ch, x, y + i * step) for i, ch in enumerate(text)]


def _shudian_layout(sign: str = "") -> Layout:
    words = [
        _w("电子发票（增值税专用发票）", 190, 25, 14),
        _w("发票号码：", 420, 40), _w("24442000000012345678", 466, 40),
        _w("开票日期：", 420, 54), _w("2024年01月15日", 466, 54),
        *_vertical("购买方信息", 22, 80), *_vertical("销售方信息", 300, 80),
        _w("名称：", 40, 90), _w("广州市示例科技有限公司", 70, 90),
        _w("统一社会信用代码/纳税人识别号：", 40, 115), _w("91440101MA59ABCDEM", 183, 115),
        _w("名称：", 318, 90), _w("深圳市样例贸易有限公司", 348, 90),
        _w("统一社会信用代码/纳税人识别号：", 318, 115), _w("91440300MA5FXKQ1RP", 461, 115),
        _w("项目名称", 60, 150), _w("规格型号", 160, 150), _w("单位", 225, 150), _w("数量", 265, 150),
        _w("单价", 315, 150), _w("金额", 390, 150), _w("税率/征收率", 430, 150), _w("税额", 520, 150),
        _w("*信息技术服务*软件开发", 20, 166), _w("V2.0", 165, 166), _w("项", 228, 166),
        _w("1", 290, 166), _w("10000", 330, 166), _w(f"{sign}10000.00", 385, 166),
        _w("6%", 450, 166), _w(f"{sign}600.00", 515, 166),
        _w("服务费", 20, 178),
        _w("*电子计算机*笔记本电脑", 20, 192), _w("X1", 165, 192), _w("台", 228, 192),
        _w(f"{sign}2", 288, 192), _w("5000", 330, 192), _w(f"{sign}10000.00", 385, 192),
        _w("13%", 450, 192), _w(f"{sign}1300.00", 512, 192),
        _w("合", 60, 260), _w("计", 90, 260), _w(f"¥{sign}20000.00", 380, 260), _w(f"¥{sign}1900.00", 505, 260),
        _w("价税合计（大写）", 20, 280),
        _w(("（负数）" if sign else "") + "ⓧ贰万壹仟玖佰圆整", 150, 280),
        _w(f"（小写）¥{sign}21900.00", 420, 280),
        *_vertical("备注", 22, 300, 15), _w("项目：某某软件开发", 40, 305),
        _w("开票人：", 40, 360), _w("李四", 80, 360),
    ]
    lines = tuple(Line((w,)) for w in words)
    return Layout(pages=(Page(1, 595.0, 396.0, lines, source="text-layer"),), source="text-layer")


def _values(fields: dict) -> dict[str, str | None]:
    return {k: format_value(f.value) for k, f in fields.items()}


def test_shudian_invoice_fields() -> None:
    fields, lines = extract_vat_invoice(_shudian_layout())
    v = _values(fields)
    assert v["document_number"] == "24442000000012345678"
    assert v["document_date"] == "2024-01-15"
    assert v["buyer_name"] == "广州市示例科技有限公司"
    assert v["buyer_tax_id"] == "91440101MA59ABCDEM"
    assert v["supplier_name"] == "深圳市样例贸易有限公司"
    assert v["supplier_tax_id"] == "91440300MA5FXKQ1RP"
    assert v["subtotal"] == "20000.00" and v["tax_amount"] == "1900.00"
    assert v["total_amount"] == "21900.00" and v["currency"] == "CNY"
    assert amount_in_words_to_decimal(v["total_amount_in_words"] or "") == Decimal("21900")
    assert v["issuer_clerk"] == "李四"
    assert v["remarks"] == "项目:某某软件开发"
    assert "invoice_code" not in v
    assert uscc_is_valid(v["buyer_tax_id"] or "") and uscc_is_valid(v["supplier_tax_id"] or "")


def test_shudian_invoice_lines_with_wrapped_row() -> None:
    _, lines = extract_vat_invoice(_shudian_layout())
    assert len(lines) == 2
    first, second = (_values(li.fields) for li in lines)
    assert first == {"description": "*信息技术服务*软件开发服务费", "spec": "V2.0", "unit": "项",
                     "quantity": "1", "unit_price": "10000", "amount": "10000.00",
                     "tax_rate": "0.06", "tax_amount": "600.00"}
    assert second["description"] == "*电子计算机*笔记本电脑" and second["tax_rate"] == "0.13"
    assert second["quantity"] == "2" and second["amount"] == "10000.00"
    f = lines[0].fields["description"]
    assert f.page == 1 and f.bbox is not None and f.bbox.y1 > 178


def test_red_letter_invoice_keeps_negative_amounts() -> None:
    fields, lines = extract_vat_invoice(_shudian_layout(sign="-"))
    v = _values(fields)
    assert v["subtotal"] == "-20000.00" and v["total_amount"] == "-21900.00"
    assert amount_in_words_to_decimal(v["total_amount_in_words"] or "") == Decimal("-21900")
    assert [li.fields["amount"].value for li in lines] == [Decimal("-10000.00")] * 2


def _page(words: list[Word]) -> Layout:
    lines = tuple(Line((w,)) for w in words)
    return Layout(pages=(Page(1, 595.0, 396.0, lines, source="ocr"),), source="ocr")


def test_side_by_side_parties_without_block_labels_buyer_is_left() -> None:
    # OCR lost the stacked 购买方信息 / 销售方信息 labels; the seller's row sits a little higher
    words = [
        _w("名称：", 318, 88), _w("深圳市样例贸易有限公司", 348, 88),
        _w("名称：", 40, 91), _w("广州市示例科技有限公司", 70, 91),
        _w("统一社会信用代码/纳税人识别号：", 318, 113), _w("91440300MA5FXKQ1RP", 461, 113),
        _w("统一社会信用代码/纳税人识别号：", 40, 116), _w("91440101MA59ABCDEM", 183, 116),
    ]
    v = _values(extract_vat_invoice(_page(words))[0])
    assert v["buyer_name"] == "广州市示例科技有限公司" and v["supplier_name"] == "深圳市样例贸易有限公司"
    assert v["buyer_tax_id"] == "91440101MA59ABCDEM" and v["supplier_tax_id"] == "91440300MA5FXKQ1RP"


def test_stacked_parties_without_block_labels_buyer_is_top() -> None:
    words = [
        _w("名称：", 40, 60), _w("广州市示例科技有限公司", 70, 60),
        _w("名称：", 40, 300), _w("深圳市样例贸易有限公司", 70, 300),
    ]
    v = _values(extract_vat_invoice(_page(words))[0])
    assert v["buyer_name"] == "广州市示例科技有限公司" and v["supplier_name"] == "深圳市样例贸易有限公司"


def test_seal_text_is_stripped_from_party_values() -> None:
    words = [
        *_vertical("销售方", 22, 80),
        _w("地址、电话：", 40, 90), _w("苏州市虎丘区长江路317号业务专用章", 100, 90),
        _w("名称：", 40, 104), _w("苏州示例有限公司发票专用章", 70, 104),
    ]
    v = _values(extract_vat_invoice(_page(words))[0])
    assert v["supplier_address_phone"] == "苏州市虎丘区长江路317号"
    assert v["supplier_name"] == "苏州示例有限公司"


@pytest.mark.parametrize("read", ["禾叁仟伍佰玖拾陆圆肆角壹分", "大的叁仟伍伯玖拾陆圆肆角壹分", "⊗叁仟伍佰玖拾陆圆肆角壹分"])
def test_words_total_off_the_label_row_is_accepted_when_it_agrees(read: str) -> None:
    words = [
        _w("价税合计（大写）", 20, 280), _w(read, 150, 291),   # a row lower, noise in front
        _w("（小写）", 420, 280), _w("¥3596.41", 460, 280),
    ]
    v = _values(extract_vat_invoice(_page(words))[0])
    assert v["total_amount"] == "3596.41"
    assert v["total_amount_in_words"] == "叁仟伍佰玖拾陆圆肆角壹分"


def test_words_total_that_disagrees_is_not_taken() -> None:
    words = [_w("价税合计（大写）", 20, 280), _w("叁仟圆整", 150, 291), _w("（小写）¥3596.41", 420, 280)]
    v = _values(extract_vat_invoice(_page(words))[0])
    assert "total_amount_in_words" not in v


def test_sum_row_without_its_label_gives_subtotal_not_a_line() -> None:
    layout = _shudian_layout()
    words = [w for ln in layout.pages[0].lines for w in ln.words if w.text not in ("合", "计")]
    fields, lines = extract_vat_invoice(_page(words))
    v = _values(fields)
    assert len(lines) == 2
    assert v["subtotal"] == "20000.00" and v["tax_amount"] == "1900.00"


def test_zero_rates() -> None:
    assert parse_rate("免税") == Decimal("0") and parse_rate("不征税") == Decimal("0")
    assert parse_rate("13%") == Decimal("0.13") and parse_rate("6%") == Decimal("0.06")


# ------------------------------------------------------------------------------------------
# extractors.cn.checks
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("code", ["91350100M000100Y43", "91440101MA59ABCDEM", "91440300MA5FXKQ1RP"])
def test_uscc_valid(code: str) -> None:
    assert uscc_is_valid(code)


@pytest.mark.parametrize("code", ["91350100M000100Y44", "9150010807MGZHI002", "91500106MA2CE71F65",
                                  "", "91350100M000100Y4", "91350100M000100YO3"])
def test_uscc_invalid(code: str) -> None:
    # 91500106MA2CE71F65 (the demo seller in the OFD sample) fails its check character
    assert not uscc_is_valid(code)


@pytest.mark.parametrize("text, value", [
    ("壹仟贰佰叁拾肆圆伍角陆分", "1234.56"),
    ("叁佰壹拾捌圆整", "318"),
    ("ⓧ叁佰壹拾捌圆整", "318"),
    ("⊗叁佰壹拾捌元正", "318"),
    ("负叁佰壹拾捌圆整", "-318"),
    ("（负数）壹佰圆整", "-100"),
    ("壹拾万零伍佰圆零伍分", "100500.05"),
    ("伍角", "0.5"),
    ("壹亿贰仟万圆整", "120000000"),
    ("拾圆整", "10"),
])
def test_amount_in_words(text: str, value: str) -> None:
    assert amount_in_words_to_decimal(text) == Decimal(value)


@pytest.mark.parametrize("text", ["", "hello", "圆整", "叁佰X圆"])
def test_amount_in_words_rejects(text: str) -> None:
    assert amount_in_words_to_decimal(text) is None
