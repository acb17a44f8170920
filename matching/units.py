"""Printed unit -> the product's base unit, with the converted quantity and unit cost as Decimal.

The factor (base units per printed unit) comes from the first of:
  same     the printed unit is the base unit (or a spelling of it: 个/pcs/pc/ea when the base counts pieces);
  learned  a reviewer's factor for this supplier, product and unit (a `unit_factor` LearnedFact);
  supplier_product  the supplier-product link for that printed unit (1 箱 = 24 瓶);
  product  the product's own conversions;
  standard kg, g, 斤 (0.5 kg), 公斤, t, L, mL, 打 (12), within one dimension;
  pack_size the description's pack ("24瓶/箱", "330ml×24") when the printed unit is the outer one.
Nothing found is `factor=None` and a `unit_unknown` issue: a wrong factor silently corrupts stock.

`unit_fit` asks the same question of a candidate product before one is chosen: can its units express the
printed unit at all?  The product matcher ranks a product that cannot down and never auto-accepts it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Mapping

from extractors import Issue, Severity
from matching.master import LearnedKind, MasterData, Product
from matching.result import UnitConversion
from matching.specs import PackSize, Spec, pack_size, read_specs

__all__ = ["PrintedUnit", "convert_unit", "read_unit", "unit_fit", "unit_key"]

_SPELLINGS = {
    "pcs": "pcs", "pc": "pcs", "piece": "pcs", "pieces": "pcs", "ea": "pcs", "each": "pcs", "个": "pcs",
    "只": "pcs", "件": "pcs", "枚": "pcs", "颗": "pcs", "unit": "pcs", "units": "pcs", "stk": "pcs", "st": "pcs",
    "kg": "kg", "kgs": "kg", "公斤": "kg", "千克": "kg", "g": "g", "克": "g", "gram": "g", "斤": "斤", "t": "t",
    "吨": "t", "ton": "t", "l": "l", "ltr": "l", "litre": "l", "liter": "l", "升": "l", "ml": "ml", "毫升": "ml",
    "打": "dozen", "dozen": "dozen", "dz": "dozen", "doz": "dozen", "lb": "lb", "lbs": "lb",
    "m": "m", "米": "m", "mm": "mm", "cm": "cm", "箱": "箱", "case": "箱", "ctn": "箱", "carton": "箱",
    "cs": "箱", "box": "盒", "bx": "盒", "盒": "盒", "bottle": "瓶", "btl": "瓶", "瓶": "瓶", "can": "罐", "罐": "罐",
    "听": "罐", "bag": "袋", "袋": "袋", "pack": "包", "pk": "包", "包": "包", "roll": "卷", "卷": "卷", "reel": "卷",
    "set": "套", "套": "套", "pair": "对", "对": "对", "双": "对", "桶": "桶", "支": "支", "条": "条",
}
_STANDARD: dict[str, tuple[str, Decimal]] = {
    "kg": ("mass", Decimal(1)), "g": ("mass", Decimal("0.001")), "斤": ("mass", Decimal("0.5")),
    "t": ("mass", Decimal(1000)), "lb": ("mass", Decimal("0.45359237")),
    "l": ("volume", Decimal(1)), "ml": ("volume", Decimal("0.001")),
    "m": ("length", Decimal(1)), "cm": ("length", Decimal("0.01")), "mm": ("length", Decimal("0.001")),
    "pcs": ("count", Decimal(1)), "dozen": ("count", Decimal(12)),
}
_OUTER = {"箱", "盒", "包", "提", "件", "桶", "袋"}
_CONTAINERS = {"瓶", "罐", "袋", "包", "支", "盒", "桶", "条", "卷"}


@lru_cache(maxsize=4096)
def unit_key(unit: str) -> str:
    """A printed unit in one spelling: NFKC, lower case, no dots or spaces, synonyms folded (PCS. -> pcs)."""
    text = unicodedata.normalize("NFKC", unit or "").lower().strip().strip(".")
    text = text.replace(" ", "")
    if text not in _SPELLINGS and text.endswith("s") and text[:-1] in _SPELLINGS:
        text = text[:-1]                                  # bottles -> bottle
    return _SPELLINGS.get(text, text)


def _standard(printed: str, base: str) -> Decimal | None:
    a, b = _STANDARD.get(printed), _STANDARD.get(base)
    if a is None or b is None or a[0] != b[0]:
        return None
    return a[1] / b[1]


@dataclass(frozen=True, slots=True)
class PrintedUnit:
    """A line's printed unit, read once for every candidate product.  key: `unit_key` of it ("" when the line
    prints none); pack: the pack its text prints ("24瓶/箱"), None when none; sizes: dimension -> value read
    from its text (volume_ml, mass_g), empty when none or when no unit is printed."""

    key: str
    pack: PackSize | None = None
    sizes: Mapping[str, str] = field(default_factory=dict)


def read_unit(unit: str, description: str, *, specs: Spec | None = None) -> PrintedUnit:
    """The printed unit with the pack and sizes of the line's text; `specs`: `read_specs(description)` when the
    caller has it already.  The text is only read when a unit is printed."""
    key = unit_key(unit)
    if not key:
        return PrintedUnit("")
    return PrintedUnit(key, pack_size(description), dict(read_specs(description) if specs is None else specs))


def _from_pack(printed: PrintedUnit, base: str) -> Decimal | None:
    pack = printed.pack
    if not printed.key:
        return None
    outer = _OUTER | ({unit_key(pack.outer)} if pack is not None and pack.outer else set())
    if pack is not None and printed.key in outer and pack.count > 0:
        inner = unit_key(pack.inner)
        if not inner or inner == base or (base == "pcs" and inner in _CONTAINERS | {"pcs"}):
            return pack.count
    if printed.key in _CONTAINERS and base in ("l", "ml", "kg", "g"):
        size = printed.sizes.get("volume_ml") if base in ("l", "ml") else printed.sizes.get("mass_g")
        if size is not None:
            per = Decimal(size) / (Decimal(1000) if base in ("l", "kg") else Decimal(1))
            return per * (pack.count if pack is not None and printed.key in _OUTER else 1)
    return None


def _known_factor(printed: str, product: Product, supplier_id: str,
                  master: MasterData) -> tuple[Decimal | None, str]:
    """The factor from everything but the line's own text (see the module docstring)."""
    base = unit_key(product.unit)
    if printed == base:
        return Decimal(1), "same"
    fact = master.learned.get(LearnedKind.UNIT_FACTOR, supplier_id, f"{product.id}|{printed}")
    if fact is not None and fact.factor is not None:
        return fact.factor, "learned"
    for sp in master.sp_by_product.get((supplier_id, product.id), ()):
        if sp.factor is not None and unit_key(sp.unit) == printed:
            return sp.factor, "supplier_product"
    for unit, factor in product.conversions.items():
        if unit_key(unit) == printed:
            return Decimal(factor), "product"
    if (std := _standard(printed, base)) is not None:
        return std, "standard"
    return None, "unknown"


