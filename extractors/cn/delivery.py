"""Chinese labelled forms from a Layout alone: delivery notes (送货单, 出库单, 发货单, 配送单, 随货同行单),
packing lists (装箱单), till receipts (小票, 收据) and a supplier's own invoice (销售发票, 结算单) that is not
on the VAT form.

Template-free: every supplier prints its own form, so labels are found by their text and values by
geometry.  Word texts are NFKC-normalised (full-width digits and punctuation to ASCII) with spaces
removed; the words of one visual row are read as one string, so that a letter-spaced label
("日  期：") or a label glued to its value ("客户：某某超市", "税号9144…") is found all the same, and the
words are cut where a label starts and ends (`extractors.cn.delivery_layout`; a label we have no wording
for is read by its words, `extractors.cn.wordings`).  The page's parts, each in its module:

- header fields (`extractors.cn.delivery_header`): each label's value of its type, right of it or under
  it; whose an address / phone / tax id is, by the party block it sits in, and the supplier's letterhead
  by shape (`extractors.cn.delivery_parties`);
- the item table (`extractors.cn.delivery_table`): the title band, one or two rows, its columns named by
  the words of each title (`extractors.cn.table_header`); an item starts at a row with a quantity (or,
  without a quantity column, an amount); rows without one are wrapped text and join the nearest item;
  the table ends at the first labelled row that has no items under it (合计, 大写, 送货人 ...);
- a till roll's items without titles: name, then quantity x price (`extractors.cn.receipt_lines`);
- totals (`extractors.cn.delivery_totals`): total, subtotal and tax told apart by their arithmetic, the
  大写 amount checked against the figures.

Expiry: printed 有效期至/到期日 wins; else production date + 保质期 (12个月, 180天, 1年), added as
calendar months or days with no day taken off; the printed shelf life stays as `shelf_life`.

`extract_delivery_note(layout) -> (fields, lines)`; header field names follow the contract
(document_number, document_date, delivery_date, due_date, delivery_note_number, buyer_name, buyer_address,
buyer_tax_id, supplier_name, supplier_phone, supplier_address, supplier_tax_id, po_number, subtotal,
tax_amount, total_amount, total_amount_in_words, payment_terms, remarks, currency) plus buyer_phone,
total_quantity, deliverer and receiver.
"""

from __future__ import annotations

from extractors.cn.delivery_header import header_fields
from extractors.cn.delivery_layout import build_delivery_page
from extractors.cn.delivery_table import find_table, group_items, item_fields, shelf_life_end
from extractors.cn.delivery_totals import cross_check, totals, yuan_sign
from extractors.cn.form import merge_page_fields
from extractors.cn.receipt_lines import receipt_items
from extractors.layout import Layout, Page
from extractors.result import Field, LineItem

__all__ = ["extract_delivery_note", "shelf_life_end"]


def _page_extract(page: Page) -> tuple[dict[str, Field], list[dict[str, Field]]]:
    ctx = build_delivery_page(page)
    table = find_table(ctx)
    skip = {*table.header_rows, *table.body} if table else set()
    head = range(0, table.header_rows[0] if table else len(ctx.rows))
    fields = header_fields(ctx, skip, head)
    fields.update(totals(ctx, table))
    items = [item_fields(ctx, item, table.columns) for item in group_items(ctx, table)] if table else []
    if not items:
        items = receipt_items(ctx)       # a till roll: name, then quantity x price, no column titles
    return fields, items


def extract_delivery_note(layout: Layout) -> tuple[dict[str, Field], list[LineItem]]:
    """Header fields and item lines of a Chinese delivery note, from the layout alone."""
    fields: dict[str, Field] = {}
    items: list[dict[str, Field]] = []
    for page in layout.pages:
        page_fields, page_items = _page_extract(page)
        merge_page_fields(fields, page_fields)
        items.extend(page_items)
    cross_check(fields, items)
    if "currency" not in fields and ("total_amount" in fields or any("amount" in it for it in items)):
        fields["currency"] = yuan_sign(layout, fields.get("total_amount")) or Field("CNY", "", 0.8)
    return fields, [LineItem(i + 1, item) for i, item in enumerate(items) if item]
