"""The screen's words in English and Simplified Chinese: `texts(lang)` gives a dict for the templates."""

from __future__ import annotations

_PAIRS: dict[str, tuple[str, str]] = {
    "app": ("Inbound review", "Inbound 收货审核"),
    "login": ("Log in", "登录"),
    "logout": ("Log out", "退出"),
    "username": ("User name", "用户名"),
    "password": ("Password", "密码"),
    "bad_login": ("Wrong user name or password.", "用户名或密码错误。"),
    "queue": ("Queue", "待审队列"),
    "stock": ("Stock", "库存"),
    "all": ("All", "全部"),
    "search": ("Search", "搜索"),
    "supplier": ("Supplier", "供应商"),
    "number": ("Number", "单号"),
    "date": ("Date", "日期"),
    "total": ("Total", "合计"),
    "status": ("Status", "状态"),
    "issues": ("Issues", "问题"),
    "source": ("Source", "来源"),
    "file": ("File", "文件"),
    "reason": ("Reason", "原因"),
    "retry": ("Retry", "重新识别"),
    "open": ("Open", "打开"),
    "empty_queue": ("Nothing to review.", "没有待审核的单据。"),
    "fields": ("Header", "表头"),
    "lines": ("Lines", "明细"),
    "description": ("Description", "品名"),
    "quantity": ("Qty", "数量"),
    "unit": ("Unit", "单位"),
    "unit_price": ("Unit price", "单价"),
    "amount": ("Amount", "金额"),
    "product": ("Product", "商品"),
    "factor": ("Base units per unit", "换算系数"),
    "batch": ("Batch", "批号"),
    "find_product": ("Find a product…", "搜索商品…"),
    "learned": ("learned alias", "已学习的别名"),
    "confirm": ("Confirm", "确认入库"),
    "reject": ("Reject", "拒收"),
    "save": ("Save for later", "保存稍后处理"),
    "no_issues": ("No issues.", "没有问题。"),
    "page": ("Page", "页"),
    "zoom_in": ("Zoom in", "放大"),
    "zoom_out": ("Zoom out", "缩小"),
    "prev": ("Previous", "上一张"),
    "next": ("Next", "下一张"),
    "shortcuts": ("Keyboard shortcuts", "快捷键"),
    "k_confirm": ("Enter: confirm when nothing needs attention (else: to the first value to check); C: confirm",
                  "Enter：没有需检查的值时确认（否则跳到第一个需检查的值）；C：确认"),
    "k_next": ("J / K or → / ←: next / previous document", "J / K 或 → / ←：下一张 / 上一张"),
    "k_save": ("S: save for later", "S：保存稍后处理"),
    "k_help": ("?: this list", "?：显示本列表"),
    "close": ("Close", "关闭"),
    "on_hand": ("On hand", "库存数量"),
    "value": ("Value", "金额"),
    "warehouse": ("Warehouse", "仓库"),
    "moves": ("Moves", "出入库记录"),
    "document": ("Document", "单据"),
    "posted_by": ("Posted by", "过账人"),
    "when": ("When", "时间"),
    "no_stock": ("No stock yet.", "暂无库存。"),
    "saved": ("Saved.", "已保存。"),
    "posted": ("Posted to stock.", "已入库。"),
    "rejected_msg": ("Rejected.", "已拒收。"),
    "retrying": ("Reading again.", "正在重新识别。"),
    "language": ("中文", "English"),
    "confidence": ("confidence", "置信度"),
    "method": ("method", "方式"),
    "score": ("score", "分数"),
    "not_found": ("Not found.", "未找到。"),
    "needs_approver": ("an approver must confirm", "需要审批人确认"),
    "sent_to_approver": ("Sent to an approver", "已提交审批"),
    "approvers_only": ("Only an approver can release this document.", "只有审批人可以放行此单据。"),
    "sent_back": ("Sent back to review.", "已退回审核。"),
    "approvals": ("Approvals", "待审批"),
    "approve": ("Approve and post", "批准并入库"),
    "send_back": ("Send back", "退回"),
    "awaiting_approval": ("Awaiting approval", "等待审批"),
    "no_approvals": ("Nothing waits for approval.", "没有等待审批的单据。"),
    "sent_by": ("Sent by", "提交人"),
    "attention": ("need attention", "项需要检查"),
    "k_attention": ("Tab / Enter (in a field): the next value that needs attention, then Confirm",
                    "Tab / Enter（在输入框中）：跳到下一个需要检查的值，最后到确认"),
    "k_escape": ("Esc: leave the field (shortcuts work again)", "Esc：离开输入框（快捷键重新可用）"),
    "k_pick": ("In a field: click a word on the page (or drag over several) to fill it; Shift+click adds a word",
               "在输入框中：点击页面上的文字（或框选多个）填入；Shift+点击追加文字"),
    "pick_hint": ("Click or drag over the page to fill the field", "点击或框选页面文字以填入"),
}


def _all_pairs() -> dict[str, tuple[str, str]]:
    from review_ui import texts_desk, texts_lines, texts_screen, texts_stock
    return {**_PAIRS, **texts_lines.PAIRS, **texts_desk.PAIRS, **texts_stock.PAIRS, **texts_screen.PAIRS}


def texts(lang: str) -> dict[str, str]:
    index = 1 if lang == "zh" else 0
    return {key: pair[index] for key, pair in _all_pairs().items()}


