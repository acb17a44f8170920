"""Every issue code's message in English and Simplified Chinese, for the review screen.

Issues are stored with an English `message` (the extraction JSON contract) and `code`, `severity`, `field`,
`line_no`.  The Chinese sentence is made from the code: the line number and the field's Chinese label come from
the issue, the other values (quantities, PO numbers, printed text) from an optional `params` dict on the issue
or, for the issues stored without one, from the English message by a per-code pattern.  A value the pattern
cannot find drops that sentence for a shorter one without it; an unknown code gets a generic Chinese sentence,
never the English text.  Values taken from the document (printed text, names, numbers) are wrapped in
<span translate="no"> so the zh-CN page check treats them as supplier data.

`issue_text(issue, lang)`, `failure_text(code, lang)` (a failed document's reason) and `approval_text(reason,
lang)` (why a document waits for an approver) give Markup for the templates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from markupsafe import Markup, escape

from review_ui.i18n import FIELD_NAMES

_NUM = r"[-+−]?[\d,]*\.?\d+(?:[eE][-+]?\d+)?"

# code -> (English fallback, Chinese sentences best first: the first whose {names} are all known is used; the
# last one needs none but {line}/{field} where the issue always has them)
MESSAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    # extraction (extractors/)
    "qr_payload_invalid": ("The QR code does not hold a VAT invoice payload; the printed values were read instead.",
                           ("发票上的二维码不含增值税发票数据，已改为读取票面印刷的内容。",)),
    "qr_mismatch": ("The invoice's QR code and the printed invoice disagree; check the print.",
                    ("发票二维码中的{field}为 {qr}，但票面识别为 {printed}。二维码由机器生成，请核对票面。",
                     "发票二维码中的{field}与票面识别结果不一致。二维码由机器生成，请核对票面。")),
    "learned_layout_missed": ("A learned layout rule was not found on this document.",
                              ("未在本单据上找到该供应商以往印刷{field}的位置（已学习的规则 {rule}），显示的是通用识别结果。",
                               "未在本单据上找到该供应商以往印刷{field}的位置，显示的是通用识别结果。")),
    "line_arithmetic": ("Quantity x unit price differs from the amount printed.",
                        ("第 {line} 行：{q} × {p} = {calc}，但印刷的金额是 {a}。",
                         "第 {line} 行：数量 × 单价与印刷的金额不符。")),
    "lines_sum_mismatch": ("The lines do not add up to the document's amount.",
                           ("明细合计为 {total}，但单据印刷的是 {printed}。", "明细合计与单据印刷的金额不符。")),
    "totals_mismatch": ("Subtotal + tax differs from the total.",
                        ("不含税金额 {s} + 税额 {t} = {sum}，但价税合计为 {g}。", "不含税金额加税额与价税合计不符。")),
    "tax_id_invalid": ("The tax id is not valid.", ("{value} 不是有效的税号（{field}）。", "{field}不是有效的税号。")),
    "tax_id_checksum": ("The tax id fails its check character.",
                        ("{value} 的统一社会信用代码校验位不正确（{field}）。", "{field}的统一社会信用代码校验位不正确。")),
    "gtin_check_digit": ("The barcode has a wrong check digit.",
                         ("第 {line} 行：条码 {value} 的校验位错误。", "第 {line} 行：条码的校验位错误。", "条码的校验位错误。")),
    "date_implausible": ("The date is implausible.", ("{field} {value} 不合理，请核对。", "{field}不合理，请核对。")),
    "due_before_issue": ("The due date is before the invoice date.", ("到期日早于开票日期。",)),
    "low_confidence": ("The value was read with low confidence.", ("{field}的识别置信度较低，请核对。",)),
    "no_document_found": ("No invoice, delivery note or receipt was recognised on this file.",
                          ("此文件中未识别到发票、送货单或收据。",)),
    "unknown_document_type": ("The kind of document was not recognised.",
                              ("未能识别单据类型；已列出找到的字段供审核。",)),
    "missing_field": ("A field was not found.", ("未找到{field}。",)),
    "embedded_data_mismatch": ("The embedded e-invoice data and the printed document disagree.",
                               ("电子发票内嵌数据中{field}为 {value}，但票面“{label}”旁印的是 {printed}。",
                                "电子发票内嵌数据中的{field}与票面印刷的不一致。")),
    "credit_note": ("The embedded e-invoice is a credit note.",
                    ("内嵌的电子发票是贷项通知单（类型代码 381）：金额为贷记，而非应付。",)),
    # a file that could not be read (extractors/errors.py, pipeline/intake.py)
    "inbound_error": ("This document could not be read.", ("无法读取此单据。",)),
    "bad_input": ("The file cannot be read.", ("无法读取此文件。",)),
    "empty_file": ("The file is empty.", ("文件为空。",)),
    "corrupt_file": ("The file is damaged.", ("文件已损坏，无法读取。",)),
    "encrypted_document": ("The file is encrypted.", ("文件已加密，无法读取；请提供未加密的文件。",)),
    "too_large": ("The file is too large.", ("文件过大（页数、像素或大小超出限制）。",)),
    "unsupported_type": ("This kind of file is not supported.", ("不支持此文件类型。",)),
    "unsafe_xml": ("The XML holds entities or external references.", ("文件含有不安全的内容（实体或外部引用），出于安全考虑未读取。",)),
    "read_failed": ("This document could not be read because of an internal error; it has been kept for review.",
                    ("读取此单据时出现内部错误；单据已保留待审核。",)),
    "timeout": ("Reading this document took too long.", ("识别此单据超时；单据已保留待审核。",)),
    "too_many_attempts": ("This document stopped its reader on every try (it may be damaged or built to harm); it "
                          "has been kept for review and will not be tried again.",
                          ("此单据多次导致识别程序中断（文件可能已损坏或含恶意内容）；单据已保留待审核，不再重试。",)),
    "reader_crashed": ("The reader stopped while reading this document; it has been kept for review.",
                       ("识别程序在读取此单据时中断；单据已保留待审核。",)),
    "store_unavailable": ("The file store cannot be reached.", ("文件存储暂时无法访问。",)),
    "blob_missing": ("The original file is missing from the store.", ("文件存储中缺少原始文件。",)),
    "model_unavailable": ("The layout model cannot be loaded.", ("版式模型无法加载，已仅按规则识别。",)),
    "bench_unavailable": ("The bench cannot run here.", ("测试台无法在此运行。",)),
    # posting and settings (models/errors.py, models/company.py): shown when a confirmation is refused
    "ledger_error": ("The receipt cannot be posted.", ("无法入库。",)),
    "needs_approval": ("An approver must confirm.", ("需要审批人确认。",)),
    "negative_stock": ("Posting this would leave stock below zero.", ("入库后库存将为负数，无法过账。",)),
    "idempotency_conflict": ("This request was sent before with other content.", ("该请求此前已以不同内容提交过。",)),
    "not_postable": ("This document cannot be posted as it is.", ("此单据目前无法入库，请先处理上面的问题。",)),
    "bad_transition": ("The document cannot move to that state now.", ("单据当前状态不允许此操作。",)),
    "master_import": ("The master data could not be imported.", ("主数据无法导入。",)),
    "not_found": ("Not found.", ("未找到。",)),
    "bad_setting": ("A setting has a wrong value.", ("设置的值不正确。",)),
    # matching (matching/)
    "duplicate_document": ("This looks like an earlier document again.",
                           ("这似乎与单据 {first} 重复（{why}）。", "这似乎与之前的单据重复。")),
    "product_unmatched": ("No product matches the line; pick one or create it.",
                          ("第 {line} 行：没有商品与“{text}”匹配；请选择或新建商品。",
                           "第 {line} 行：没有匹配的商品；请选择或新建商品。")),
    "product_needs_review": ("The product match needs a check.",
                             ("第 {line} 行：“{text}”可能是 {name}（{score}），请核对。",
                              "第 {line} 行：商品匹配不确定，请核对。")),
    "supplier_new": ("The supplier is not in the master data; check the proposed new supplier.",
                     ("供应商不在主数据中；请核对建议新建的供应商。",)),
    "supplier_unmatched": ("The supplier is not in the master data.",
                           ("供应商不在主数据中；请选择供应商。",)),
    "unit_unknown": ("The factor for the printed unit is not known; enter it once and it is remembered.",
                     ("第 {line} 行：不知道一“{printed}”{name}合多少 {unit}；输入一次换算系数，系统会为该供应商记住。",
                      "第 {line} 行：不知道印刷单位的换算系数；输入一次，系统会为该供应商记住。")),
    "po_not_found": ("The purchase order is not known.", ("采购单 {po} 不存在。", "采购单不存在。")),
    "invoice_exceeds_receipt": ("More is invoiced than was received on the purchase order.",
                                ("第 {line} 行：开票 {q}，采购单 {po} 第 {pl} 行已收货 {received}。",
                                 "第 {line} 行：开票数量超过采购单的已收货数量。")),
    "po_over_delivery": ("More is delivered than is open on the purchase order.",
                         ("第 {line} 行：送货 {q}，采购单 {po} 第 {pl} 行仅剩 {left} 未交。",
                          "第 {line} 行：送货数量超过采购单的未交数量。")),
    "po_under_delivery": ("Less is delivered than is open on the purchase order; the rest stays open.",
                          ("第 {line} 行：采购单 {po} 第 {pl} 行未交 {left}，本次送货 {q}，其余保持未交。",
                           "第 {line} 行：送货数量少于采购单的未交数量，其余保持未交。")),
    "po_price_variance": ("The unit cost differs from the purchase order's.",
                          ("第 {line} 行：单价 {cost}，采购单 {po} 上为 {price}（{change} %）。",
                           "第 {line} 行：单价与采购单不一致。")),
    "po_line_missing": ("The line is not on the purchase order.",
                        ("第 {line} 行不在采购单 {po} 上。", "第 {line} 行不在采购单上。")),
    # the review screen (review_ui/views.py)
    "unit_factor_missing": ("Enter the factor for the printed unit.",
                            ("第 {line} 行：一“{printed}”合多少 {unit}？请输入换算系数。",
                             "第 {line} 行：请输入换算系数。")),
    "batch_required": ("This product needs a batch number.",
                       ("第 {line} 行：{sku} 需要批号。", "第 {line} 行：该商品需要批号。")),
    # money (pipeline/review.py rate_issue)
    "exchange_rate_missing": ("Enter the exchange rate before confirming.",
                              ("本单据币种为 {currency}，库存以本位币 {base} 记账：请填写汇率（1 {currency} 折合多少 {base}）再确认入库。",
                               "请先填写汇率再确认入库。")),
    # the login page (review_ui/routes.py, issue 18)
    "login_throttled": ("Too many failed log-ins for this user name or from this address. Try again in "
                        "{minutes} minutes; until then even the right password is refused.",
                        ("登录失败次数过多（此用户名或此地址）。请 {minutes} 分钟后再试；在此之前即使密码正确也无法登录。",)),
}

GENERIC = ("This needs a check.", "此项需要核对。")
GENERIC_LINE = "第 {line} 行需要核对。"

# code -> the English message's pattern (named groups: the values the Chinese sentence shows)
PATTERNS: dict[str, re.Pattern[str]] = {code: re.compile(pattern, re.S) for code, pattern in {
    "qr_mismatch": r"gives .+? as (?P<qr>.+?), but the printed invoice was read as (?P<printed>.*?)\. The QR",
    "learned_layout_missed": r"\(learned rule (?P<rule>[^)]+)\)",
    "line_arithmetic": rf"^Line \d+: (?P<q>{_NUM}) x (?P<p>{_NUM}) = (?P<calc>{_NUM}), but the amount printed is "
                       rf"(?P<a>{_NUM})\.$",
    "lines_sum_mismatch": rf"^The lines add up to (?P<total>{_NUM}), but the document prints (?P<printed>{_NUM})\.$",
    "totals_mismatch": rf"^Subtotal (?P<s>{_NUM}) \+ tax (?P<t>{_NUM}) = (?P<sum>{_NUM}), but the total is "
                       rf"(?P<g>{_NUM})\.$",
    "tax_id_invalid": r"^(?P<value>\S+) is not a valid VAT id\.$",
    "tax_id_checksum": r"^(?P<value>\S+) fails the ",
    "gtin_check_digit": r"^Barcode (?P<value>\S+) has a wrong check digit\.$",
    "date_implausible": r"^\S+ (?P<value>\S+) is implausible\.$",
    "embedded_data_mismatch": rf"gives \S+ = (?P<value>{_NUM}), but the printed document shows (?P<printed>{_NUM}) "
                              r"next to '(?P<label>[^']*)'\.$",
    "duplicate_document": r"^This looks like document (?P<first>\S+) again \((?P<why>[^)]*)\)\.$",
    "product_unmatched": r"^Line \d+: no product matches '(?P<text>.*)'; pick one or create it\.$",
    "product_needs_review": rf"^Line \d+: '(?P<text>.*)' is probably (?P<name>.*) \((?P<score>{_NUM})\); please check\.$",
    "unit_unknown": r"^How many (?P<unit>.+?) of (?P<name>.+) are in one '(?P<printed>.*)' is not known;",
    "po_not_found": r"^Purchase order (?P<po>.+) is not known\.$",
    "invoice_exceeds_receipt": rf"^Line \d+: (?P<q>{_NUM}) invoiced, (?P<received>{_NUM}) received on (?P<po>.+) "
                               r"line (?P<pl>\d+)\.$",
    "po_over_delivery": rf"^Line \d+: (?P<q>{_NUM}) delivered, (?P<left>{_NUM}) open on (?P<po>.+) line (?P<pl>\d+)\.$",
    "po_under_delivery": rf"^Line \d+: (?P<q>{_NUM}) of (?P<left>{_NUM}) open on (?P<po>.+) line (?P<pl>\d+);",
    "po_price_variance": rf"^Line \d+: unit cost (?P<cost>{_NUM}) vs (?P<price>{_NUM}) on (?P<po>.+) "
                         rf"\((?P<change>[-+]?{_NUM}) %\)\.$",
    "po_line_missing": r"^Line \d+ is not on purchase order (?P<po>.+)\.$",
    "unit_factor_missing": r"^Line \d+: how many (?P<unit>.+?) are in one '(?P<printed>.*)'\?",
    "batch_required": r"^Line \d+: (?P<sku>.+) needs a batch number\.$",
    "exchange_rate_missing": r"^The document is in (?P<currency>[A-Z]{3}) and stock is kept in (?P<base>[A-Z]{3}):",
}.items()}

# values that are words of ours, not the document's: shown translated, not as supplier data
_WHY = {"the same file": "同一文件", "the same supplier and document number": "同一供应商和单号",
        "same_file": "同一文件", "same_number": "同一供应商和单号"}
_OURS = {"line", "field", "why"}
_FIELD_FALLBACK = "该字段"


def field_label(name: str | None, lang: str = "zh") -> str:
    """A field's name as the clerk reads it (zh: its Chinese label; a name we have none for: "该字段")."""
    if not name:
        return "" if lang != "zh" else _FIELD_FALLBACK
    if lang == "zh":
        return FIELD_NAMES["zh"].get(name, _FIELD_FALLBACK)
    return FIELD_NAMES["en"].get(name, name.replace("_", " "))


