"""Normalisation shared by every matcher: names, company names, codes, barcodes.

Names (`normalize_name`): NFKC (full width -> half width), lower case, the `*类别*` prefix of Chinese
invoice item names dropped, `Ω`/`ohm` spelt one way, punctuation to single spaces.  Sizes stay in the
text (they are what tells 330ml from 500ml apart); `matching.specs` reads them out as typed tokens.

Name keys (`name_key`): `normalize_name` with the spaces next to Chinese characters dropped, so `青椒(进口)`,
`青椒 进口` and `青椒进口` are one key; every word stays (进口, 小包装, organic tell variants apart).  Two
names with the same key are the same name as a clerk reads it.

Company names (`normalize_company`): a name plus its legal-form suffixes removed (有限公司, Co., Ltd.,
GmbH, S.A.S., B.V., Sp. z o.o., Inc., LLC, ...), so "ACME Co., Ltd." and "Acme Ltd" meet.

Codes (`normalize_code`, `fold_code`): upper case, only letters and digits; `fold_code` also folds the
letters OCR confuses with digits (O->0, I/L->1, S->5, B->8, Z->2).  Only ever for code fields (SKUs,
PO and document numbers, tax ids): folding names would merge real words.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = [
    "fold_code", "gtin_is_valid", "gtin_key", "is_cjk", "join_cjk", "name_key", "normalize_code",
    "normalize_company", "normalize_name", "strip_item_prefix",
]

_ITEM_PREFIX = re.compile(r"^\s*\*[^*]{1,30}\*\s*")
_OHM = re.compile(r"(?<=[0-9kmgμu])\s*(?:ohms?|Ω|ω)", re.IGNORECASE)
_PUNCT = re.compile(r"[^\w.%/+\-×ω]+", re.UNICODE)
_LOOSE_DOTS = re.compile(r"(?<!\d)[./+\-]|[./+\-](?!\w)")
_SPACES = re.compile(r"\s+")
_DIGIT_SLIP = re.compile(r"(?<=\d)[oli](?=\d)")     # 3l6 -> 316, 1O0 -> 100: only between digits
_SLIP_DIGIT = {"o": "0", "l": "1", "i": "1"}
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_CJK_SPACE = re.compile(r"(?<=[\u3400-\u9fff\uf900-\ufaff]) | (?=[\u3400-\u9fff\uf900-\ufaff])")

# Longest first so that 股份有限公司 goes before 有限公司.
_ZH_SUFFIXES = ("股份有限公司", "有限责任公司", "集团有限公司", "有限公司", "分公司", "股份公司", "公司", "商行", "经营部",
                "厂")
_LATIN_SUFFIXES = (
    "co ltd", "co limited", "company limited", "pvt ltd", "pte ltd", "pty ltd", "sp z o o", "sp zoo", "s a s", "sas",
    "s a r l", "sarl", "s r l", "srl", "s p a", "spa", "s a", "sa", "b v", "bv", "n v", "nv", "gmbh co kg",
    "gmbh", "ag", "kg", "ohg", "ug", "ltd", "limited", "inc", "incorporated", "llc", "l l c", "llp", "plc",
    "corp", "corporation", "co", "company", "oy", "ab", "as", "aps", "kft", "s r o", "sro", "k k", "kk",
)
_LATIN_SUFFIX_RE = re.compile(r"(?:\s(?:" + "|".join(re.escape(s) for s in _LATIN_SUFFIXES) + r"))+$")

_OCR_FOLD = str.maketrans({"O": "0", "Q": "0", "D": "0", "I": "1", "L": "1", "S": "5", "B": "8", "Z": "2"})


def is_cjk(ch: str) -> bool:
    """True for a CJK ideograph."""
    return bool(_CJK.match(ch))


def strip_item_prefix(text: str) -> str:
    """`*饮料*可口可乐` -> `可口可乐`: the tax category a Chinese VAT invoice prints before an item name."""
    return _ITEM_PREFIX.sub("", text)


@lru_cache(maxsize=8192)
def normalize_name(text: str) -> str:
    """A product name or description as the matchers compare it (see the module docstring)."""
    text = unicodedata.normalize("NFKC", text or "")
    text = strip_item_prefix(text).lower()
    text = _DIGIT_SLIP.sub(lambda m: _SLIP_DIGIT[m.group(0)], text)
    text = _OHM.sub("ω", text)
    text = text.replace("µ", "u").replace("μ", "u").replace("*", "×")
    text = _PUNCT.sub(" ", text)
    text = _LOOSE_DOTS.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def name_key(text: str) -> str:
    """A name as an equality key (see the module docstring): `太太乐 鸡精(进口)` -> `太太乐鸡精进口`."""
    return join_cjk(normalize_name(text))


def join_cjk(norm: str) -> str:
    """An already normalised name without the spaces next to Chinese characters (`name_key` of it)."""
    return _CJK_SPACE.sub("", norm)


def normalize_company(text: str) -> str:
    """A supplier name without its legal form, punctuation or case: `深圳华强电子有限公司` -> `深圳华强电子`."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = re.sub(r"[()（）\[\]]", " ", text)
    text = re.sub(r"[^\w]+", " ", text)
    text = _SPACES.sub(" ", text).strip()
    changed = True
    while changed and text:
        changed = False
        stripped = _LATIN_SUFFIX_RE.sub("", " " + text).strip()
        if stripped and stripped != text:
            text, changed = stripped, True
        for suffix in _ZH_SUFFIXES:
            if text.endswith(suffix) and len(text) > len(suffix) + 1:
                text, changed = text[: -len(suffix)].strip(), True
                break
    return text


def normalize_code(text: str) -> str:
    """A printed code as a key: NFKC, upper case, letters and digits only (`sku-00 12` -> `SKU0012`)."""
    text = unicodedata.normalize("NFKC", text or "").upper()
    return "".join(ch for ch in text if ch.isalnum())


def fold_code(text: str) -> str:
    """`normalize_code` plus the OCR confusions O/0, I/l/1, S/5, B/8, Z/2 folded to the digit."""
    return normalize_code(text).translate(_OCR_FOLD)


def gtin_is_valid(code: str) -> bool:
    """GTIN-8/12/13/14 check digit (mod 10, weights 3 and 1 from the right)."""
    if not code.isdigit() or len(code) not in (8, 12, 13, 14):
        return False
    digits = [int(c) for c in code]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits[:-1])))
    return (10 - total % 10) % 10 == digits[-1]


def gtin_key(code: str) -> str | None:
    """A valid GTIN as 14 digits (so UPC-A 12 and EAN-13 of the same item meet); None when not valid."""
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", code or "") if ch.isdigit())
    if not gtin_is_valid(digits):
        return None
    return digits.zfill(14)
