"""Every issue code the system can emit has a Chinese message (found by scanning the source, so a new code
without one fails here), the Chinese sentences carry the values of the English message, and every field,
match method, source, role and status has a Chinese name."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from markupsafe import escape

from review_ui.i18n import FIELD_NAMES, METHOD_NAMES, ROLE_NAMES, SOURCE_NAMES, STATUS_NAMES, names
from review_ui.issue_texts import MESSAGES, approval_text, error_message, error_text, failure_text, issue_text

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("extractors", "matching", "pipeline", "models", "review_ui", "api")
ISSUE_CALL = re.compile(r"\bIssue\(\s*(?:code\s*=\s*)?([^,]*?),\s*(?:severity\s*=\s*)?Severity\.")  # its code
STRING = re.compile(r"[\"']([a-z][a-z0-9_]*)[\"']")
ISSUE_DICT = re.compile(r"\{\s*[\"']code[\"']\s*:\s*[\"']([a-z][a-z0-9_]*)[\"']\s*,\s*[\"']severity[\"']")
ERROR_CODE = re.compile(r"^\s+code\s*=\s*[\"']([a-z][a-z0-9_]*)[\"']\s*$", re.M)   # an InboundError's code
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
SCHEMA = Path("/work/shared/contracts/extraction.schema.json")


def _sources() -> list[Path]:
    return [p for folder in SCANNED for p in (ROOT / folder).rglob("*.py") if "migrations" not in p.parts]


def emitted_codes() -> dict[str, str]:
    """code -> the file that emits it: Issue("code", ...), issue dicts {"code": ..., "severity": ...} and the
    error classes' codes (a failed reading's issue and a failed document's reason)."""
    found: dict[str, str] = {}
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        codes = [c for first in ISSUE_CALL.findall(text) for c in STRING.findall(first)]
        codes += ISSUE_DICT.findall(text) + ERROR_CODE.findall(text)
        for code in codes:
            found.setdefault(code, str(path.relative_to(ROOT)))
    return found


def test_the_scan_finds_the_known_codes():
    codes = emitted_codes()
    for code in ("invoice_exceeds_receipt", "product_unmatched", "batch_required", "unit_factor_missing",
                 "qr_mismatch", "corrupt_file", "timeout", "supplier_new", "supplier_unmatched"):
        assert code in codes, code


@pytest.mark.parametrize("code", sorted(emitted_codes()))
def test_every_emitted_code_has_a_chinese_message(code):
    assert code in MESSAGES, f"{code} ({emitted_codes()[code]}) has no Chinese message in review_ui/issue_texts.py"
    text = str(issue_text({"code": code, "severity": "warning", "message": "An English sentence.", "field":
                           "total_amount", "line_no": 3}, "zh"))
    assert not LATIN_WORD.search(re.sub(r"<[^>]+>", "", text)), text
    assert "English" not in text and text.strip()


def test_chinese_sentences_have_no_english_words():
    for code, (english, sentences) in MESSAGES.items():
        assert english and sentences, code
        for sentence in sentences:
            plain = re.sub(r"\{[a-z]+\}", "", sentence)
            words = [w for w in LATIN_WORD.findall(plain) if w not in ("F1",)]
            assert not words, (code, sentence)


