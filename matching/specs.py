"""Sizes, ratings and pack sizes read out of names: the tokens that tell near-duplicates apart.

`read_specs("可口可乐 0.33L×24瓶/箱")` gives `{("volume_ml", "330"), ("pack", "24")}`: each token is a
dimension and a canonical value (volume in mL, mass in g, resistance in Ω, capacitance in pF, voltage in V,
current in mA, power in W, length in mm, thread "M4", package code "0603", tolerance in %).  Two names
whose tokens disagree on a dimension both carry (330 mL vs 500 mL, 0603 vs 0805) name different products,
however alike the rest reads; `spec_agreement` turns that into a factor for the fuzzy score.

`pack_size` reads "24瓶/箱", "24x330ml", "330ml*24" as (count, inner unit, outer unit) for unit conversion.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

__all__ = ["PackSize", "Spec", "pack_size", "read_specs", "spec_agreement", "spec_text", "undecided_dims"]

Spec = frozenset[tuple[str, str]]

_NUM = r"(\d+(?:\.\d+)?)"
_UNIT_SCALE: dict[str, tuple[str, Decimal]] = {
    "ml": ("volume_ml", Decimal(1)), "毫升": ("volume_ml", Decimal(1)), "cl": ("volume_ml", Decimal(10)),
    "l": ("volume_ml", Decimal(1000)), "升": ("volume_ml", Decimal(1000)), "ltr": ("volume_ml", Decimal(1000)),
    "mg": ("mass_g", Decimal("0.001")), "g": ("mass_g", Decimal(1)), "克": ("mass_g", Decimal(1)),
    "kg": ("mass_g", Decimal(1000)), "千克": ("mass_g", Decimal(1000)), "公斤": ("mass_g", Decimal(1000)),
    "斤": ("mass_g", Decimal(500)), "lb": ("mass_g", Decimal("453.59237")), "oz": ("mass_g", Decimal("28.349523")),
    "pf": ("cap_pf", Decimal(1)), "nf": ("cap_pf", Decimal(1000)), "uf": ("cap_pf", Decimal(1000000)),
    "v": ("voltage_v", Decimal(1)), "kv": ("voltage_v", Decimal(1000)),
    "ma": ("current_ma", Decimal(1)), "a": ("current_ma", Decimal(1000)),
    "mw": ("power_w", Decimal("0.001")), "w": ("power_w", Decimal(1)), "kw": ("power_w", Decimal(1000)),
    "mm": ("length_mm", Decimal(1)), "cm": ("length_mm", Decimal(10)), "米": ("length_mm", Decimal(1000)),
    "m": ("length_mm", Decimal(1000)), "寸": ("length_mm", Decimal("25.4")), "英寸": ("length_mm", Decimal("25.4")),
    "mah": ("charge_mah", Decimal(1)), "mhz": ("freq_hz", Decimal(1000000)), "khz": ("freq_hz", Decimal(1000)),
    "hz": ("freq_hz", Decimal(1)),
}
_UNITS_RE = "|".join(sorted((re.escape(u) for u in _UNIT_SCALE), key=len, reverse=True))
_MEASURE = re.compile(rf"(?<![a-z0-9./]){_NUM}\s*({_UNITS_RE})(?![a-z0-9ω])")
_FRACTION_W = re.compile(r"(?<![a-z0-9.])(\d+)/(\d+)\s*w(?![a-z])")
_OHMS = re.compile(r"(?<![a-z0-9.])(\d+(?:\.\d+)?)([rkm]?)(\d*)\s*(?:ω|ohms?|欧姆?)|"
                   r"(?<![a-z0-9.])(\d+(?:\.\d+)?)([rk]|m(?=\d))(\d*)(?![a-z0-9])")
_THREAD = re.compile(r"(?<![a-z0-9])m(\d+(?:\.\d+)?)(?:\s*[x×*]\s*(\d+(?:\.\d+)?))?(?![\d.])")
_PACKAGE = re.compile(r"(?<!\d)(0201|0402|0603|0805|1206|1210|1812|2010|2512)(?!\d)|"
                      r"\b((?:sot|sop|soic|tssop|qfn|lqfp|dip|to|sod|msop|dfn|bga)-?\d{1,3}[a-z]?)\b")
_TOLERANCE = re.compile(r"(?<![a-z0-9.])[±+]?\s*(\d+(?:\.\d+)?)\s*%")
_INNER = r"(瓶|罐|袋|包|支|个|片|盒|只|条|卷|桶|听|pcs|pc|ea|bottles?|cans?|bags?|packs?|units?)"
_OUTER = r"(箱|盒|包|件|提|袋|桶|case|box|ctn|carton|pack|tray)"
_PACK_PER = re.compile(rf"{_NUM}\s*{_INNER}\s*[/每]\s*{_OUTER}")
_PACK_TIMES_AFTER = re.compile(rf"(?:{_NUM}\s*(?:{_UNITS_RE}))\s*[x×*]\s*(\d+)(?![\d.a-z])\s*{_INNER}?")
_PACK_TIMES_BEFORE = re.compile(rf"(?<![a-z0-9.])(\d+)\s*{_INNER}?\s*[x×*]\s*{_NUM}\s*(?:{_UNITS_RE})(?![a-z])")


@dataclass(frozen=True, slots=True)
class PackSize:
    """A pack printed in a name: `count` inner units (`inner`, e.g. 瓶; "" when not said) per outer unit."""

    count: Decimal
    inner: str
    outer: str


_OCR_ZERO = re.compile(r"(?<=\d)o+(?!z)|(?<=\d\.)o+|(?<![a-z])o(?=\d{2,})")
_OCR_ONE = re.compile(r"(?<![a-ln-z])[li](?=\.?\d)")
_OCR_FIVE_EIGHT = re.compile(r"(?<=\d)[sb](?=\d)|(?<=\d\.)[sb]|(?<=[x×*]\d)[sb](?![a-z])")
_OCR_RN = re.compile(r"(?<=\d)(?:rn|m)(?:rn|m)?(?:l)?")


def _unslip(text: str) -> str:
    """OCR slips inside numbers only: 5O -> 50, l.5 -> 1.5, Ml0 -> M10, 7S0 -> 750, 4rnrn -> 4mm."""
    text = _OCR_ONE.sub("1", text)
    text = _OCR_FIVE_EIGHT.sub(lambda m: "5" if m.group(0) == "s" else "8", text)
    text = _OCR_ZERO.sub(lambda m: "0" * len(m.group(0)), text)
    return _OCR_RN.sub(lambda m: m.group(0).replace("rn", "m"), text)


_DECIMAL_COMMA = re.compile(r"(?<=\d),(?=\d{1,2}(?!\d))")   # 2,5 kg -> 2.5 kg (not 1,000)
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


def _prepare(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = _THOUSANDS.sub("", _DECIMAL_COMMA.sub(".", text))
    return _unslip(text.replace("µ", "u").replace("μ", "u").replace("Ω", "ω"))


def _canon(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _ohm_value(number: str, prefix: str, tail: str) -> Decimal:
    scale = {"": Decimal(1), "r": Decimal(1), "k": Decimal(1000), "m": Decimal(1000000)}[prefix]
    value = Decimal(f"{number}.{tail}") if tail and "." not in number else Decimal(number)
    return value * scale


def _measures(text: str) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for number, unit in _MEASURE.findall(text):
        dim, scale = _UNIT_SCALE[unit]
        out.add((dim, _canon(Decimal(number) * scale)))
    for num, den in _FRACTION_W.findall(text):
        if int(den):
            out.add(("power_w", _canon(Decimal(num) / Decimal(den))))
    return out


def _resistances(text: str) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for m in _OHMS.finditer(text):
        try:
            if m.group(1):
                out.add(("ohm", _canon(_ohm_value(m.group(1), m.group(2), m.group(3)))))
            else:
                out.add(("ohm", _canon(_ohm_value(m.group(4), m.group(5), m.group(6)))))
        except (InvalidOperation, KeyError):
            continue
    return out


def read_specs(text: str) -> Spec:
    """The spec tokens in a name or spec column (see the module docstring)."""
    text = _prepare(text)
    out = _measures(text) | _resistances(text)
    for size, length in _THREAD.findall(text):
        out.add(("thread", f"m{_canon(Decimal(size))}"))
        if length:
            out.add(("length_mm", _canon(Decimal(length))))
    for chip, other in _PACKAGE.findall(text):
        out.add(("package", chip or other.replace("-", "")))
    for number in _TOLERANCE.findall(text):
        out.add(("tolerance_pct", _canon(Decimal(number))))
    pack = pack_size(text)
    if pack is not None:
        out.add(("pack", _canon(pack.count)))
    return frozenset(out)


def pack_size(text: str) -> PackSize | None:
    """The first pack size printed in `text`: "24瓶/箱", "330ml×24", "24x330ml"; None when there is none."""
    text = _prepare(text)
    m = _PACK_PER.search(text)
    if m:
        return PackSize(Decimal(m.group(1)), m.group(2), m.group(3))
    m = _PACK_TIMES_AFTER.search(text)
    if m and Decimal(m.group(2)) > 1:
        return PackSize(Decimal(m.group(2)), m.group(3) or "", "")
    m = _PACK_TIMES_BEFORE.search(text)
    if m and Decimal(m.group(1)) > 1:
        return PackSize(Decimal(m.group(1)), m.group(2) or "", "")
    return None


# A disagreement on these is a different product; on the rest (tolerance, pack) only a hint.
_HARD = {"volume_ml": 0.45, "mass_g": 0.45, "ohm": 0.35, "cap_pf": 0.35, "voltage_v": 0.6, "current_ma": 0.6,
         "power_w": 0.7, "length_mm": 0.5, "thread": 0.4, "package": 0.4, "charge_mah": 0.5, "freq_hz": 0.5}
_SOFT = {"tolerance_pct": 0.85, "pack": 0.9}


@lru_cache(maxsize=1 << 14)
def _by_dim(spec: Spec) -> dict[str, set[str]]:
    """Dimension -> values; cached (the same products' specs come up line after line): never change it."""
    out: dict[str, set[str]] = {}
    for dim, value in spec:
        out.setdefault(dim, set()).add(value)
    return out


def spec_agreement(printed: Spec, master: Spec) -> float:
    """A factor in (0, 1.1]: < 1 for each dimension both name with no common value, a small bonus when
    every dimension the printed line names agrees with the master record."""
    p, m = _by_dim(printed), _by_dim(master)
    factor, agreed = 1.0, 0
    for dim, values in p.items():
        if dim not in m:
            factor *= 0.92 if dim in _HARD else 1.0
            continue
        if values & m[dim]:
            agreed += 1
        else:
            factor *= _HARD.get(dim, _SOFT.get(dim, 0.8))
    if agreed and factor == 1.0:
        factor += min(0.1, 0.04 * agreed)
    return factor


def undecided_dims(printed: Spec, first: Spec, second: Spec) -> set[str]:
    """Hard dimensions on which two candidates differ but the printed line says nothing: a choice between
    them by the rest of the name is a guess (可口可乐 without its size)."""
    a, b, p = _by_dim(first), _by_dim(second), _by_dim(printed)
    return {d for d in a.keys() & b.keys() if d in _HARD and not a[d] & b[d] and d not in p}


def spec_text(spec: Spec) -> str:
    """A short readable form for messages: `volume_ml=330 pack=24`."""
    return " ".join(f"{d}={v}" for d, v in sorted(spec))
