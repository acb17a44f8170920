"""A small run of the matching benchmark (2,000 products): accuracy and auto-accept precision, no timing."""

from __future__ import annotations

from fixtures.matching import bench_set, sample_lines
from matching import MatchMethod, MatchOptions
from pipeline.bench.matching import accuracy, learning_curve, summarise, outcome


def test_generator_is_deterministic():
    a, b = bench_set(500, seed=3), bench_set(500, seed=3)
    assert a.products == b.products and a.links == b.links
    assert [c.line for c in sample_lines(a, 50, seed=1)] == [c.line for c in sample_lines(b, 50, seed=1)]


def test_accuracy_at_2000_products():
    bench = bench_set(2_000, seed=5, n_suppliers=12, catalogue=150)
    master = bench.master()
    figures = accuracy(bench, master, lines=800, calibration_lines=1500)
    assert figures["top1"] >= 0.93
    assert figures["top5"] >= 0.95
    assert figures["fuzzy_top1"] >= 0.88
    assert figures["auto_share"] >= 0.75
    assert figures["auto_precision"] >= 0.99


def test_default_threshold_holds_on_unseen_data():
    bench = bench_set(2_000, seed=9, n_suppliers=12, catalogue=150)
    master = bench.master()
    from matching import MatchOptions
    figures = summarise([outcome(c, master, MatchOptions()) for c in sample_lines(bench, 800, seed=21)])
    assert figures["auto_precision"] >= 0.99 and figures["auto_share"] >= 0.75


def test_learning_curve_cuts_edits():
    bench = bench_set(2_000, seed=5, n_suppliers=12, catalogue=150)
    curve = learning_curve(bench, suppliers_used=3)
    assert curve["last_half"] <= 0.2 * max(1, curve["first_half"])
    assert str(MatchMethod.ALIAS) == "alias"


def test_the_bench_holds_one_word_variants_printed_as_the_plain_name():
    bench = bench_set(2_000, seed=5, n_suppliers=12, catalogue=150)
    names = {p.id: p.name for p in bench.products}
    pairs = [(pid, other) for pid, others in bench.near_duplicates.items() for other in others]
    assert len(pairs) >= 100 and all(names[a] in names[b] or names[b] in names[a] for a, b in pairs)
    plain = [c for c in sample_lines(bench, 2000, seed=1) if c.product_id in bench.near_duplicates
             and c.line.description == names[c.product_id]]
    assert len(plain) >= 30
    master = bench.master()
    figures = summarise([outcome(c, master, MatchOptions(), bench.near_duplicates)
                         for c in sample_lines(bench, 800, seed=21)])
    assert figures["near_lines"] >= 50 and figures["near_twin"] <= 0.01
