"""Checks and conversions for Chinese invoice values.

`uscc_is_valid(code)`: the check character of a 统一社会信用代码 (Unified Social Credit Code,
GB 32100-2015): 18 characters from 0-9 and A-Y without I, O, S, V, Z; the 18th is
31 - (sum of value x weight over the first 17, mod 31), 31 written as 0.

`amount_in_words_to_decimal(text)`: an amount in financial capitals (大写), e.g. 壹仟贰佰叁拾肆圆伍角陆分
-> Decimal("1234.56"); 整/正 accepted; 负 / 负数 / (负数) make it negative; the anti-tamper mark
⊗ / ⓧ printed before every 大写 amount is ignored (it does not mean negative).
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

_DIGITS = {ch: i for i, ch in enumerate("零壹贰叁肆伍陆柒捌玖")}
_DIGITS.update({ch: i for i, ch in enumerate("〇一二三四五六七八九")})
_DIGITS.update({"两": 2, "貮": 2, "贰": 2, "參": 3, "陸": 6, "〇": 0})
_SMALL_UNITS = {"拾": 10, "十": 10, "佰": 100, "百": 100, "仟": 1000, "千": 1000}
_BIG_UNITS = {"万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000}
_NEGATIVE = re.compile(r"^[(（]?负数?[)）]?")
AMOUNT_MARKS = "⊗ⓧⓍ⨂×Ⓧ"   # the anti-tamper marks printed before 大写 amounts


def uscc_is_valid(code: str) -> bool:
    """True when `code` is 18 characters of the USCC alphabet with a correct check character."""
    code = unicodedata.normalize("NFKC", code or "").strip().upper()
    if len(code) != 18 or any(ch not in _USCC_CHARS for ch in code):
        return False
    total = sum(_USCC_CHARS.index(ch) * w for ch, w in zip(code[:17], _USCC_WEIGHTS))
    check = (31 - total % 31) % 31
    return _USCC_CHARS[check] == code[17]


def amount_in_words_to_decimal(text: str) -> Decimal | None:
    """The value of a 大写 amount, or None when `text` is not one."""
    s = re.sub(r"\s+", "", (text or "").strip().strip(AMOUNT_MARKS))
    s = unicodedata.normalize("NFKC", s).strip(AMOUNT_MARKS + "xX¥:")
    negative = bool(_NEGATIVE.match(s))
    s = _NEGATIVE.sub("", s).strip(AMOUNT_MARKS + "xX")   # NFKC turns ⓧ into x
    s = s.replace("元", "圆").replace("圓", "圆")
    s = re.sub(r"[整正]$", "", s)
    if not s:
        return None
    if "圆" in s:
        whole_text, _, frac_text = s.partition("圆")
    elif re.fullmatch(r"[^角分]*[角分].*", s):
        whole_text, frac_text = "", s
    else:
        return None
    if not whole_text and not frac_text:
        return None
    whole = _integer_words(whole_text) if whole_text else 0
    frac = _fraction_words(frac_text)
    if whole is None or frac is None:
        return None
    value = Decimal(whole) + frac
    return -value if negative else value


def _integer_words(s: str) -> int | None:
    """壹仟贰佰叁拾肆 -> 1234; sections split by 万 and 亿."""
    total, section, number = 0, 0, 0
    for ch in s:
        if ch in _DIGITS:
            number = _DIGITS[ch]
        elif ch in _SMALL_UNITS:
            section += (number or (1 if ch in "拾十" else 0)) * _SMALL_UNITS[ch]
            number = 0
        elif ch in ("万", "萬"):
            total += (section + number) * 10_000
            section, number = 0, 0
        elif ch in ("亿", "億"):
            total = (total + section + number) * 100_000_000
            section, number = 0, 0
        else:
            return None
    return total + section + number


def _fraction_words(s: str) -> Decimal | None:
    """伍角陆分 -> 0.56; 零伍分 -> 0.05; '' -> 0."""
    s = s.lstrip("零〇")
    m = re.fullmatch(r"(?:(.)角)?零?(?:(.)分)?", s)
    if m is None:
        return None
    jiao, fen = m.group(1), m.group(2)
    if (jiao and jiao not in _DIGITS) or (fen and fen not in _DIGITS):
        return None
    return Decimal(_DIGITS.get(jiao, 0)) / 10 + Decimal(_DIGITS.get(fen, 0)) / 100
