"""The review screen's words for the document screen's own sections (issue 17): key -> (English, Simplified
Chinese), merged into i18n.texts()."""

PAIRS: dict[str, tuple[str, str]] = {
    "changes": ("Changes", "修改记录"),
    "what": ("What", "项目"),
    "before": ("Before", "修改前"),
    "after": ("After", "修改后"),
    "who": ("Who", "修改人"),
    "line_n": ("Line {n}", "第 {n} 行"),
    "lines_total": ("Lines total", "明细合计"),
    "c_supplier_id": ("Supplier", "供应商"),
    "c_product_id": ("Product", "商品"),
    "c_uom_factor": ("Base units per unit", "换算系数"),
    "c_batch_no": ("Batch", "批号"),
    "c_quantity": ("Qty", "数量"),
    "c_unit_price": ("Unit price", "单价"),
    "c_unit": ("Unit", "单位"),
    "c_description": ("Description", "品名"),
    "c_amount": ("Amount", "金额"),
    "c_whole_line": ("whole line (added, removed or split)", "整行（新增、删除或拆分）"),
    "download": ("Download original", "下载原件"),
    "needs_look": ("Values to check", "需检查的值"),
    "show_all": ("Show all values", "显示全部"),
}
