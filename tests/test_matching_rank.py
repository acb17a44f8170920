"""Ranking like a clerk: an exact name beats a longer variant, units that cannot express the printed one
rank down, and the supplier's own history lifts the products it was confirmed as.

The master mixes each base product with a variant that differs by one word (进口, 小包装, 有机, Organic),
among enough other items that the qualifier is a common, cheap n-gram, as in a real master."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from matching import (
    LearnedFact, LearnedKind, MasterData, MatchMethod, PrintedLine, Product, SupplierProduct, match_product,
)

D = Decimal

VARIANTS = [
    Product("QJ", "VG-01", "青椒", "kg", conversions={"箱": D(10)}),
    Product("QJ-IM", "VG-02", "青椒(进口)", "箱"),
    Product("TTL", "FD-01", "太太乐鸡精", "袋", spec="200g", conversions={"箱": D(50)}),
    Product("TTL-IM", "FD-02", "太太乐鸡精(进口)", "袋", spec="200g"),
    Product("BSY", "FZ-01", "巴沙鱼柳", "kg", conversions={"箱": D(10)}),
    Product("BSY-S", "FZ-02", "小包装巴沙鱼柳", "袋", conversions={"箱": D(20)}),
    Product("MCU", "EL-01", "单片机", "个", conversions={"盘": D(1000)}),
    Product("MCU-IM", "EL-02", "单片机(进口)", "个"),
    Product("OIL", "FD-03", "Olive Oil Extra Virgin", "bottle", spec="500ml", conversions={"case": D(12)}),
    Product("OIL-OR", "FD-04", "Organic Olive Oil Extra Virgin", "bottle", spec="500ml"),
    Product("XLH", "VG-03", "西兰花", "kg"),
    Product("XLH-OR", "VG-04", "有机西兰花", "盒", conversions={"箱": D(12)}),
    Product("JXR", "MT-01", "鸡胸肉", "kg"),
    Product("JXR-BOX", "MT-02", "鸡胸肉", "盒", conversions={"箱": D(20)}),
]
_FILLER_WORDS = ["牛肉", "羊排", "三文鱼", "芒果", "车厘子", "奶酪", "黄油", "葡萄酒", "橄榄油", "咖啡豆", "牛油果", "蓝莓",
                 "猪肋排", "鸡翅", "虾仁", "带鱼", "土豆", "胡萝卜", "洋葱", "番茄"]
FILLER = [p for i, w in enumerate(_FILLER_WORDS)
          for p in (Product(f"F{i}", f"FL-{i:03d}", w, "kg"),
                    Product(f"F{i}-IM", f"FL-{i:03d}I", f"{w}(进口)", "kg"),
                    Product(f"F{i}-S", f"FL-{i:03d}S", f"小包装{w}", "袋"))]


@pytest.fixture(scope="module")
def master() -> MasterData:
    return MasterData.build(products=VARIANTS + FILLER)


def _top(match, other: str) -> float:
    """The lead of the winner over `other` among the candidates (1.0 when `other` is not listed)."""
    scores = {c.id: c.score for c in match.candidates}
    return match.candidates[0].score - scores.get(other, 0.0)


# --- 1. an exact name beats a longer variant ---------------------------------------------------------------

@pytest.mark.parametrize("printed, spec, unit, expected, variant", [
    ("青椒", "", "kg", "QJ", "QJ-IM"),
    ("太太乐鸡精", "", "袋", "TTL", "TTL-IM"),            # the name exactly, the size left to the master
    ("太太乐鸡精", "200g", "袋", "TTL", "TTL-IM"),        # name + spec exactly
    ("巴沙鱼柳", "", "kg", "BSY", "BSY-S"),
    ("单片机", "", "个", "MCU", "MCU-IM"),
    ("OLIVE OIL EXTRA VIRGIN", "500ml", "bottle", "OIL", "OIL-OR"),
    ("西兰花", "", "kg", "XLH", "XLH-OR"),
])
def test_an_exact_name_beats_a_longer_variant(master, printed, spec, unit, expected, variant):
    m = match_product(PrintedLine(1, printed, spec, unit=unit), "", master)
    assert m.id == expected and m.method == MatchMethod.EXACT_NAME and m.auto_accepted
    assert _top(m, variant) >= 0.05                       # the variant's extra word costs


@pytest.mark.parametrize("printed, unit, expected, base", [
    ("青椒(进口)", "箱", "QJ-IM", "QJ"),
    ("青椒 进口", "箱", "QJ-IM", "QJ"),                   # the same key, however it is spaced or bracketed
    ("太太乐鸡精（进口） 200g", "袋", "TTL-IM", "TTL"),
    ("小包装巴沙鱼柳", "袋", "BSY-S", "BSY"),
    ("Organic Olive Oil Extra Virgin 500ml", "bottle", "OIL-OR", "OIL"),
])
def test_a_printed_variant_picks_the_variant(master, printed, unit, expected, base):
    m = match_product(PrintedLine(1, printed, unit=unit), "", master)
    assert m.id == expected and m.method == MatchMethod.EXACT_NAME and m.auto_accepted
    assert _top(m, base) >= 0.05


@pytest.mark.parametrize("printed, unit, variant", [
    ("青椒", "kg", "QJ-IM"), ("西兰花", "kg", "XLH-OR"), ("Olive Oil Extra Virgin 500ml", "bottle", "OIL-OR"),
])
def test_a_superset_name_is_not_a_perfect_match(master, printed, unit, variant):
    """Token-set similarity gives 100 to a name that contains the print; the words it adds must cost."""
    m = match_product(PrintedLine(1, printed, unit=unit), "", master)
    assert next(c.score for c in m.candidates if c.id == variant) <= 0.9


def test_a_name_beats_another_products_alias():
    products = [Product("A", "A1", "青椒", "kg"), Product("B", "B1", "青椒(进口)", "箱", aliases=("青椒",))] + FILLER
    m = match_product(PrintedLine(1, "青椒", unit="kg"), "", MasterData.build(products=products))
    assert m.id == "A" and m.method == MatchMethod.EXACT_NAME and m.auto_accepted


# --- 2. units that cannot express the printed one ---------------------------------------------------------

@pytest.mark.parametrize("unit, expected", [("盒", "JXR-BOX"), ("箱", "JXR-BOX"), ("kg", "JXR"), ("斤", "JXR")])
def test_the_unit_decides_between_equal_names(master, unit, expected):
    m = match_product(PrintedLine(1, "鸡胸肉", unit=unit), "", master)
    assert m.id == expected


def test_a_product_that_cannot_express_the_unit_is_never_auto_accepted(master):
    m = match_product(PrintedLine(1, "青椒", unit="袋"), "", master)   # neither 青椒 knows 袋
    assert m.id == "QJ" and not m.auto_accepted
    m = match_product(PrintedLine(1, "单片机", unit="桶"), "", master)
    assert not m.auto_accepted


def test_a_unit_that_fits_lifts_and_one_that_does_not_ranks_down(master):
    fits = match_product(PrintedLine(1, "西兰花 有机", unit="盒"), "", master)
    misfit = match_product(PrintedLine(1, "西兰花 有机", unit="kg"), "", master)
    score = {c.id: c.score for c in misfit.candidates}
    assert fits.id == "XLH-OR"
    assert {c.id: c.score for c in fits.candidates}["XLH-OR"] > score["XLH-OR"]


def test_a_printed_pack_that_contradicts_the_products_factor_ranks_down():
    products = [Product("C12", "D1", "可口可乐 碳酸饮料", "罐", spec="330ml", conversions={"箱": D(12)}),
                Product("C24", "D2", "可口可乐 碳酸饮料", "罐", spec="330ml", conversions={"箱": D(24)})] + FILLER
    m = match_product(PrintedLine(1, "可口可乐碳酸饮料 330ml 24罐/箱", unit="箱"), "", MasterData.build(products=products))
    assert m.id == "C24"


# --- 3. the supplier's own history ------------------------------------------------------------------------

def _confirmed(supplier: str, product: str, printed: str) -> LearnedFact:
    return LearnedFact(LearnedKind.PRODUCT_ALIAS, supplier, f"text:{printed}", product,
                       payload={"printed": printed}, created_at=datetime(2026, 1, 1))


def test_products_the_supplier_was_confirmed_as_are_lifted(master):
    taught = master.with_facts([_confirmed("S1", "JXR-BOX", "冻鸡胸 1盒装")])
    assert match_product(PrintedLine(1, "鸡胸肉"), "S1", taught).id == "JXR-BOX"
    assert match_product(PrintedLine(1, "鸡胸肉"), "S2", taught).id == "JXR"     # another supplier: no lift


def test_the_suppliers_catalogue_lifts_too():
    products = VARIANTS + FILLER
    linked = MasterData.build(products=products, supplier_products=[SupplierProduct("S1", "JXR-BOX", "K-77")])
    assert match_product(PrintedLine(1, "鸡胸肉"), "S1", linked).id == "JXR-BOX"
    assert match_product(PrintedLine(1, "鸡胸肉"), "S2", linked).id == "JXR"


def test_history_does_not_beat_a_clearly_better_exact_name(master):
    taught = master.with_facts([_confirmed("S1", "QJ-IM", "进口青椒 5kg箱")])
    m = match_product(PrintedLine(1, "青椒", unit="kg"), "S1", taught)
    assert m.id == "QJ" and m.auto_accepted


def test_a_variant_that_can_express_the_unit_goes_first(master):
    """巴沙鱼柳, 3 袋: only the bagged 小包装巴沙鱼柳 is sold by the 袋; still a person confirms it."""
    m = match_product(PrintedLine(1, "巴沙鱼柳", unit="袋"), "", master)
    assert [c.id for c in m.candidates[:2]] == ["BSY-S", "BSY"] and not m.auto_accepted


def test_an_exact_key_whose_product_cannot_express_the_unit_waits_for_review():
    products = [Product("A", "VG-1", "青椒", "kg")] + FILLER
    m = match_product(PrintedLine(1, "青椒", supplier_sku="VG-1", unit="袋"), "", MasterData.build(products=products))
    assert (m.id, m.method, m.auto_accepted) == ("A", MatchMethod.CODE, False)


def test_a_text_taught_as_two_products_is_no_alias(master):
    first = _confirmed("S1", "JXR", "鸡胸肉")
    second = LearnedFact(LearnedKind.PRODUCT_ALIAS, "S1", "text:鸡胸肉", "JXR-BOX", payload={"printed": "鸡胸肉"},
                         created_at=datetime(2026, 1, 2))
    m = match_product(PrintedLine(1, "鸡胸肉"), "S1", master.with_facts([first, second]))
    assert m.method != MatchMethod.ALIAS and not m.auto_accepted
    assert {c.id for c in m.candidates[:2]} == {"JXR", "JXR-BOX"}
