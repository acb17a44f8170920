"""The label that leads to a value: before it on its row, glued in front of it, or above it; and where a learned
label is printed on another document."""

from __future__ import annotations

import re
from typing import Sequence


from extractors.layout import BBox, Page, Word, merge_bboxes
from extractors.parsing import CURRENCY_CODES, join_printed
from extractors.result import field_kind
from extractors.learned_layout.rules import compact, Rule
from extractors.learned_layout.spans import raw_prefix, row_height, Span, zone_box


_CURRENCY_WORD = re.compile(r"^[(\[]?(?:" + "|".join(sorted(CURRENCY_CODES)) + r"|[€$£¥￥]|RMB|元)[)\]]?[:：]?$")


def is_label_word(text: str) -> bool:
    """Words a label is made of: letters, no digits ('Rechnungs-Nr.', '发票号码:', not 'PO25052809')."""
    return any(ch.isalpha() for ch in text) and not any(ch.isdigit() for ch in text)


_RATE = re.compile(r"^(?:\d{1,2}(?:[.,]\d{1,2})?\s?%|%)[:：]?$")


def _is_rate(words: Sequence[Word], k: int) -> bool:
    """A tax rate inside a label ('BTW 9 %:', 'Sales Tax 7.25%:'): part of the label, never its value."""
    text = words[k].text.strip()
    if _RATE.match(text):
        return True
    return bool(re.fullmatch(r"\d{1,2}(?:[.,]\d{1,2})?", text)) and k + 1 < len(words) and \
        words[k + 1].text.strip().startswith("%")


def _is_currency(text: str) -> bool:
    return bool(_CURRENCY_WORD.match(text.strip()))


def _left_anchor(span: Span) -> tuple[str, BBox] | None:
    line = span.page.lines[span.row]
    first = line.words.index(span.words[0]) if span.words[0] in line.words else -1
    if first <= 0:
        return None
    height = row_height(line)
    while first > 0 and (_is_currency(line.words[first - 1].text) or _is_rate(line.words, first - 1)):
        first -= 1                                # 'Total  EUR  1.234,00', 'BTW 9 %: 95,17': the label is 'Total', 'BTW' 
    if first <= 0 or span.words[0].bbox.x0 - line.words[first - 1].bbox.x1 > 0.6 * span.page.width:
        return None
    label: list[Word] = []
    for k in range(first - 1, max(-1, first - 6), -1):
        w = line.words[k]
        if label and label[0].bbox.x0 - w.bbox.x1 > 1.2 * height:
            break
        if _is_rate(line.words, k):
            continue
        if not is_label_word(w.text) and not label:
            return None
        if not is_label_word(w.text):
            break
        label.insert(0, w)
    text = compact(join_printed(w.text for w in label))
    return (text, merge_bboxes(w.bbox for w in label)) if text else None


def _above_anchor(span: Span) -> tuple[str, BBox] | None:
    page, box = span.page, span.box
    height = row_height(page.lines[span.row])
    for r in range(span.row - 1, max(-1, span.row - 4), -1):
        line = page.lines[r]
        if box.y0 - line.bbox.y1 > 2.5 * height:
            return None
        over = [w for w in line.words if w.bbox.x1 > box.x0 - height and w.bbox.x0 < box.x1 + height
                and is_label_word(w.text)]
        if over:
            text = compact(join_printed(w.text for w in over[:4]))
            if text:
                return text, merge_bboxes(w.bbox for w in over[:4])
    return None


def anchor_of(span: Span) -> tuple[str, str, BBox | None]:
    """(anchor text, side, anchor box) for a found value."""
    if span.prefix:
        label = compact(span.prefix)
        if label:
            return label, "inline", span.words[0].bbox
    left = _left_anchor(span)
    if left is not None:
        return left[0], "left", left[1]
    above = _above_anchor(span)
    if above is not None:
        return above[0], "above", above[1]
    return "", "", None


def expected_anchor(rule: Rule, page: Page) -> tuple[float, float]:
    """Where the rule's label should be: the learned value's place less the learned offset (the label's x1 for a label
    on the left, its x0 otherwise, and its y0)."""
    zone = zone_box(rule, page)
    return zone.x0 - rule.offset[0], zone.y0 - rule.offset[1]


def anchor_distance(page: Page, rule: Rule, hit: tuple[int, int, int, str], expected: tuple[float, float]) -> float:
    row, first, last, _ = hit
    ws = page.lines[row].words
    x = ws[last].bbox.x1 if rule.side == "left" else ws[first].bbox.x0
    # a longer label that begins with this one ('Totaal excl. btw' for 'Totaal') comes after every whole one
    longer = last + 1 < len(ws) and is_label_word(ws[last + 1].text) and ws[last + 1].bbox.x0 - ws[last].bbox.x1 < \
        row_height(page.lines[row]) and field_kind(rule.field.removeprefix("line.")) != "text"
    return abs(x - expected[0]) + abs(ws[first].bbox.y0 - expected[1]) + (1e4 if longer else 0.0)


def anchor_hits(page: Page, anchor: str, *, glued: bool = False) -> list[tuple[int, int, int, str]]:
    """(row, first word, last word, inline prefix) where `anchor` is printed: as a run of words, or glued in front
    of a value inside one word (after a colon or before a digit; any value with `glued`, a label taught glued)."""
    hits = []
    for r, line in enumerate(page.lines):
        ws = line.words
        for i, word in enumerate(ws):
            text = compact(word.text)
            if not text:
                continue
            if text.startswith(anchor) and len(text) > len(anchor):
                prefix = raw_prefix(word.text, len(anchor))
                rest = word.text[len(prefix):].lstrip()
                if glued or rest[:1] in (":", "：", "#") or rest[:1].isdigit():
                    hits.append((r, i, i, prefix))
                continue
            got, k = "", i
            while k < len(ws) and len(got) < len(anchor):
                got += "" if _is_rate(ws, k) else compact(ws[k].text)
                k += 1
            while k < len(ws) and (_is_rate(ws, k) or _is_currency(ws[k].text)):
                k += 1                            # the rate and currency after a label belong to it
            if got == anchor:
                hits.append((r, i, k - 1, ""))
    return hits
