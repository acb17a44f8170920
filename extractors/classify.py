"""Document type and language from the text: cue words counted, the strongest wins."""

from __future__ import annotations

import re

from extractors.layout import Layout
from extractors.result import DocumentType

_LANG_WORDS = {
    "de": "rechnung datum menge mwst ust betrag und der die das für gesamt summe lieferant zahlbar steuer bitte",
    "fr": "facture tva montant ht ttc le la les des du et pour prix quantité date échéance avoir",
    "en": "invoice total the and date amount qty quantity price tax due bill receipt thank cash change item",
    "nl": "factuur btw bedrag het een van en totaal datum aantal prijs betaling",
    "pl": "faktura nip sprzedawca nabywca kwota razem netto brutto ilość cena data zł płatności",
}
_LANG_SETS = {lang: frozenset(words.split()) for lang, words in _LANG_WORDS.items()}
_WORD = re.compile(r"[^\W\d_]+")


def detect_language(text: str) -> str:
    """BCP-47 primary tag; 'zh' when CJK characters make up a tenth of the letters (first 6,000 chars);
    else the language whose common invoice words occur most often."""
    text = text[:6000]
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return "und"
    cjk = sum(1 for ch in letters if "\u4e00" <= ch <= "\u9fff")
    if cjk / len(letters) > 0.1:
        return "zh"
    words = _WORD.findall(text.lower())
    scores = {lang: sum(1 for w in words if w in vocab) for lang, vocab in _LANG_SETS.items()}
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best] > 0 else "en"


# matched against lower-cased text
_TYPE_CUES: list[tuple[DocumentType, re.Pattern[str], float]] = [
    (DocumentType.VAT_INVOICE, re.compile(r"增值税|电子发票|普通发票|专用发票|发票代码|发票号码|全电发票|数电"), 3.0),
    (DocumentType.DELIVERY_NOTE, re.compile(r"送货单|出库单|发货单|配送单|随货同行|delivery note|packing slip|"
                                            r"packing list|lieferschein|bon de livraison|pakbon|dowód dostawy"), 2.5),
    (DocumentType.PURCHASE_ORDER, re.compile(r"采购单|采购订单|purchase order|bestellung an|bon de commande"), 1.2),
    (DocumentType.RECEIPT, re.compile(r"receipt|cash|change|cashier|thank you|terima kasih|kassenbon|"
                                      r"ticket de caisse|paragon|小票|收银"), 1.0),
    (DocumentType.INVOICE, re.compile(r"invoice|rechnung|gutschrift|facture|avoir|factuur|faktura|credit note|发票"),
     1.5),
]


_CJK_GAP = re.compile(r"(?<=[\u4e00-\u9fff])[ \t]+(?=[\u4e00-\u9fff])")


def _close_cjk(text: str) -> str:
    """'送 货 单' -> '送货单': titles are often letter-spaced."""
    return _CJK_GAP.sub("", text)


def classify(layout: Layout, *, text: str | None = None) -> DocumentType:
    """The document type whose cues score highest; a tall narrow page with till words is a receipt."""
    text = _close_cjk((layout.text() if text is None else text)[:8000].lower())  # title and first page decide
    if not text.strip():
        return DocumentType.OTHER
    head = _close_cjk("\n".join(ln.text for p in layout.pages[:1] for ln in p.lines[:25]).lower())
    scores: dict[DocumentType, float] = {}
    for kind, rx, weight in _TYPE_CUES:
        hits = len(rx.findall(text)) + 2 * len(rx.findall(head))
        if hits:
            scores[kind] = weight * min(hits, 6)
    if _looks_like_till_roll(layout):
        scores[DocumentType.RECEIPT] = scores.get(DocumentType.RECEIPT, 0.0) + 6.0
    if not scores:
        return DocumentType.OTHER
    return max(scores, key=lambda k: scores[k])


def _looks_like_till_roll(layout: Layout) -> bool:
    """One page much taller than wide (A4 and Letter are 1.29 to 1.41 times as tall as wide)."""
    page = layout.pages[0]
    return len(layout.pages) == 1 and page.height > 1.6 * page.width
