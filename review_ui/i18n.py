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
    "k_confirm": ("Enter or C (outside a field): confirm", "Enter 或 C（不在输入框时）：确认"),
    "k_next": ("J / K: next / previous document", "J / K：下一张 / 上一张"),
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
}


def texts(lang: str) -> dict[str, str]:
    index = 1 if lang == "zh" else 0
    return {key: pair[index] for key, pair in _PAIRS.items()}


STATUS_NAMES = {
    "zh": {"received": "已接收", "processing": "识别中", "needs_review": "待审核", "ready": "可确认",
           "confirmed": "已确认", "posted": "已入库", "reversed": "已冲销", "rejected": "已拒收", "failed": "失败"},
    "en": {"received": "received", "processing": "processing", "needs_review": "needs review", "ready": "ready",
           "confirmed": "confirmed", "posted": "posted", "reversed": "reversed", "rejected": "rejected",
           "failed": "failed"},
}

FIELD_NAMES = {
    "zh": {"document_number": "单号", "document_date": "日期", "due_date": "到期日", "po_number": "采购单号",
           "supplier_name": "供应商", "supplier_tax_id": "税号", "total_amount": "价税合计", "subtotal": "不含税金额",
           "tax_amount": "税额", "currency": "币种"},
    "en": {},
}