def unit_fit(unit: PrintedUnit, product: Product, supplier_id: str, master: MasterData) -> int:
    """1 when the product's units express the printed unit (its base unit, a learned or linked factor, its
    own conversions, a standard one, the printed pack), 0 when the line prints no unit, -1 when they cannot
    or when the printed pack contradicts the product's own factor for that unit (24瓶/箱 printed, 12 known)."""
    if not unit.key:
        return 0
    factor, source = _known_factor(unit.key, product, supplier_id, master)
    packed = _from_pack(unit, unit_key(product.unit)) if factor is None or source == "product" else None
    if factor is None:
        return 1 if packed is not None else -1
    return -1 if source == "product" and packed is not None and packed != factor else 1


def convert_unit(*, printed_unit: str, quantity: Decimal | None, unit_price: Decimal | None, product: Product,
                 supplier_id: str, master: MasterData, description: str = "",
                 line_no: int | None = None) -> tuple[UnitConversion, list[Issue]]:
    """The conversion for one line (see the module docstring) and a `unit_unknown` issue when no factor."""
    factor, source = _known_factor(unit_key(printed_unit), product, supplier_id, master)
    if factor is None and unit_key(printed_unit):      # the line's own pack, read only now that it is needed
        factor = _from_pack(read_unit(printed_unit, description), unit_key(product.unit))
        source = "unknown" if factor is None else "pack_size"
    if factor is None:
        issue = Issue("unit_unknown", Severity.WARNING,
                      f"How many {product.unit} of {product.name} are in one '{printed_unit}' is not known; "
                      "enter the factor once and it is remembered for this supplier.", field="unit",
                      line_no=line_no)
        return UnitConversion(printed_unit, product.unit, None, source), [issue]
    qty = None if quantity is None else quantity * factor
    cost = None if unit_price is None or factor == 0 else (unit_price / factor).quantize(Decimal("0.000001"))
    return UnitConversion(printed_unit, product.unit, factor, source, qty, cost), []
