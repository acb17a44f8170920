"""What the model tags each word as: a header field, a line-item cell, or nothing (`O`).

The tag list is part of a model folder (meta.json `tags`), so a model keeps working when this list grows;
these are the tags a new model is trained with.  Derived fields (amount_due, line_total: the same printed
words as the total) are not tags: the rules derive them.
"""

from __future__ import annotations

HEADER_FIELDS = ("supplier_name", "supplier_tax_id", "supplier_address", "supplier_phone", "supplier_bank_account",
                 "buyer_name", "buyer_tax_id", "buyer_address", "document_number", "invoice_code", "check_code",
                 "document_date", "due_date", "delivery_date", "po_number", "delivery_note_number", "currency",
                 "subtotal", "tax_amount", "discount", "total_amount", "total_amount_in_words", "payment_terms",
                 "remarks")
LINE_CELLS = ("supplier_sku", "barcode", "description", "spec", "unit", "quantity", "unit_price", "amount",
              "tax_rate", "tax_amount", "batch_no", "production_date", "expiry_date", "po_line_ref")

OUTSIDE = "O"
TAGS = (OUTSIDE,) + tuple(f"h:{n}" for n in HEADER_FIELDS) + tuple(f"l:{n}" for n in LINE_CELLS)


def header_tag(name: str) -> str:
    return f"h:{name}"


def line_tag(name: str) -> str:
    return f"l:{name}"


def split_tag(tag: str) -> tuple[str, str]:
    """'h:total_amount' -> ('h', 'total_amount'); 'O' -> ('', '')."""
    kind, _, name = tag.partition(":")
    return (kind, name) if name else ("", "")