STATUS_NAMES = {
    "zh": {"received": "已接收", "processing": "识别中", "needs_review": "待审核", "ready": "可确认",
           "confirmed": "已确认", "posted": "已入库", "reversed": "已冲销", "rejected": "已拒收", "failed": "失败"},
    "en": {"received": "received", "processing": "processing", "needs_review": "needs review", "ready": "ready",
           "confirmed": "confirmed", "posted": "posted", "reversed": "reversed", "rejected": "rejected",
           "failed": "failed"},
}

FIELD_NAMES = {
    "zh": {
        # the header (contract fields and what the readers add)
        "document_number": "单号", "document_date": "日期", "due_date": "到期日", "po_number": "采购单号",
        "supplier_name": "供应商", "supplier_tax_id": "税号", "total_amount": "价税合计", "subtotal": "不含税金额",
        "tax_amount": "税额", "currency": "币种", "supplier_address": "销售方地址", "supplier_phone": "销售方电话",
        "exchange_rate": "汇率",
        "supplier_bank_account": "销售方开户行及账号", "supplier_address_phone": "销售方地址、电话",
        "buyer_name": "购买方名称", "buyer_tax_id": "购买方税号", "buyer_address": "购买方地址",
        "buyer_phone": "购买方电话", "buyer_address_phone": "购买方地址、电话", "buyer_bank_account": "购买方开户行及账号",
        "invoice_code": "发票代码", "check_code": "校验码", "machine_no": "机器编号",
        "delivery_date": "送货日期", "delivery_note_number": "送货单号", "delivery_ref": "送货单号", "discount": "折扣",
        "total_amount_in_words": "价税合计（大写）", "payment_terms": "付款条件", "remarks": "备注",
        "issuer_clerk": "开票人", "payee": "收款人", "checker": "复核", "deliverer": "送货人", "receiver": "收货人",
        "total_quantity": "合计数量", "amount_due": "应付金额", "line_total": "明细合计", "prepaid_amount": "已预付金额",
        "allowance_total": "折让合计", "charge_total": "附加费用合计", "address": "地址", "phone": "电话",
        "tax_id": "税号", "packing_number": "装箱单号", "receipt_number": "收据号", "generic_number": "编号",
        "customer_number": "客户编号", "order_number": "订单号", "invoice_number": "发票号码",
        "tax_rate": "税率", "document_type": "单据类型", "language": "语言", "exchange_rate": "汇率",
        "base_currency": "本位币",
        # a line's fields
        "line_no": "行号", "supplier_sku": "供应商货号", "barcode": "条码", "description": "品名", "spec": "规格型号",
        "unit": "单位", "quantity": "数量", "ordered_quantity": "应发数量", "unit_price": "单价", "amount": "金额",
        "batch_no": "批号", "production_date": "生产日期", "expiry_date": "有效期至", "shelf_life": "保质期",
        "po_line_ref": "采购单行号", "product_match": "商品匹配", "uom_factor": "换算系数", "product": "商品",
        "product_id": "商品",
    },
    "en": {},
}

# how a product or supplier was matched (matching.result.MatchMethod, pipeline.review's manual/none, the
# e-mail sender hint) and how a field was read (qr, rules, model, learned_layout)
METHOD_NAMES = {
    "zh": {"tax_id": "税号", "name": "名称", "exact": "精确匹配", "exact_name": "名称一致", "supplier_sku": "供应商货号",
           "sku": "商品编码", "code": "商品编码", "barcode": "条码", "alias": "别名", "fuzzy": "模糊匹配",
           "layout": "版式", "learned_layout": "已学习的版式", "learned": "已学习", "manual": "人工指定",
           "none": "未匹配", "email_sender": "邮件发件人", "qr": "二维码", "rules": "规则", "model": "版式模型",
           "embedded": "内嵌数据", "ocr": "文字识别"},
    "en": {"exact_name": "exact name", "supplier_sku": "supplier SKU", "sku": "SKU", "tax_id": "tax id",
           "learned_layout": "learned layout", "email_sender": "e-mail sender", "qr": "QR code"},
}
SOURCE_NAMES = {
    "zh": {"upload": "上传", "api": "接口", "email": "邮件", "folder": "文件夹", "bench": "测试台"},
    "en": {},
}
ROLE_NAMES = {
    "zh": {"clerk": "收货员", "approver": "审批人", "admin": "管理员", "integration": "系统集成"},
    "en": {},
}
UNKNOWN = {"zh": "其他", "en": ""}


class _Names(dict):
    """A word list for one language; a key it lacks reads as the key itself in English, as "其他" in Chinese."""

    def __init__(self, words: dict[str, str], lang: str) -> None:
        super().__init__(words)
        self.lang = lang

    def __missing__(self, key):
        if self.lang == "zh":
            return UNKNOWN["zh"] if key else ""
        return str(key or "").replace("_", " ")

    def get(self, key, default=None):        # templates' .get(x, x) falls back to Chinese too
        return self[key] if key in self or self.lang == "zh" else (default if default is not None else self[key])


class Names:
    """What render_page hands the templates as `names`: names.methods[m], .sources[s], .roles[r],
    .statuses[s], .fields[f] in the page's language (never an English word on a zh page)."""

    def __init__(self, lang: str) -> None:
        self.methods = _Names(METHOD_NAMES[lang], lang)
        self.sources = _Names(SOURCE_NAMES[lang], lang)
        self.roles = _Names(ROLE_NAMES[lang], lang)
        self.statuses = _Names(STATUS_NAMES[lang], lang)
        self.fields = _Names(FIELD_NAMES[lang], lang)


def names(lang: str) -> Names:
    return Names("zh" if lang == "zh" else "en")