# the English messages as the code builds them (matching/orders.py, matching/document.py, extractors/validate.py,
# review_ui/views.py ...), and what the Chinese sentence must show of them
SAMPLES = [
    ({"code": "invoice_exceeds_receipt", "field": "quantity", "line_no": 2,
      "message": "Line 2: 10000 invoiced, 0 received on PO-2026-7 line 1."},
     "第 2 行：开票 10000，采购单 PO-2026-7 第 1 行已收货 0。"),
    ({"code": "po_over_delivery", "line_no": 1, "message": "Line 1: 12 delivered, 10 open on PO-9 line 3."},
     "第 1 行：送货 12，采购单 PO-9 第 3 行仅剩 10 未交。"),
    ({"code": "po_under_delivery", "line_no": 4,
      "message": "Line 4: 5 of 10 open on PO-9 line 2; the rest stays open."},
     "第 4 行：采购单 PO-9 第 2 行未交 10，本次送货 5，其余保持未交。"),
    ({"code": "po_price_variance", "line_no": 1, "message": "Line 1: unit cost 11.5 vs 10 on PO-9 (+15.0 %)."},
     "第 1 行：单价 11.5，采购单 PO-9 上为 10（+15.0 %）。"),
    ({"code": "po_line_missing", "line_no": 6, "message": "Line 6 is not on purchase order PO-9."},
     "第 6 行不在采购单 PO-9 上。"),
    ({"code": "po_not_found", "field": "po_number", "message": "Purchase order PO-77 is not known."},
     "采购单 PO-77 不存在。"),
    ({"code": "product_unmatched", "line_no": 3, "field": "description",
      "message": "Line 3: no product matches 'USB hub 4 port'; pick one or create it."},
     "第 3 行：没有商品与“USB hub 4 port”匹配；请选择或新建商品。"),
    ({"code": "product_needs_review", "line_no": 2, "field": "description",
      "message": "Line 2: 'HDMI cable' is probably HDMI Cable 2m (0.81); please check."},
     "第 2 行：“HDMI cable”可能是 HDMI Cable 2m（0.81），请核对。"),
    ({"code": "line_arithmetic", "line_no": 2, "field": "amount",
      "message": "Line 2: 3 x 2.50 = 7.50, but the amount printed is 8.00."},
     "第 2 行：3 × 2.50 = 7.50，但印刷的金额是 8.00。"),
    ({"code": "totals_mismatch", "field": "total_amount", "message": "Subtotal 100 + tax 13 = 113, but the total is 110."},
     "不含税金额 100 + 税额 13 = 113，但价税合计为 110。"),
    ({"code": "lines_sum_mismatch", "field": "subtotal", "message": "The lines add up to 90, but the document prints 100."},
     "明细合计为 90，但单据印刷的是 100。"),
    ({"code": "low_confidence", "field": "deliverer", "message": "deliverer was read with low confidence."},
     "送货人的识别置信度较低，请核对。"),
    ({"code": "missing_field", "field": "buyer_address_phone", "message": "No buyer_address_phone was found."},
     "未找到购买方地址、电话。"),
    ({"code": "duplicate_document", "field": "document_number",
      "message": "This looks like document 17 again (the same supplier and document number)."},
     "这似乎与单据 17 重复（同一供应商和单号）。"),
    ({"code": "unit_unknown", "field": "unit", "line_no": 1,
      "message": "How many 瓶 of 矿泉水 are in one '箱' is not known; enter the factor once and it is remembered "
                 "for this supplier."},
     "第 1 行：不知道一“箱”矿泉水合多少 瓶；输入一次换算系数，系统会为该供应商记住。"),
    ({"code": "unit_factor_missing", "field": "uom_factor", "line_no": 2,
      "message": "Line 2: how many pcs are in one 'box'? Enter the factor."},
     "第 2 行：一“box”合多少 pcs？请输入换算系数。"),
    ({"code": "batch_required", "field": "batch_no", "line_no": 5, "message": "Line 5: MILK-1L needs a batch number."},
     "第 5 行：MILK-1L 需要批号。"),
    ({"code": "qr_mismatch", "field": "total_amount",
      "message": "The invoice's QR code gives the total including tax (价税合计) as 113.00, but the printed invoice "
                 "was read as 118.00. The QR code is machine-written; check the print."},
     "发票二维码中的价税合计为 113.00，但票面识别为 118.00。二维码由机器生成，请核对票面。"),
    ({"code": "embedded_data_mismatch", "field": "total_amount",
      "message": "The embedded e-invoice data gives total_amount = 119.00, but the printed document shows 120.00 "
                 "next to 'Total due'."},
     "电子发票内嵌数据中价税合计为 119.00，但票面“Total due”旁印的是 120.00。"),
    ({"code": "gtin_check_digit", "field": "barcode", "line_no": 2, "message": "Barcode 6901234567891 has a wrong check digit."},
     "第 2 行：条码 6901234567891 的校验位错误。"),
]


@pytest.mark.parametrize("issue, expected", SAMPLES, ids=[s[0]["code"] for s in SAMPLES])
def test_chinese_message_carries_the_values(issue, expected):
    shown = str(issue_text(issue, "zh"))
    assert re.sub(r"<[^>]+>", "", shown) == expected
    assert str(issue_text(issue, "en")) == str(escape(issue["message"]))


def test_document_values_are_marked_as_supplier_data_and_escaped():
    shown = str(issue_text({"code": "product_unmatched", "line_no": 1,
                            "message": "Line 1: no product matches '<script>x</script>'; pick one or create it."}, "zh"))
    assert '<span translate="no">&lt;script&gt;x&lt;/script&gt;</span>' in shown and "<script>" not in shown


def test_a_message_in_another_wording_still_gives_chinese():
    shown = str(issue_text({"code": "invoice_exceeds_receipt", "line_no": 4, "message": "Something else entirely."},
                           "zh"))
    assert shown == "第 4 行：开票数量超过采购单的已收货数量。"


def test_unknown_code_is_a_generic_chinese_sentence_never_the_english():
    assert str(issue_text({"code": "brand_new", "message": "Brand new English text."}, "zh")) == "此项需要核对。"
    assert str(issue_text({"code": "brand_new", "line_no": 2, "message": "x"}, "zh")) == "第 2 行需要核对。"
    assert str(issue_text({"code": "brand_new", "message": "Brand new English text."}, "en")) == "Brand new English text."


def test_params_given_on_the_issue_are_used():
    shown = str(issue_text({"code": "po_not_found", "message": "", "params": {"po": "PO-5"}}, "zh"))
    assert re.sub(r"<[^>]+>", "", shown) == "采购单 PO-5 不存在。"


