"""Typed parsing of printed values: amounts, quantities, percentages, dates, currencies.

Every parser takes the printed text and returns the typed value or None; none of them guesses beyond
what the text says.  Where the text is ambiguous (1.234 could be 1234 or 1.234; 03/04/2024 could be
March or April), the caller passes the document's convention (`decimal_comma`, `dayfirst`), which
`document_conventions` infers from the whole text once.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

_AMOUNT_RE = re.compile(
    r"(?<![\w.,/])"
    r"(?P<neg1>[-−–(])?\s?"
    r"(?:(?P<cur1>[€$£¥₹]|RM|Rs\.?|EUR|USD|GBP|CHF|PLN|CNY|RMB|INR|zł)\s?)?"
    r"(?P<neg2>-)?"
    r"(?P<num>\d{1,3}(?:(?P<sep>[.,' \u00a0\u202f])\d{3})+(?:[.,]\d{1,4})?|\d+(?:[.,]\d{1,4})?)"
    r"(?P<neg3>-)?\)?"
    r"(?:\s?(?P<cur2>[€$£¥]|EUR|USD|GBP|CHF|PLN|CNY|RMB|zł|元))?"
    r"(?![\w.,]*\d)(?![/:])"
)

CURRENCY_SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP", "¥": "CNY", "￥": "CNY", "RM": "MYR", "元": "CNY",
                    "zł": "PLN", "RMB": "CNY", "Rs": "INR", "Rs.": "INR", "₹": "INR"}
CURRENCY_CODES = {"EUR", "USD", "GBP", "CHF", "PLN", "CNY", "MYR", "JPY", "INR", "SEK", "DKK", "NOK", "CZK",
                  "HUF", "SGD", "AUD", "CAD", "HKD"}


def normalise_text(text: str) -> str:
    """NFKC (full-width digits and punctuation to ASCII) and single spaces."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def _to_decimal(num: str, *, decimal_comma: bool | None) -> Decimal | None:
    digits = num.replace("'", "").replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    last_dot, last_comma = digits.rfind("."), digits.rfind(",")
    if last_dot >= 0 and last_comma >= 0:
        dec = "." if last_dot > last_comma else ","
    elif last_dot >= 0 or last_comma >= 0:
        sep = "." if last_dot >= 0 else ","
        tail = len(digits) - max(last_dot, last_comma) - 1
        if digits.count(sep) > 1:
            dec = None
        elif tail != 3:
            dec = sep
        elif decimal_comma is None:
            dec = sep if sep == "." and len(digits) - tail - 1 < 1 else None
        else:
            dec = "," if decimal_comma else "."
            if sep != dec:
                dec = None
    else:
        dec = None
    if dec is None:
        clean = digits.replace(".", "").replace(",", "")
    else:
        thousands = "," if dec == "." else "."
        clean = digits.replace(thousands, "").replace(dec, ".")
    try:
        return Decimal(clean)
    except InvalidOperation:
        return None


@dataclass(frozen=True, slots=True)
class Amount:
    value: Decimal
    currency: str | None
    start: int   # character span in the text given
    end: int


def find_amounts(text: str, *, decimal_comma: bool | None = None) -> list[Amount]:
    """Every amount printed in `text`, left to right, with its sign and currency where printed."""
    text = unicodedata.normalize("NFKC", text)
    out: list[Amount] = []
    for m in _AMOUNT_RE.finditer(text):
        value = _to_decimal(m.group("num"), decimal_comma=decimal_comma)
        if value is None:
            continue
        if m.group("neg1") in ("-", "−", "–", "(") or m.group("neg2") or m.group("neg3"):
            value = -value
        cur = m.group("cur1") or m.group("cur2")
        out.append(Amount(value, CURRENCY_SYMBOLS.get(cur, cur) if cur else None, m.start(), m.end()))
    return out


def parse_amount(text: str, *, decimal_comma: bool | None = None) -> Decimal | None:
    """The single amount in `text` (currency symbols and signs allowed), else None."""
    found = find_amounts(text, decimal_comma=decimal_comma)
    if len(found) != 1:
        return None
    rest = (text[:found[0].start] + text[found[0].end:]).strip(" :*")
    return found[0].value if len(rest) <= 4 else None


_PERCENT_RE = re.compile(r"(\d{1,2}(?:[.,]\d{1,3})?)\s?%")


def parse_percent(text: str) -> Decimal | None:
    """'19 %', '7,00%', '13%' -> Decimal fraction (0.19); None when no percentage is printed."""
    m = _PERCENT_RE.search(unicodedata.normalize("NFKC", text))
    if not m:
        return None
    return (Decimal(m.group(1).replace(",", ".")) / 100).normalize()