def _params(issue: Mapping) -> dict[str, str]:
    code, message = str(issue.get("code") or ""), str(issue.get("message") or "")
    found: dict[str, str] = {}
    pattern = PATTERNS.get(code)
    if pattern is not None and (matched := pattern.search(message)):
        found.update({k: v for k, v in matched.groupdict().items() if v})          # "" : not known
    extra = issue.get("params")
    if isinstance(extra, Mapping):
        found.update({str(k): str(v) for k, v in extra.items() if v is not None})
    if "why" in found:
        found["why"] = _WHY.get(found["why"], "")
        if not found["why"]:
            del found["why"]
    if issue.get("line_no") not in (None, ""):
        found["line"] = str(issue["line_no"])
    found["field"] = field_label(issue.get("field") or None)
    return found


class _Missing(KeyError):
    pass


class _Strict(dict):
    def __missing__(self, key):
        raise _Missing(key)


def _fill(sentence: str, params: Mapping[str, str]) -> Markup | None:
    values = _Strict({k: (escape(v) if k in _OURS else Markup('<span translate="no">{}</span>').format(v))
                      for k, v in params.items()})
    try:
        return Markup(escape(sentence).format_map(values)) if "{" in sentence else Markup(escape(sentence))
    except _Missing:
        return None


def _sentences(code: str) -> tuple[str, ...]:
    return MESSAGES[code][1] if code in MESSAGES else ()