def test_failure_and_approval_reasons():
    assert str(failure_text("corrupt_file", "zh")) == "文件已损坏，无法读取。"
    assert not LATIN_WORD.search(str(failure_text("something_new", "zh")))
    reason = ("over-receipt beyond 5.000000% of the order on lines 2, 3; price off the order by more than "
              "10.000000% on line 1: an approver must confirm.")
    assert str(approval_text(reason, "zh")) == "第 2、3 行收货超过采购单 5% 以上；第 1 行单价与采购单相差超过 10%：需要审批人确认。"
    assert str(approval_text("whatever", "zh")) == "需要审批人确认。"
    assert str(approval_text(reason, "en")) == reason


def _extractor_field_names() -> set[str]:
    """Field names the readers can carry: the contract's header and line fields, and the names the Chinese
    and structured readers add (fapiao XML, delivery-note labels and columns)."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    out = set(schema["properties"]["fields"]["properties"])
    out |= set(schema["properties"]["lines"]["items"]["properties"]) - {"product_match", "line_no"}
    from extractors.cn.wordings import COLUMN_LABELS, HEADER_LABELS
    from extractors.result import LINE_FIELDS
    out |= (set(HEADER_LABELS) | set(COLUMN_LABELS) | set(LINE_FIELDS)) - {"other"}
    text = (ROOT / "extractors" / "structured" / "fapiao.py").read_text(encoding="utf-8")
    out |= set(re.findall(r"\(\"([a-z_]+)\", \"[A-Z][A-Za-z/]+\"\)", text))
    text = (ROOT / "extractors" / "cn" / "delivery_layout.py").read_text(encoding="utf-8")
    out |= set(re.findall(r"\"([a-z_]+)\"", re.search(r"PEOPLE = \(([^)]*)\)", text).group(1)))
    return out


def test_every_field_has_a_chinese_label():
    fields = _extractor_field_names()
    for name in ("deliverer", "buyer_address_phone", "supplier_address_phone", "receiver", "machine_no"):
        assert name in fields, name
    missing = sorted(fields - set(FIELD_NAMES["zh"]))
    assert not missing, f"no Chinese label in review_ui/i18n.FIELD_NAMES['zh'] for {missing}"


def test_every_method_source_role_and_status_has_a_chinese_name():
    from matching.result import MatchMethod
    from models.auth import ROLES
    from review_ui.views import ALL_STATUSES
    methods = {m.value for m in MatchMethod} | {"manual", "none", "email_sender", "qr", "rules", "model",
                                                 "learned_layout"}
    text = (ROOT / "models" / "documents.py").read_text(encoding="utf-8")
    sources = set(re.findall(r"\"([a-z]+)\"", re.search(r"SOURCES = \(([^)]*)\)", text).group(1)))
    assert sources >= {"upload", "api", "email", "folder"}
    for wanted, table in ((methods, METHOD_NAMES), (sources, SOURCE_NAMES), (set(ROLES), ROLE_NAMES),
                          (set(ALL_STATUSES), STATUS_NAMES)):
        assert not sorted(wanted - set(table["zh"])), wanted - set(table["zh"])
        for word in table["zh"].values():
            assert not LATIN_WORD.search(word), word
    zh = names("zh")
    assert zh.methods["fuzzy"] == "模糊匹配" and zh.methods["something_new"] == "其他"
    assert zh.roles["approver"] == "审批人" and zh.sources["email"] == "邮件"
    assert names("en").methods["exact_name"] == "exact name" and names("en").roles["clerk"] == "clerk"


def test_refused_actions_are_told_in_chinese():
    def plain(code, message):
        return re.sub(r"<[^>]+>", "", str(error_text(code, message, "zh")))
    assert plain("not_postable", "Document 3 has no lines to post.") == "此单据没有可入库的明细；请先添加明细。"
    assert plain("not_postable", "The document is in GBP and stock is kept in CNY: enter the exchange rate (CNY per "
                                 "1 GBP) before confirming.") == ("单据币种为 GBP，库存以 CNY 计价：确认前请填写汇率"
                                                                  "（1 GBP 折合多少 CNY）。")
    assert plain("not_postable", "line 2: MILK-1L is batch-tracked; give a batch number") == "第 2 行：MILK-1L 按批次管理，请填写批号。"
    assert plain("needs_approval", "over-receipt beyond 5% of the order on lines 1, 2: an approver must confirm.") == (
        "第 1、2 行收货超过采购单 5% 以上：需要审批人确认。")
    assert plain("negative_stock", "Something new.") == "入库后库存将为负数，无法过账。"
    assert not LATIN_WORD.search(plain("brand_new", "Something new."))
    assert str(error_text("x", "Something new.", "en")) == "Something new."
    assert error_message("not_postable", "The document is in GBP and stock is kept in CNY: enter the exchange rate",
                         "zh") == "单据币种为 GBP，库存以 CNY 计价：确认前请填写汇率（1 GBP 折合多少 CNY）。"
    assert error_message("x", "a <b> & c", "en") == "a <b> & c"