_MONTHS = {
    # en
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4, "may": 5,
    "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9, "sept": 9, "september": 9,
    "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
    # de
    "januar": 1, "jänner": 1, "februar": 2, "märz": 3, "mär": 3, "mai": 5, "juni": 6, "juli": 7,
    "oktober": 10, "okt": 10, "dezember": 12, "dez": 12,
    # fr
    "janvier": 1, "janv": 1, "février": 2, "fevrier": 2, "févr": 2, "mars": 3, "avril": 4, "avr": 4,
    "juin": 6, "juillet": 7, "juil": 7, "août": 8, "aout": 8, "septembre": 9, "octobre": 10,
    "novembre": 11, "décembre": 12, "decembre": 12,
    # nl
    "januari": 1, "februari": 2, "maart": 3, "mei": 5, "augustus": 8,
    # pl (nominative and genitive)
    "styczeń": 1, "stycznia": 1, "luty": 2, "lutego": 2, "marzec": 3, "marca": 3, "kwiecień": 4,
    "kwietnia": 4, "maj": 5, "maja": 5, "czerwiec": 6, "czerwca": 6, "lipiec": 7, "lipca": 7,
    "sierpień": 8, "sierpnia": 8, "wrzesień": 9, "września": 9, "październik": 10, "października": 10,
    "listopad": 11, "listopada": 11, "grudzień": 12, "grudnia": 12,
    # ms (Malaysian receipts)
    "mac": 3, "ogos": 8, "dis": 12,
}
_MONTH_ALT = "|".join(sorted((re.escape(m) for m in _MONTHS), key=len, reverse=True))

_DATE_PATTERNS = [
    ("ymd", re.compile(r"(?<!\d)(\d{4})\s?[-./年]\s?(\d{1,2})\s?[-./月]\s?(\d{1,2})\s?日?(?:(?!\d)|(?=\d{1,2}:\d\d))")),
    ("dmy", re.compile(r"(?<!\d)(\d{1,2})\s?[-./]\s?(\d{1,2})\s?[-./]\s?(\d{4}|\d{2})(?:(?!\d)|(?=\d{1,2}:\d\d))")),
    ("d_mon_y", re.compile(rf"(?<!\d)(\d{{1,2}})(?:st|nd|rd|th|er)?\.?[\s/-]*({_MONTH_ALT})\.?,?[\s/-]*(\d{{4}}|\d{{2}})(?!\d)",
                           re.IGNORECASE)),
    ("mon_d_y", re.compile(rf"\b({_MONTH_ALT})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})(?!\d)", re.IGNORECASE)),
    ("compact", re.compile(r"(?<!\d)(20\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?!\d)")),
]


@dataclass(frozen=True, slots=True)
class FoundDate:
    value: date
    start: int
    end: int
    ambiguous: bool  # day and month could be swapped


def _year(y: str) -> int:
    n = int(y)
    return n + 2000 if n < 100 else n


def _make_date(y: int, m: int, d: int) -> date | None:
    try:
        result = date(y, m, d)
    except ValueError:
        return None
    return result if 1990 <= y <= 2100 else None


def find_dates(text: str, *, dayfirst: bool = True) -> list[FoundDate]:
    """Every date printed in `text`, left to right."""
    text = unicodedata.normalize("NFKC", text)
    found: list[FoundDate] = []
    taken: list[tuple[int, int]] = []
    for kind, rx in _DATE_PATTERNS:
        for m in rx.finditer(text):
            if any(s < m.end() and m.start() < e for s, e in taken):
                continue
            d, ambiguous = _date_from_match(kind, m.groups(), dayfirst=dayfirst)
            if d is not None:
                found.append(FoundDate(d, m.start(), m.end(), ambiguous))
                taken.append((m.start(), m.end()))
    return sorted(found, key=lambda f: f.start)


def _date_from_match(kind: str, g: tuple[str, ...], *, dayfirst: bool) -> tuple[date | None, bool]:
    if kind in ("ymd", "compact"):
        return _make_date(int(g[0]), int(g[1]), int(g[2])), False
    if kind == "d_mon_y":
        return _make_date(_year(g[2]), _MONTHS[g[1].lower()], int(g[0])), False
    if kind == "mon_d_y":
        return _make_date(int(g[2]), _MONTHS[g[0].lower()], int(g[1])), False
    a, b, y = int(g[0]), int(g[1]), _year(g[2])
    if a > 12 and b <= 12:
        return _make_date(y, b, a), False
    if b > 12 and a <= 12:
        return _make_date(y, a, b), False
    ambiguous = a != b
    return (_make_date(y, b, a) if dayfirst else _make_date(y, a, b)), ambiguous


def parse_date(text: str, *, dayfirst: bool = True) -> date | None:
    found = find_dates(text, dayfirst=dayfirst)
    return found[0].value if found else None


