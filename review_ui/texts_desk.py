"""The review screen's words for the desk area (issue 17): key -> (English, Simplified Chinese), merged into
i18n.texts()."""

PAIRS: dict[str, tuple[str, str]] = {
    # upload (queue page)
    "upload_drop": ("Drop documents here to upload them", "将单据拖放到此处上传"),
    "upload_pick": ("Choose files…", "选择文件…"),
    "upload_hint": ("several at once, at most {mb} MB each:", "可一次多个，每个不超过 {mb} 兆字节："),
    "upload_sending": ("Uploading", "正在上传"),
    "upload_failed": ("Not uploaded", "上传失败"),
    "upload_received": ("Received as #{id}; it is being read.", "已接收为 #{id}，正在识别。"),
    "upload_duplicate": ("Already received as #{id} {name}", "已接收过：#{id} {name}"),
    "upload_too_large": ("The file is larger than the limit of {mb} MB.", "文件超过 {mb} 兆字节的上限。"),
    "upload_empty": ("The file is empty; nothing was stored.", "文件为空，未保存。"),
    "upload_no_file": ("No file came with the upload.", "上传中没有文件。"),
    "upload_refresh": ("Show the new documents in the queue", "在队列中显示新单据"),
    "upload_bad_token": ("The page is out of date; reload it and upload again.", "页面已过期，请刷新后重新上传。"),
    # download (document screen)
    "download_original": ("Download the original", "下载原件"),
    # export (queue page)
    "export_label": ("Export these posted receipts", "导出这些已入库单据"),
    "export_kingdee": ("Kingdee sheet (XLSX)", "金蝶导入表"),
    "export_yonyou": ("Yonyou sheet (XLSX)", "用友导入表"),
    "export_hint": ("Posted receipts to a spreadsheet…", "已入库单据导出为表格…"),
    "export_nothing": ("Nothing posted in this list to export.", "此列表中没有可导出的已入库单据。"),
    "no_match": ("No document matches these filters.", "没有符合条件的单据。"),
    # paging
    "pages_label": ("Pages", "分页"),
    "page_first": ("First", "首页"),
    "page_back": ("Previous", "上一页"),
    "page_on": ("Next", "下一页"),
    "page_last": ("Last", "末页"),
    "page_where": ("{first}–{last} of {total} · page {page} of {pages}",
                   "第 {first}–{last} 条，共 {total} 条 · 第 {page} / {pages} 页"),
}
