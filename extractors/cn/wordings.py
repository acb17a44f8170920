"""The wordings of a Chinese form's labels: the ones we know (`HEADER_LABELS`, `COLUMN_LABELS`, matched
exactly, longest first, by `extractors.cn.delivery_layout`) and, for a label we do not know, what its
words say it names (`label_role`: '出货单号' a delivery note's number, '交货日期' the delivery date,
'收货人电话' the buyer's phone, '经手人' nothing of ours).  Suppliers word their labels freely; the words
a label is made of (…单号, …日期, …地址, 收货…, 供货…) are far fewer than its wordings."""

from __future__ import annotations

import re

# Header labels: kind -> printed wordings (NFKC, no spaces).  Longest wording wins where several match.
# `delivery_ref` names a delivery document's number (the document's own on a 送货单, another's on a 装箱单
# or an invoice); `address`, `phone` and `tax_id` name no party: the party block they sit in tells whose
# (`extractors.cn.delivery_parties`).
HEADER_LABELS: dict[str, tuple[str, ...]] = {
    "document_number": ("单据编号", "单据号码", "单据号", "单号", "编号", "流水号", "小票号", "交易号", "收据号",
                        "票据号", "结算单号", "装箱单号", "发票号码", "发票号", "凭证号", "No.", "NO.", "No", "NO",
                        "№"),
    "delivery_ref": ("送货单号", "出库单号", "发货单号", "配送单号", "关联送货单", "关联送货单号", "送货单编号",
                     "出库单编号", "发货单编号"),
    "document_date": ("开单日期", "制单日期", "单据日期", "开票日期", "结算日期", "收款日期", "出库日期", "装箱日期",
                      "交易时间", "交易日期", "销售日期", "填开日期", "日期", "时间"),
    "delivery_date": ("送货日期", "发货日期", "配送日期", "到货日期", "交货日期", "送达日期"),
    "due_date": ("应付款日期", "最迟付款日", "最迟付款日期", "付款截止日期", "付款截止日", "付款到期日", "到期付款日"),
    "payment_terms": ("付款方式", "付款条件", "结算方式", "账期"),
    "buyer_name": ("客户名称", "客户", "收货单位", "购货单位", "购买单位", "收货客户", "收货方", "购买方", "购货方",
                   "购方", "需方", "买方"),
    "supplier_name": ("供货单位", "供应商", "供货商", "发货单位", "销售单位", "商户名称", "供方", "供货方",
                      "发货方", "销售方", "卖方", "门店", "店名"),
    "phone": ("联系电话", "电话", "TEL", "Tel", "手机", "联系方式"),
    "address": ("地址", "联系地址", "公司地址", "发货地址", "门店地址"),
    "tax_id": ("统一社会信用代码/纳税人识别号", "统一社会信用代码", "纳税人识别号", "信用代码", "税号", "识别号"),
    "buyer_address": ("收货地址", "送货地址", "客户地址", "到货地址"),
    "buyer_phone": ("收货电话", "客户电话", "收货人电话"),
    "po_number": ("采购订单号", "采购单号", "订单号", "订单编号", "客户订单号", "采购订单", "PO号", "PONo.", "PO#",
                  "PO"),
    "total_amount": ("合计金额", "合计", "总计", "总金额", "小写", "(小写)", "合计(小写)", "合计金额(小写)",
                     "应收", "应收金额", "应付", "应付金额", "总额", "货款合计", "实付金额", "实付", "实收金额",
                     "应收合计", "合计应收", "价税合计", "含税合计"),
    "subtotal": ("不含税金额", "金额合计", "不含税合计"),
    "tax_amount": ("税额", "税金", "增值税", "税额合计"),
    "total_amount_in_words": ("合计大写", "金额大写", "大写", "(大写)", "合计(大写)", "合计金额(大写)",
                              "人民币(大写)", "人民币大写", "大写金额", "合计人民币(大写)"),
    "total_quantity": ("合计数量", "总数量"),
    "deliverer": ("送货人", "发货人", "送货员"),
    "receiver": ("收货人", "签收人", "收货人签字", "收货人签名", "签收"),
    "other": ("签收日期", "打印日期", "打印时间", "制单人", "制单", "审核人", "审核", "仓管员", "经办人",
              "业务员", "联系人", "司机", "车牌号", "收银员", "收银", "收款", "找零", "支付方式", "付款",
              "支付", "会员", "积分", "客户编号", "客户代码", "订单日期", "页码", "本页小计", "承上页", "币种"),
}
# Item-table column titles: line field -> printed wordings.  备注 is both a column and a header label.
COLUMN_LABELS: dict[str, tuple[str, ...]] = {
    "line_no": ("序号", "行号"),
    "description": ("品名", "商品名称", "货物名称", "产品名称", "物料名称", "存货名称", "名称", "商品"),
    "supplier_sku": ("编码", "货号", "商品编码", "物料编码", "产品编码", "存货编码", "物料号", "料号",
                     "商品编号", "产品编号"),
    "barcode": ("条码", "条形码", "商品条码"),
    "spec": ("规格", "型号", "规格型号", "包装规格"),
    "unit": ("单位", "计量单位"),
    "quantity": ("数量", "实收数量", "实发数量", "发货数量", "送货数量", "出库数量", "实送数量"),
    "ordered_quantity": ("应发数量", "订货数量", "订单数量", "应收数量"),
    "unit_price": ("单价", "含税单价", "售价"),
    "amount": ("金额", "含税金额", "小计"),
    "batch_no": ("批号", "批次", "批次号", "生产批号"),
    "production_date": ("生产日期",),
    "shelf_life": ("保质期",),
    "expiry_date": ("有效期至", "到期日", "有效期", "失效日期", "到期日期"),
    "po_line_ref": ("订单行号", "PO行号"),
    "remarks": ("备注", "附注", "说明"),
}