@dataclass(frozen=True, slots=True)
class Conventions:
    """How this document prints numbers and dates."""

    decimal_comma: bool
    dayfirst: bool


_DEC_COMMA_RE = re.compile(r"\d,\d{2}(?!\d)")
_DEC_DOT_RE = re.compile(r"\d\.\d{2}(?!\d)")
_SLASH_DATE_RE = re.compile(r"(?<!\d)(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})(?!\d)")


def document_conventions(text: str, *, language: str = "") -> Conventions:
    """Decimal separator by majority of 'd,dd' vs 'd.dd'; date order from any unambiguous date."""
    commas = len(_DEC_COMMA_RE.findall(text))
    dots = len(_DEC_DOT_RE.findall(text)) - len(_SLASH_DATE_RE.findall(text))
    decimal_comma = commas > dots if commas != dots else language in ("de", "fr", "nl", "pl", "es", "it")
    dayfirst_votes = monthfirst_votes = 0
    for m in _SLASH_DATE_RE.finditer(text):
        a, b = int(m.group(1)), int(m.group(2))
        if a > 12 >= b:
            dayfirst_votes += 1
        elif b > 12 >= a:
            monthfirst_votes += 1
    if dayfirst_votes == monthfirst_votes == 0 and _US_SIGNS.search(text):
        return Conventions(decimal_comma=decimal_comma, dayfirst=False)   # only ambiguous dates, US paper
    dayfirst = dayfirst_votes >= monthfirst_votes
    return Conventions(decimal_comma=decimal_comma, dayfirst=dayfirst)


# What marks a paper from the United States when none of its dates tells the order: a state and ZIP code,
# a (555) 555-5555 phone, dollar amounts, a 'March 5, 2024' date.
_US_SIGNS = re.compile(
    r",\s?[A-Z]{2}\s\d{5}(?:-\d{4})?\b|\(\d{3}\)\s?\d{3}-\d{4}|\bUSD\b|\$\s?\d|"
    r"\b(?:January|February|March|April|May|June|July|August|September|October|November|December)\s\d{1,2},\s\d{4}")


def currency_in(text: str) -> str | None:
    """An ISO 4217 code printed, or the code of a currency symbol printed, else None."""
    norm = unicodedata.normalize("NFKC", text)
    for token in re.findall(r"\b[A-Z]{3}\b", norm):
        if token in CURRENCY_CODES:
            return token
    for sym, code in CURRENCY_SYMBOLS.items():
        if sym in norm and (len(sym) == 1 or re.search(rf"\b{re.escape(sym)}\b", norm)):
            return code
    return None


_FULL_WIDTH_SPACE_RX = re.compile(r"\s*([（）：；，、。])\s*")  # full-width marks carry their own space
_HALF_TO_FULL = {"(": "（", ")": "）", ":": "：", ";": "；", ",": "，"}


def _cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


def _wide(ch: str) -> bool:
    """CJK characters, CJK punctuation and full-width forms: printed with no space between them."""
    return "\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef"


def join_printed(texts) -> str:
    """Words as one value, the way it reads in print: a space between words, none between two CJK ones."""
    out = ""
    for text in texts:
        if out and text and not (_wide(out[-1]) and _wide(text[0])):
            out += " "
        out += text
    return out


def chinese_punctuation(text: str) -> str:
    """Punctuation next to Chinese characters in its full-width form, as Chinese print sets it:
    '华为技术(深圳)有限公司' -> '华为技术（深圳）有限公司', '订单号:PO1' -> '订单号：PO1'. Brackets change in pairs
    ('可乐(330ml)' -> '可乐（330ml）'); punctuation between Latin letters or digits stays as it is."""
    chars = list(text)
    for i, ch in enumerate(chars):
        if ch not in _HALF_TO_FULL or ch == ")":
            continue
        near_cjk = (i > 0 and _cjk(chars[i - 1])) or (i + 1 < len(chars) and _cjk(chars[i + 1]))
        if ch == "(":
            close = text.find(")", i + 1)
            if close < 0:
                continue
            near_cjk = near_cjk or (close + 1 < len(chars) and _cjk(chars[close + 1])) or _cjk(chars[close - 1])
            if near_cjk:
                chars[i], chars[close] = "（", "）"
        elif near_cjk and not (ch == "," and _between_digits(chars, i)):
            chars[i] = _HALF_TO_FULL[ch]
    return _FULL_WIDTH_SPACE_RX.sub(r"\1", "".join(chars))


def _between_digits(chars: list[str], i: int) -> bool:
    return 0 < i < len(chars) - 1 and chars[i - 1].isdigit() and chars[i + 1].isdigit()
