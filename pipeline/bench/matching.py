"""`inbound bench matching`: how well and how fast lines find their products, on the generated,
labelled benchmark of fixtures/matching (seeded; nothing downloaded).

(a) accuracy at 10k products (and 100k without --quick): top-1 and top-5 over all lines and over the lines
    that only the ranking can settle (method exact_name, fuzzy or none), share and precision of
    auto-accepted matches, unit factors right / flagged unknown / wrong, and the hard case apart: lines of
    products that have a one-word variant (青椒 / 青椒(进口)), top-1 and how often the variant was chosen
    instead.  The auto-accept threshold is calibrated on one master and sample (>= 99.5 % precision on the
    ranked matches, lower bound) and then measured on another master of another seed, never seen;
(b) suppliers: top-1 and auto-accepted precision over printed name variants (half with a tax id);
(c) the learning curve: 20 documents in a row from each of several suppliers whose master has no
    supplier-product links, every correction fed back after each document; edits per document;
(d) speed: median and p99 ms per line (one `match_product` call each), index build time and memory.
Progress goes to stderr.
"""

from __future__ import annotations

import gc
import math
import os
import statistics
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Mapping

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from fixtures.matching import BenchSet, Case, bench_set, document_cases, sample_lines, supplier_queries
from matching import (
    LineCorrection, MasterData, MatchOptions, Review, convert_unit, facts_from_review, match_product,
    match_supplier,
)
from matching.result import DocumentMatch, LineMatch, Match, MatchMethod

console = Console()
TARGET_PRECISION = 0.995
UNSEEN_SEED = 8                                # the master the calibrated threshold is measured on
RANKED = ("exact_name", "fuzzy", "none")      # methods whose auto-accept the threshold decides


@dataclass(frozen=True, slots=True)
class Outcome:
    """One line's result against its truth."""

    method: str
    score: float
    margin: float
    top1: bool
    top5: bool
    auto: bool
    unit: str          # right | unknown | wrong | n/a (product wrong)
    near: bool = False     # the product has a one-word variant (or is one)
    twin: bool = False     # ... and that near-duplicate was chosen instead


def _margin(match: Match) -> float:
    if len(match.candidates) < 2:
        return match.score
    return match.candidates[0].score - match.candidates[1].score


def outcome(case: Case, master: MasterData, options: MatchOptions,
            near_duplicates: Mapping[str, tuple[str, ...]] | None = None) -> Outcome:
    m = match_product(case.line, case.supplier_id, master, options)
    twins = (near_duplicates or {}).get(case.product_id, ())
    unit = "n/a"
    product = master.product(case.product_id)
    if m.id == case.product_id and product is not None:
        conv, _ = convert_unit(printed_unit=case.line.unit, quantity=case.line.quantity, unit_price=None,
                               product=product, supplier_id=case.supplier_id, master=master,
                               description=case.line.text)
        unit = "unknown" if conv.factor is None else ("right" if conv.factor == case.factor else "wrong")
    return Outcome(str(m.method), m.score, _margin(m), m.id == case.product_id,
                   any(c.id == case.product_id for c in m.candidates), m.auto_accepted, unit, bool(twins),
                   m.id in twins)


def _wilson_lower(right: int, n: int, z: float = 1.645) -> float:
    """The one-sided 95 % lower bound of a proportion: a threshold must clear it, not just the sample."""
    if n == 0:
        return 0.0
    p = right / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n)


def calibrate(outcomes: list[Outcome], *, target: float = TARGET_PRECISION) -> tuple[float, float]:
    """(auto_accept, auto_margin) giving the most auto-accepted fuzzy matches whose precision's lower
    bound is >= target.  `outcomes` come from a run with both at 0, so `auto` says only whether the
    line was decidable at all (no size left open between the first two candidates, a unit the winner can
    express)."""
    fuzzy = [o for o in outcomes if o.method in RANKED and o.auto]
    best = (0, (1.01, 1.0))
    for threshold in [0.5 + 0.025 * i for i in range(21)]:
        for margin in (0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.07, 0.1, 0.15):
            taken = [o for o in fuzzy if o.score >= threshold and o.margin >= margin]
            right = sum(o.top1 for o in taken)
            if _wilson_lower(right, len(taken)) >= target and len(taken) > best[0]:
                best = (len(taken), (round(threshold, 3), margin))
    return best[1]