def issue_text(issue: Mapping, lang: str = "zh") -> Markup:
    """The issue's message for the clerk: in English the stored message; in Chinese the code's sentence."""
    code = str(issue.get("code") or "")
    if lang != "zh":
        return Markup(escape(issue.get("message") or (MESSAGES.get(code) or GENERIC)[0]))
    params = _params(issue)
    for sentence in _sentences(code):
        filled = _fill(sentence, params)
        if filled is not None:
            return filled
    return _fill(GENERIC_LINE, params) or Markup(escape(GENERIC[1]))


def failure_text(code: str | None, lang: str = "zh") -> Markup:
    """Why a document failed (its failure_reason: an error code; anything else: a generic sentence in zh)."""
    code = str(code or "")
    if lang != "zh":
        return Markup(escape(code.replace("_", " ") if code else ""))
    sentences = [s for s in _sentences(code) if "{" not in s]
    return Markup(escape(sentences[0] if sentences else "无法读取此单据。"))


_APPROVAL_PARTS = (
    (re.compile(rf"over-receipt beyond (?P<pct>{_NUM})%(?: of the order)? on lines? (?P<lines>[\d, ]+)"),
     "第 {lines} 行收货超过采购单 {pct}% 以上"),
    (re.compile(rf"price off the order by more than (?P<pct>{_NUM})% on lines? (?P<lines>[\d, ]+)"),
     "第 {lines} 行单价与采购单相差超过 {pct}%"),
)