# label text -> kind, the most specific first; `other` for a label that names nothing we keep
_ROLE_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple((k, re.compile(p)) for k, p in (
    ("other", r"打印|签收|生产|制造|有效|失效|生效|保质|订单日期|下单|页码|版本|制单|审核|经手|仓管|库管|司机|车牌|业务|联系人$|"
              r"客户(?:编号|代码|编码)|会员|积分|收银|找零|实收|支付|开户|账号|银行|邮编|传真|邮箱|网址|币种|联$"),
    ("due_date", r"(?:付款|到期|截止|最迟).*日"),
    ("delivery_date", r"(?:送货|到货|交货|发货|出货|配送|送达)(?:日期|时间)"),
    ("document_date", r"(?:日期|时间)$"),
    ("po_number", r"(?:订单|采购|订货|P[O0]|合同).*(?:号|编号|No\.?)$"),     # 'P0号': OCR reads O as 0
    ("delivery_ref", r"(?:送货|发货|出库|配送|出货|提货|运)单?(?:号|编号|号码)$|关联.{1,4}单$"),
    ("document_number", r"(?:号|号码|No\.?|NO\.?)$"),
    ("tax_id", r"税号|识别号|信用代码|税务登记"),
    ("buyer_address", r"(?:收货|送货|客户|到货|交货|购货|购买)(?:方|单位|人)?地[址点]"),
    ("buyer_phone", r"(?:收货|客户|购货)(?:方|单位|人)?(?:电话|手机)"),
    ("address", r"地址|厂址|住址"),
    ("phone", r"电话|手机|TEL|Tel|联系方式"),
    ("total_amount_in_words", r"大写"),
    ("tax_amount", r"税额|税金|增值税"),
    ("subtotal", r"不含税"),
    ("total_amount", r"合计|总计|应付|应收|总额|实付|总金额"),
    ("remarks", r"备注|附注|说明"),
    ("payment_terms", r"付款方式|付款条件|结算方式|账期"),
    ("buyer_name", r"^(?:收货|购货|购买|需|买|订货|客户)(?:单位|方|客户|公司|名称)?(?:名称)?$"),
    ("supplier_name", r"^(?:供货|供应|发货|销售|卖|供|出货)(?:单位|方|商|公司)(?:名称)?$"),
))


def label_role(text: str) -> str:
    """The kind a label we have no wording for names, by its words; `other` when it names none of ours."""
    t = text.strip().rstrip(":：")
    for kind, rx in _ROLE_RULES:
        if rx.search(t):
            return kind
    return "other"


# kinds whose value has a strict type (a code, a date, a phone number, a tax id, a figure): a word we have no label
# for that names one is taken as a label even without a colon, for its value is checked by its type
TYPED_ROLES = frozenset({"document_number", "delivery_ref", "po_number", "document_date", "delivery_date",
                         "due_date", "tax_id", "phone", "buyer_phone", "total_amount", "subtotal", "tax_amount"})