def summarise(outcomes: list[Outcome]) -> dict:
    """Accuracy figures over a list of outcomes."""
    n = max(1, len(outcomes))
    fuzzy = [o for o in outcomes if o.method in RANKED]
    auto = [o for o in outcomes if o.auto]
    auto_fuzzy = [o for o in fuzzy if o.auto]
    units = [o.unit for o in outcomes if o.unit != "n/a"]
    near = [o for o in outcomes if o.near]
    near_auto = [o for o in near if o.auto]
    return {
        "lines": len(outcomes), "top1": sum(o.top1 for o in outcomes) / n, "top5": sum(o.top5 for o in outcomes) / n,
        "fuzzy_lines": len(fuzzy), "fuzzy_top1": sum(o.top1 for o in fuzzy) / max(1, len(fuzzy)),
        "fuzzy_top5": sum(o.top5 for o in fuzzy) / max(1, len(fuzzy)),
        "auto_share": len(auto) / n, "auto_precision": sum(o.top1 for o in auto) / max(1, len(auto)),
        "fuzzy_auto_share": len(auto_fuzzy) / max(1, len(fuzzy)),
        "fuzzy_auto_precision": sum(o.top1 for o in auto_fuzzy) / max(1, len(auto_fuzzy)),
        "unit_right": units.count("right") / max(1, len(units)),
        "unit_unknown": units.count("unknown") / max(1, len(units)),
        "unit_wrong": units.count("wrong") / max(1, len(units)),
        "near_lines": len(near), "near_top1": sum(o.top1 for o in near) / max(1, len(near)),
        "near_twin": sum(o.twin for o in near) / max(1, len(near)),
        "near_auto_share": len(near_auto) / max(1, len(near)),
        "near_auto_precision": sum(o.top1 for o in near_auto) / max(1, len(near_auto)),
        "exact_name_share": sum(o.method == "exact_name" for o in outcomes) / n,
    }


def accuracy(bench: BenchSet, master: MasterData, *, lines: int, calibration_lines: int = 5000,
             options: MatchOptions | None = None, unseen: tuple[BenchSet, MasterData] | None = None) -> dict:
    """Calibrate on one sample (seed 1) of `bench`, measure on another (seed 2) of `unseen` (another master,
    generated from another seed; `bench` itself when None)."""
    base = options or MatchOptions()
    open_gate = replace(base, auto_accept=0.0, auto_margin=0.0)
    calibration = [outcome(c, master, open_gate) for c in sample_lines(bench, calibration_lines, seed=1)]
    threshold, margin = calibrate(calibration)
    tuned = replace(base, auto_accept=threshold, auto_margin=margin)
    test_bench, test_master = unseen or (bench, master)
    cases = sample_lines(test_bench, lines, seed=2)
    near = test_bench.near_duplicates
    test = [outcome(c, test_master, tuned, near) for c in cases]
    shipped = summarise([outcome(c, test_master, base, near) for c in cases])
    return {"auto_accept": threshold, "auto_margin": margin, **summarise(test),
            "default_auto_share": shipped["auto_share"], "default_auto_precision": shipped["auto_precision"],
            "default_near_auto_precision": shipped["near_auto_precision"]}


def suppliers(bench: BenchSet, master: MasterData, *, queries: int) -> dict:
    right = auto = auto_right = 0
    asked = supplier_queries(bench, queries, seed=3)
    for printed, truth in asked:
        m, _ = match_supplier(printed, master)
        right += m.id == truth
        auto += m.auto_accepted
        auto_right += m.auto_accepted and m.id == truth
    return {"queries": len(asked), "top1": right / len(asked), "auto_share": auto / len(asked),
            "auto_precision": auto_right / max(1, auto)}