def _pct(text: str) -> str:
    number = text.rstrip("0").rstrip(".") if "." in text else text
    return number or "0"


def approval_text(reason: str | None, lang: str = "zh") -> Markup:
    """Why a document waits for an approver (the ledger's English reason) in the clerk's language."""
    reason = str(reason or "")
    if lang != "zh":
        return Markup(escape(reason))
    parts = []
    for pattern, sentence in _APPROVAL_PARTS:
        matched = pattern.search(reason)
        if matched:
            lines = "、".join(n.strip() for n in matched.group("lines").split(",") if n.strip())
            parts.append(sentence.format(lines=lines, pct=_pct(matched.group("pct"))))
    if not reason:
        return Markup("")
    return Markup(escape("；".join(parts) + "：需要审批人确认。" if parts else "需要审批人确认。"))


# what the clerk is told when a save or confirmation is refused (the exceptions' English messages)
_ERROR_PATTERNS = (
    (re.compile(r"has no lines to post"), "此单据没有可入库的明细；请先添加明细。"),
    (re.compile(r"The document is in (?P<currency>[A-Z]{3}) and stock is kept in (?P<base>[A-Z]{3}): enter the "
                r"exchange rate"), "单据币种为 {currency}，库存以 {base} 计价：确认前请填写汇率（1 {currency} 折合多少 {base}）。"),
    (re.compile(r"is in the base currency (?P<base>[A-Z]{3}): its exchange rate is 1"),
     "单据币种即本位币 {base}，汇率应为 1。"),
    (re.compile(r"[Ll]ine (?P<line>\d+): (?P<sku>\S+) is batch-tracked; give a batch number"),
     "第 {line} 行：{sku} 按批次管理，请填写批号。"),
    (re.compile(r"Line (?P<line>\d+): how many (?P<unit>.+?) are in one '(?P<printed>.*)' is not known"),
     "第 {line} 行：不知道一“{printed}”合多少 {unit}；确认前请填写换算系数。"),
    (re.compile(r"not enough on hand"), "库存不足，无法过账。"),
    (re.compile(r"A (?P<status>[a-z_]+) document cannot"), "单据当前状态不允许此操作。"),
    (re.compile(r"(?:an approver must confirm)"), None),
)


def error_text(code: str | None, message: str | None, lang: str = "zh") -> Markup:
    """A refused action's message for the clerk: in English as raised; in Chinese by the message's pattern, else
    the error code's sentence, else a generic one (never the English)."""
    message = str(message or "")
    if lang != "zh":
        return Markup(escape(message))
    for pattern, sentence in _ERROR_PATTERNS:
        matched = pattern.search(message)
        if matched is None:
            continue
        if sentence is None:
            return approval_text(message, lang)
        values = {k: (escape(v) if k == "line" else Markup('<span translate="no">{}</span>').format(v))
                  for k, v in matched.groupdict().items()}
        return Markup(escape(sentence).format_map(values))
    sentences = [s for s in _sentences(str(code or "")) if "{" not in s]
    return Markup(escape(sentences[0] if sentences else "操作未完成，请检查后重试。"))


def error_message(code: str | None, message: str | None, lang: str = "zh") -> str:
    """error_text as plain text, for a message carried in a redirect's `m` (escaped again when shown)."""
    return error_text(code, message, lang).striptags()
