"""A page's words as the model sees them: reading order, boxes on a 0..1000 grid, a bag of sub-word ids.

The encoder reads one position per printed word (not per sub-word): a word's vector is the mean of its
sub-word embeddings and one *shape* token (`shape`: digits, decimals, dates, capitals, CJK, ...), so a page
of 300 words is 300 positions whatever the tokenizer makes of them.  Digits are folded to 0 before
tokenizing (a price's digits say nothing about its role; its shape does).  The tokenizer is trained here
(`pipeline.training`) with `tokenizers` on our own text, one token per Chinese character.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from extractors.layout import Page, Word

MAX_WORDS = 512          # positions per window (longer pages are read in overlapping windows)
SUBWORDS = 6             # sub-word ids kept per word, the shape token included
GRID = 1000

SHAPES = ("<int>", "<dec>", "<money>", "<date>", "<pct>", "<id>", "<upper>", "<title>", "<lower>", "<cjk>",
          "<mixed>", "<punct>", "<colon>")
SPECIALS = ("[PAD]", "[UNK]") + SHAPES

_DATE = re.compile(r"^\d{1,4}[./\-年]\d{1,2}[./\-月]\d{1,4}日?$")
_DEC = re.compile(r"^[-+(]?[\d.,' ]*\d[.,]\d{1,3}\)?-?$")
_INT = re.compile(r"^[-+]?\d+$")
_PCT = re.compile(r"^[-+]?\d+(?:[.,]\d+)?\s?%$")
_MONEY = re.compile(r"^[¥$€£￥]|^(?:EUR|USD|CNY|RMB|GBP)\s?[\d]", re.I)
_DIGIT = re.compile(r"\d")


def _cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def shape(text: str) -> str:
    """The word's shape token."""
    t = text.strip()
    if not t:
        return "<punct>"
    if t.endswith((":", "：")):
        return "<colon>"
    if _MONEY.search(t):
        return "<money>"
    if _PCT.match(t):
        return "<pct>"
    if _DATE.match(t):
        return "<date>"
    if _INT.match(t):
        return "<int>"
    if _DEC.match(t):
        return "<dec>"
    if any(_cjk(c) for c in t):
        return "<cjk>"
    digits = sum(c.isdigit() for c in t)
    letters = sum(c.isalpha() for c in t)
    if digits and letters:
        return "<id>" if digits >= 3 else "<mixed>"
    if not letters:
        return "<punct>" if not digits else "<id>"
    if t.isupper():
        return "<upper>"
    if t[0].isupper():
        return "<title>"
    return "<lower>"


def fold_digits(text: str) -> str:
    return _DIGIT.sub("0", text)


def reading_order(page: Page) -> list[Word]:
    """The page's words line by line, top to bottom, each line left to right (the Layout's own order)."""
    return [w for line in page.lines for w in line.words]


def grid_boxes(words: list[Word], width: float, height: float) -> np.ndarray:
    """[n, 4] int64 boxes on the 0..1000 grid of the page (clipped, x1 >= x0, y1 >= y0)."""
    if not words:
        return np.zeros((0, 4), dtype=np.int64)
    raw = np.array([(w.bbox.x0, w.bbox.y0, w.bbox.x1, w.bbox.y1) for w in words], dtype=np.float64)
    scale = np.array([GRID / max(width, 1.0), GRID / max(height, 1.0)] * 2)
    grid = np.clip(np.rint(raw * scale), 0, GRID).astype(np.int64)
    grid[:, 2] = np.maximum(grid[:, 2], grid[:, 0])
    grid[:, 3] = np.maximum(grid[:, 3], grid[:, 1])
    return grid


@dataclass(frozen=True, slots=True)
class PageInput:
    """One page ready for the encoder: `tokens` [n, SUBWORDS] (0 = padding), `boxes` [n, 4], the words."""
    page: int
    words: list[Word]
    tokens: np.ndarray
    boxes: np.ndarray


class WordEncoder:
    """Words -> sub-word id bags, with a trained `tokenizers.Tokenizer` (tokenizer.json of a model folder)."""

    CACHE = 100_000      # words remembered (labels, units, names repeat from page to page)

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer
        self.shape_ids = {s: tokenizer.token_to_id(s) for s in SHAPES}
        self.unk = tokenizer.token_to_id("[UNK]") or 1
        self._known: dict[str, tuple[int, ...]] = {}

    def encode(self, words: list[Word]) -> np.ndarray:
        out = np.zeros((len(words), SUBWORDS), dtype=np.int64)
        if not words:
            return out
        known = self._known
        new = list(dict.fromkeys(w.text for w in words if w.text not in known))
        if new:
            if len(known) + len(new) > self.CACHE:
                known.clear()
            encodings = self.tokenizer.encode_batch([fold_digits(t) or "_" for t in new], add_special_tokens=False)
            for text, enc in zip(new, encodings):
                ids = enc.ids[:SUBWORDS - 1] or [self.unk]
                known[text] = (*ids, self.shape_ids.get(shape(text)) or self.unk)
        for i, w in enumerate(words):
            ids = known[w.text]
            out[i, :len(ids)] = ids
        return out

    def page_input(self, page: Page) -> PageInput:
        words = reading_order(page)
        return PageInput(page.number, words, self.encode(words), grid_boxes(words, page.width, page.height))


def windows(n: int, size: int = MAX_WORDS, overlap: int = 64) -> list[tuple[int, int]]:
    """[start, end) spans covering n positions, each at most `size`, neighbours overlapping by `overlap`."""
    if n <= size:
        return [(0, n)]
    out, start = [], 0
    while start < n:
        end = min(n, start + size)
        out.append((start, end))
        if end == n:
            break
        start = end - overlap
    return out