def _edits(before: DocumentMatch, cases: list[Case], master: MasterData) -> int:
    edits = 0
    for lm, case in zip(before.lines, cases):
        edits += not (lm.product.auto_accepted and lm.product.id == case.product_id)
        product = master.product(case.product_id)
        conv, _ = convert_unit(printed_unit=case.line.unit, quantity=None, unit_price=None, product=product,
                               supplier_id=case.supplier_id, master=master, description=case.line.text)
        edits += conv.factor != case.factor
    return edits


def _document(cases: list[Case], master: MasterData, options: MatchOptions) -> DocumentMatch:
    lines = []
    for c in cases:
        m = match_product(c.line, c.supplier_id, master, options)
        product = master.product(m.id) if m.id else None
        conv = None if product is None else convert_unit(
            printed_unit=c.line.unit, quantity=None, unit_price=None, product=product, supplier_id=c.supplier_id,
            master=master, description=c.line.text)[0]
        lines.append(LineMatch(c.line.line_no, m, conv))
    return DocumentMatch(Match(cases[0].supplier_id, "", 1.0, MatchMethod.TAX_ID, auto_accepted=True), tuple(lines))


def learning_curve(bench: BenchSet, *, suppliers_used: int, documents: int = 20, lines: int = 12,
                   options: MatchOptions | None = None) -> dict:
    """Edits per document (product not auto-accepted or wrong; unit factor missing or wrong), summed over
    `suppliers_used` suppliers, with their master links removed so that every item starts unknown."""
    options = options or MatchOptions()
    chosen = bench.suppliers[:suppliers_used]
    ids = {b.supplier.id for b in chosen}
    master = MasterData.build(products=bench.products, suppliers=[b.supplier for b in bench.suppliers],
                              supplier_products=[sp for sp in bench.links if sp.supplier_id not in ids])
    per_doc = [0] * documents
    facts, clock = [], datetime(2026, 1, 1)
    for k, bs in enumerate(chosen):
        for d, cases in enumerate(document_cases(bs, documents=documents, lines=lines, regulars=40, seed=11 + k)):
            before = _document(cases, master, options)
            per_doc[d] += _edits(before, cases, master)
            clock += timedelta(hours=1)
            review = Review(bs.supplier.id, bs.supplier.name,
                            tuple(LineCorrection(c.line, c.product_id, c.factor) for c in cases))
            facts += facts_from_review(review, before, at=clock)
            master = master.with_facts(facts)
    first, last = sum(per_doc[:documents // 2]), sum(per_doc[documents // 2:])
    return {"suppliers": suppliers_used, "documents": documents, "lines_per_document": lines,
            "edits_per_document": per_doc, "first_half": first, "last_half": last,
            "reduction": 1 - last / first if first else 0.0, "facts": len(facts)}


def speed(bench: BenchSet, master: MasterData, *, lines: int) -> dict:
    times = []
    for case in sample_lines(bench, lines, seed=4):
        t0 = time.perf_counter()
        match_product(case.line, case.supplier_id, master)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {"lines": len(times), "p50_ms": statistics.median(times), "p99_ms": times[int(len(times) * 0.99) - 1],
            "mean_ms": statistics.fmean(times)}


def _rss_mb() -> float:
    """Resident memory now (Linux /proc; 0 elsewhere)."""
    try:
        pages = int(open("/proc/self/statm").read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def build(n: int, seed: int = 7) -> tuple[BenchSet, MasterData, dict]:
    """The benchmark set and its master, with build time and the memory the master's indexes hold
    (resident-memory growth over the build, after a collection)."""
    bench = bench_set(n, seed=seed)
    gc.collect()
    before = _rss_mb()
    t0 = time.perf_counter()
    master = bench.master()
    seconds = time.perf_counter() - t0
    gc.collect()
    return bench, master, {"products": n, "build_s": seconds, "index_mb": _rss_mb() - before,
                           "index_arrays_mb": master.index.nbytes() / 2**20}


def run_bench(*, quick: bool) -> dict:
    sizes = (10_000,) if quick else (10_000, 100_000)
    figures: dict = {}
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("matching", total=len(sizes) * 4)
        for n in sizes:
            progress.update(task, description=f"{n:,} products: building")
            bench, master, built = build(n)
            unseen = build(n, seed=UNSEEN_SEED)[:2]
            progress.update(task, advance=1, description=f"{n:,} products: accuracy")
            acc = accuracy(bench, master, lines=1000 if quick else 3000, unseen=unseen)
            del unseen
            progress.update(task, advance=1, description=f"{n:,} products: speed")
            fast = speed(bench, master, lines=500 if quick else 2000)
            progress.update(task, advance=1, description=f"{n:,} products: suppliers, learning")
            sup = suppliers(bench, master, queries=300 if quick else 1000)
            learn = learning_curve(bench, suppliers_used=3 if quick else 8) if n == sizes[0] else None
            progress.update(task, advance=1)
            figures[f"{n // 1000}k"] = {"build": built, "accuracy": acc, "speed": fast, "suppliers": sup,
                                        **({"learning": learn} if learn else {})}
    _print(figures)
    return figures


def _rows(f: dict) -> list[tuple[str, str]]:
    a, s, b, sup = f["accuracy"], f["speed"], f["build"], f["suppliers"]
    return [
        ("lines (test sample)", str(a["lines"])),
        ("top-1 / top-5", f"{a['top1']:.1%} / {a['top5']:.1%}"),
        ("fuzzy-only: top-1 / top-5 (n)", f"{a['fuzzy_top1']:.1%} / {a['fuzzy_top5']:.1%} ({a['fuzzy_lines']})"),
        ("auto-accepted: share / precision", f"{a['auto_share']:.1%} / {a['auto_precision']:.2%}"),
        ("fuzzy-only: auto share / prec.", f"{a['fuzzy_auto_share']:.1%} / {a['fuzzy_auto_precision']:.2%}"),
        ("calibrated: min score, min lead", f"{a['auto_accept']}, {a['auto_margin']}"),
        ("shipped defaults: auto / prec.", f"{a['default_auto_share']:.1%} / {a['default_auto_precision']:.2%}"),
        ("unit factor right/unknown/wrong", f"{a['unit_right']:.1%}/{a['unit_unknown']:.1%}/{a['unit_wrong']:.1%}"),
        ("one-word variants: top-1 / twin (n)", f"{a['near_top1']:.1%} / {a['near_twin']:.1%} ({a['near_lines']})"),
        ("variants: auto share / prec.", f"{a['near_auto_share']:.1%} / {a['near_auto_precision']:.2%}"),
        ("exact_name method: share", f"{a['exact_name_share']:.1%}"),
        ("suppliers top-1 / auto / prec.", f"{sup['top1']:.1%} / {sup['auto_share']:.1%} / {sup['auto_precision']:.1%}"),
        ("ms per line p50 / p99 / mean", f"{s['p50_ms']:.2f} / {s['p99_ms']:.2f} / {s['mean_ms']:.2f}"),
        ("index MB (RSS growth) / build s", f"{b['index_mb']:.0f} / {b['build_s']:.1f}"),
    ]


def _print(figures: dict) -> None:
    table = Table("matching", *(f"{size} products" for size in figures), show_edge=False)
    table.columns[0].no_wrap = True
    columns = [_rows(f) for f in figures.values()]
    for i, (label, _) in enumerate(columns[0]):
        table.add_row(label, *(col[i][1] for col in columns))
    console.print(table)
    for size, f in figures.items():
        if "learning" in f:
            ln = f["learning"]
            console.print(f"learning curve ({ln['suppliers']} suppliers x {ln['documents']} documents x "
                          f"{ln['lines_per_document']} lines, corrections fed back): edits per document "
                          f"{ln['edits_per_document']}; first 10 documents {ln['first_half']}, last 10 "
                          f"{ln['last_half']}: {ln['reduction']:.0%} fewer")
