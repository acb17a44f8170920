"""The model's word tags -> candidate values: one per header field, and line items where the rules found none.

A header candidate is the best group of words tagged with one field: words next to each other in reading order,
or a word on a following line under the group (a name or an address over several lines).  Its value is parsed in
the field's kind with the document's conventions (decimal comma, day first); a candidate that does not parse is
dropped.  Its probability is the mean of its words' tag probabilities.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np

from extractors.layout import BBox, Word
from extractors.layout_model.runtime import PagePrediction
from extractors.layout_model.tags import split_tag
from extractors.parties import iban_is_valid
from extractors.parsing import Conventions, join_printed, parse_amount, parse_date, parse_percent
from extractors.result import Field, field_kind

MIN_WORD_P = 0.35


@dataclass(frozen=True, slots=True)
class Candidate:
    name: str
    value: str | Decimal | date
    raw: str
    prob: float
    page: int
    bbox: BBox
    words: tuple[Word, ...]

    def to_field(self, confidence: float, method: str) -> Field:
        return Field(self.value, self.raw, confidence, self.page, self.bbox, method=method)


def joined(words: list[Word] | tuple[Word, ...]) -> str:
    return join_printed(w.text for w in words)


def _box(words) -> BBox:
    return BBox(min(w.bbox.x0 for w in words), min(w.bbox.y0 for w in words),
                max(w.bbox.x1 for w in words), max(w.bbox.y1 for w in words))


def typed(name: str, raw: str, conv: Conventions):
    kind = field_kind(name)
    if kind == "decimal":
        if name.endswith("_rate"):
            return parse_percent(raw)
        return parse_amount(raw, decimal_comma=conv.decimal_comma)
    if kind == "date":
        return parse_date(raw, dayfirst=conv.dayfirst)
    if name == "currency":
        text = raw.strip().upper()
        return text if len(text) == 3 and text.isalpha() else None
    text = _after_label(raw).strip().strip(":：,;").strip()
    return text if text and plausible(name, text) else None


_ID_CHARS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-./ ]*$")
_PHONE_CHARS = re.compile(r"^[+\d\s()\-./]+$")


def plausible(name: str, text: str) -> bool:
    """Whether a text can be a value of this field at all (its kind's shape: a tax id has digits and no prose, a
    phone number is digits and separators, a name has letters); what the tags say is not trusted beyond that."""
    digits = sum(c.isdigit() for c in text)
    letters = sum(c.isalpha() for c in text)
    if name.endswith("_tax_id"):
        compact = text.replace(" ", "")
        return bool(_ID_CHARS.match(text)) and digits >= 5 and 8 <= len(compact) <= 20 \
            and not (compact.isalnum() and iban_is_valid(compact))
    if name.endswith("_phone"):
        return bool(_PHONE_CHARS.match(text)) and digits >= 6
    if name.endswith("_bank_account"):
        return digits >= 8
    if name.endswith(("_number", "_code")) or name == "po_number":
        return digits >= 1 and len(text) <= 40 and text.count(" ") <= 2
    return letters >= 2


def _after_label(raw: str) -> str:
    """The value of a word printed with its label ('订单号:CG-53', 'Tel: 0711 ...'): what follows a colon after a
    short leading phrase; the text as it is when there is none."""
    for i, ch in enumerate(raw[:16]):
        if ch in ":：" and 0 < i and raw[i + 1:].strip():
            return raw[i + 1:]
    return raw


def _groups(words: list[Word], members: list[int]) -> list[list[int]]:
    """Word indices (reading order) grouped: contiguous runs, or a word on a lower line under the group."""
    groups: list[list[int]] = []
    for i in members:
        w = words[i]
        for g in groups:
            last = words[g[-1]]
            if i == g[-1] + 1 and w.bbox.y0 < last.bbox.y1 + 0.5 * last.bbox.height:
                g.append(i)
                break
            box = _box([words[j] for j in g])
            below = 0 <= w.bbox.y0 - last.bbox.y1 <= 1.6 * max(last.bbox.height, 1.0)
            if below and box.x0 - 30 <= w.bbox.x0 <= box.x1:
                g.append(i)
                break
        else:
            groups.append([i])
    return groups


def _prose(name: str) -> bool:
    """Names, addresses, terms, remarks: values of several words that a phrase cut in two would spoil (ids, numbers
    and codes are one token, printed right after their label)."""
    return field_kind(name) == "text" and not name.endswith(
        ("_tax_id", "_number", "_code", "_phone", "_bank_account", "currency"))


def _cut(words: list[Word], group: list[int], best: np.ndarray, tag: int) -> bool:
    """A text value cut out of a phrase: the word printed right after the group's last word (or right before its
    first), on the same line and closer than a space and a half, is untagged.  Such a group is half a name."""
    def close(a: Word, b: Word) -> bool:
        return abs(a.bbox.cy - b.bbox.cy) < 0.3 * a.bbox.height and \
            0 <= b.bbox.x0 - a.bbox.x1 < 0.45 * max(a.bbox.height, 1.0)
    last, first = group[-1], group[0]
    after = last + 1 < len(words) and int(best[last + 1]) != tag and close(words[last], words[last + 1])
    before = first > 0 and int(best[first - 1]) != tag and close(words[first - 1], words[first]) and \
        not words[first - 1].text.endswith((":", "："))
    return after or before


def header_candidates(pages: list[PagePrediction], tags: tuple[str, ...], conv: Conventions,
                      tally: list[int] | None = None) -> dict[str, Candidate]:
    """The best candidate of every header field the model tagged.  `tally` (when given) counts the groups of
    tagged words looked at and those that could not be a value of their field at all ([looked at, refused]): a
    model that tags many words as something they cannot be is reading a layout it does not know."""
    out: dict[str, Candidate] = {}
    for pred in pages:
        best = pred.tag_probs.argmax(axis=1)
        top = pred.tag_probs.max(axis=1)
        for t in np.unique(best):
            kind, name = split_tag(tags[int(t)])
            if kind != "h":
                continue
            members = [int(i) for i in np.nonzero((best == t) & (top >= MIN_WORD_P))[0]]
            for g in _groups(pred.words, members):
                if _prose(name) and _cut(pred.words, g, best, t):
                    continue
                words = tuple(pred.words[i] for i in g)
                raw = joined(words)
                value = typed(name, raw, conv)
                if tally is not None:
                    tally[0] += 1
                    tally[1] += value is None
                if value is None:
                    continue
                prob = float(np.mean(top[g]))
                score = prob * (1 + 0.1 * min(len(g), 5))
                old = out.get(name)
                if old is None or score > old.prob * (1 + 0.1 * min(len(old.words), 5)):
                    out[name] = Candidate(name, value, raw, prob, pred.page, _box(words), words)
    return out


def line_items(pages: list[PagePrediction], tags: tuple[str, ...], conv: Conventions) -> list[dict[str, Candidate]]:
    """Line items from the words tagged as line cells: a new item where the start head says one begins."""
    items: list[dict[str, list[tuple[Word, float]]]] = []
    pages_of: list[int] = []
    for pred in pages:
        best = pred.tag_probs.argmax(axis=1)
        top = pred.tag_probs.max(axis=1)
        for i, w in enumerate(pred.words):
            kind, name = split_tag(tags[int(best[i])])
            if kind != "l" or top[i] < MIN_WORD_P:
                continue
            if not items or pred.start_probs[i] >= 0.5 or (name in items[-1] and name != "description"):
                items.append({})
                pages_of.append(pred.page)
            items[-1].setdefault(name, []).append((w, float(top[i])))
    out = []
    for item, page in zip(items, pages_of):
        cells = {}
        for name, got in item.items():
            words = tuple(w for w, _ in got)
            raw = joined(words)
            value = typed(name, raw, conv)
            if value is not None:
                cells[name] = Candidate(name, value, raw, float(np.mean([p for _, p in got])), page, _box(words), words)
        if len(cells) >= 2:
            out.append(cells)
    return out
