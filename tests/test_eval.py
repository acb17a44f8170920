"""Scoring rules of `inbound eval`; families, held-back families, straight-through and calibration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from extractors import LineItem
from pipeline.bench.calibration import REVIEW_THRESHOLD, Judged, bucket_labels, calibrate, lowest_threshold
from pipeline.bench.evaluate import Report, align_lines, score_document, values_equal
from pipeline.bench.families import Holdout, family_of, name_family, tool_name


def test_value_comparison_rules():
    assert values_equal("total_amount", "262.9", "262.90")
    assert values_equal("supplier_name", "Lieferant  GmbH", "lieferant gmbh")
    assert values_equal("supplier_bank_account", "DE88 2008 0000", "DE8820080000")
    assert not values_equal("supplier_name", "A B", "AB")
    assert not values_equal("total_amount", "1.00", None)


def test_fields_absent_from_truth_are_not_scored_and_wrong_values_count_twice():
    truth = {"fields": {"document_number": "1", "total_amount": "10.00"}, "lines": []}
    predicted = {"fields": {"document_number": {"value": "2"}, "total_amount": {"value": "10"},
                            "currency": {"value": "EUR"}}, "lines": []}
    doc = score_document("x", truth, predicted)
    assert (doc.fields["document_number"].fp, doc.fields["document_number"].fn) == (1, 1)
    assert doc.fields["total_amount"].tp == 1 and "currency" not in doc.fields


def test_lines_not_annotated_are_not_scored():
    truth = {"fields": {}, "lines": [], "gt_meta": {"lines_annotated": False}}
    doc = score_document("x", truth, {"fields": {}, "lines": [{"line_no": 1, "amount": {"value": "1"}}]})
    assert doc.lines == {}


def test_alignment_survives_a_missed_line():
    truth = [{"amount": "1"}, {"amount": "2"}, {"amount": "3"}]
    predicted = [{"amount": {"value": "1"}}, {"amount": {"value": "3"}}]
    assert align_lines([LineItem.from_json(t) for t in truth], [LineItem.from_json(p) for p in predicted],
                       None) == [(0, 0), (2, 1)]


# --- families, holdout, straight-through, calibration (issue 14) -------------------------------------------


def _f(value, confidence=0.9):
    return {"value": value, "confidence": confidence}


def test_family_comes_from_gt_meta_first():
    truth = {"fields": {"supplier_name": "ACME"}, "gt_meta": {"family": "g0123"}}
    assert family_of("coolblue1.pdf", truth) == "g0123"


@pytest.mark.parametrize("stem, family", [
    ("4s4u_additional-data-sample-1", "4s4u"),
    ("intarsys_2p0_EXTENDED_Fremdwaehrung", "intarsys"),
    ("FX_EN16931_Einfach", "FX"),
    ("Mustang_RE-20151008_504", "Mustang"),
    ("ofd_fapiao_shili", "ofd"),
    ("coolblue1", "coolblue"),
    ("invoice-2", "invoice"),
    ("RE-2026-0412", "RE"),
    ("AzureInterior", None),       # no prefix: the PDF metadata or the supplier decide
    ("sroie_003", "sroie"),        # a numbered collection: the supplier decides first (below)
    ("2023_invoice", None),        # a date is not a family
    ("12345", None),
])
def test_family_from_the_file_name(stem, family):
    assert name_family(stem) == family


def test_family_without_a_name_prefix_falls_back_to_supplier_then_stem(tmp_path):
    truth = {"fields": {"supplier_name": "Restoran  Wan Sheng"}}
    assert family_of("sroie_003.jpg", truth, tmp_path / "sroie_003.jpg") == "restoran wan sheng"
    assert family_of("acme_7.pdf", {"fields": {}}, tmp_path / "acme_7.pdf") == "acme"
    assert family_of("Orlen.txt", {"fields": {"supplier_name": {"value": "ORLEN"}}}) == "orlen"
    assert family_of("AzureInterior.pdf", {"fields": {}}, tmp_path / "missing.pdf") == "AzureInterior"


def test_pdf_tool_names_lose_their_versions():
    assert tool_name("wkhtmltopdf 0.12.2.1") == "wkhtmltopdf"
    assert tool_name("iText 2.0.8 (by lowagie.com)") == "iText"
    assert tool_name("Mustang Demo (via mustangproject.org 1.3.0)") == "Mustang Demo"
    assert tool_name("factur-x Python lib v0.8 by Alexis de Lattre") == "factur-x Python lib"
    assert tool_name("") is None


def test_holdout_patterns_names_globs_and_files(tmp_path):
    listing = tmp_path / "unseen.txt"
    listing.write_text("# held back for the release\nMustang*\n\nFX_Miete  # rent\n", encoding="utf-8")
    held = Holdout.parse(f"intarsys*, g01?? ,@{listing}")
    assert held.patterns == ("intarsys*", "g01??", "Mustang*", "FX_Miete")
    assert held.holds("intarsys_2p0_EXTENDED_Warenrechnung") and held.holds("INTARSYS")
    assert held.holds("g0123") and not held.holds("g1123") and held.holds("fx_miete") and not held.holds("FX_Einfach")
    assert held.unmatched(["intarsys", "g0100"]) == ["Mustang*", "FX_Miete"]
    assert not Holdout.parse(None) and not Holdout.parse(" , ")


LINES = [{"line_no": 1, "description": "Bolt", "quantity": "2"}, {"line_no": 2, "description": "Nut", "quantity": "5"}]


def _predicted_lines(*rows):
    return [{"line_no": i + 1, **{k: _f(v) for k, v in row.items()}} for i, row in enumerate(rows)]


def test_straight_through_means_nothing_to_fix():
    truth = {"fields": {"document_number": "A1", "total_amount": "10.00"}, "lines": LINES}
    good = {"fields": {"document_number": _f("A1"), "total_amount": _f("10"), "currency": _f("EUR")},
            "lines": _predicted_lines({"description": "Bolt", "quantity": "2"}, {"description": "Nut", "quantity": "5"})}
    assert score_document("x", truth, good).straight_through      # an unscored extra field does not matter
    wrong_field = {**good, "fields": {**good["fields"], "total_amount": _f("11")}}
    assert not score_document("x", truth, wrong_field).straight_through
    missing_field = {**good, "fields": {"document_number": _f("A1")}}
    assert not score_document("x", truth, missing_field).straight_through
    wrong_cell = {**good, "lines": _predicted_lines({"description": "Bolt", "quantity": "3"},
                                                    {"description": "Nut", "quantity": "5"})}
    assert not score_document("x", truth, wrong_cell).straight_through
    missing_line = {**good, "lines": good["lines"][:1]}
    doc = score_document("x", truth, missing_line)
    assert not doc.straight_through and doc.lines_missing == 1
    spurious = {**good, "lines": good["lines"] + _predicted_lines({"unit": "pc"})}  # even with no scored value
    doc = score_document("x", truth, spurious)
    assert not doc.straight_through and doc.lines_extra == 1
    failed = score_document("x", truth, good)
    failed.error = "timeout: too slow"
    assert not failed.straight_through


def test_lines_not_annotated_do_not_spoil_straight_through():
    truth = {"fields": {"document_number": "A1"}, "lines": [], "gt_meta": {"lines_annotated": False}}
    predicted = {"fields": {"document_number": _f("A1")}, "lines": _predicted_lines({"description": "x"})}
    assert score_document("x", truth, predicted).straight_through


def test_scored_values_keep_their_confidence_for_the_calibration():
    truth = {"fields": {"document_number": "A1", "total_amount": "10.00", "po_number": "P9"}, "lines": LINES[:1]}
    predicted = {"fields": {"document_number": _f("A1", 0.99), "total_amount": _f("12", 0.97),
                            "currency": _f("EUR", 0.5)},                    # po_number absent, currency unscored
                 "lines": _predicted_lines({"description": "Bolt", "quantity": "2"}, {"quantity": "7"})}
    got = {(v.field, v.right) for v in score_document("d", truth, predicted).values}
    assert got == {("document_number", True), ("total_amount", False), ("line 1 description", True),
                   ("line 1 quantity", True), ("extra line 2 quantity", False)}


def _judged(confidence, right, field="f"):
    return Judged("d", field, "a", "a" if right else "b", confidence, right)


def test_calibration_buckets_and_shares():
    values = [_judged(0.3, False), _judged(0.6, True), _judged(0.8, True), _judged(0.85, False),
              _judged(0.9, True), _judged(0.97, True), _judged(0.99, True), _judged(1.0, True)]
    cal = calibrate(values, threshold=0.8)
    assert [label for label, _ in cal.buckets] == bucket_labels() == \
        ["<0.5", "0.5-0.8", "0.8-0.9", "0.9-0.95", "0.95-0.98", "0.98-0.99", ">=0.99"]
    counts = {label: (s.count, s.right) for label, s in cal.buckets}
    assert counts == {"<0.5": (1, 0), "0.5-0.8": (1, 1), "0.8-0.9": (2, 1), "0.9-0.95": (1, 1),
                      "0.95-0.98": (1, 1), "0.98-0.99": (0, 0), ">=0.99": (2, 2)}   # 0.8 is in [0.8, 0.9)
    assert (cal.at_threshold.count, cal.at_threshold.right) == (6, 5)
    assert cal.lowest == 0.9 and cal.at_lowest.count == 4            # above the wrong 0.85, all right
    assert [v.confidence for v in cal.confident_wrong] == [0.85, 0.3]  # most confident first
    data = cal.to_json()
    assert data["buckets"][5] == {"range": "0.98-0.99", "count": 0, "right": 0, "share_right": None}
    assert data["at_or_above_threshold"]["share_right"] == round(5 / 6, 4)
    assert data["lowest_threshold_for_target"] == 0.9 and data["confident_wrong"][0]["confidence"] == 0.85


def test_lowest_threshold_needs_the_target_share_and_is_the_lowest_that_reaches_it():
    assert lowest_threshold([_judged(1.0, False)]) is None
    assert lowest_threshold([]) is None
    # 199 right and 1 wrong at 0.7 is 99.5 %: the whole lot passes at 0.7
    values = [_judged(0.7, True)] * 199 + [_judged(0.7, False)] + [_judged(0.2, False)]
    assert lowest_threshold(values) == 0.7
    assert len(calibrate(values).confident_wrong) == 2 and len(calibrate(values * 10).confident_wrong) == 10


def test_review_threshold_is_the_review_screens():
    from review_ui.views import LOW_CONFIDENCE
    assert REVIEW_THRESHOLD == LOW_CONFIDENCE


def _report(families: dict[str, bool], holdout=("intarsys*",)) -> Report:
    docs = []
    for name, perfect in families.items():
        truth = {"fields": {"total_amount": "10.00"}, "lines": []}
        doc = score_document(name, truth, {"fields": {"total_amount": _f("10" if perfect else "9")}, "lines": []})
        doc.family = name.split("_")[0]
        doc.held_back = Holdout(holdout).holds(doc.family)
        docs.append(doc)
    return Report(docs, holdout)


def test_report_by_family_and_by_side():
    report = _report({"intarsys_a.pdf": True, "intarsys_b.pdf": False, "FX_a.pdf": True})
    assert report.summary_line() == "fields F1: 0.667  lines F1: n/a"
    assert {n: (r.summary()["documents"], r.straight_through()) for n, r in report.by_family().items()} == \
        {"FX": (1, 1), "intarsys": (2, 1)}
    assert [d.name for d in report.side(True).docs] == ["intarsys_a.pdf", "intarsys_b.pdf"]
    data = report.to_json()
    assert data["holdout"]["unseen"]["documents"] == 2 and data["holdout"]["seen"]["straight_through"] == 1
    assert data["documents"][1] == {"name": "intarsys_b.pdf", "error": None,
                                    "misses": ["total_amount: expected '10.00', got '9'"], "family": "intarsys",
                                    "held_back": True, "straight_through": False}
    assert data["straight_through"]["straight_through"] == 2 and "calibration" in data
    assert "holdout" not in Report(report.docs).to_json()


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    """Two 'documents' whose reading is canned, so the command line runs in milliseconds."""
    from extractors import Extraction
    from pipeline.bench import runner
    predicted = {"a_1.txt": {"fields": {"total_amount": _f("10", 0.95)}, "lines": []},
                 "b_1.txt": {"fields": {"total_amount": _f("9", 0.99)}, "lines": []}}
    for name in predicted:
        (tmp_path / name).write_text("x", encoding="utf-8")
        (tmp_path / name).with_suffix(".json").write_text(json.dumps({"fields": {"total_amount": "10.00"}}))
    monkeypatch.setattr(runner, "extract_file", lambda path, options: Extraction.from_json(predicted[path.name]))
    return tmp_path


def _eval(*args: str) -> str:
    from typer.testing import CliRunner
    from pipeline.cli.main import app
    result = CliRunner().invoke(app, ["eval", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_final_line_stays_last_and_the_plain_output_has_nothing_new(folder, tmp_path):
    plain = _eval(str(folder))
    assert plain.splitlines()[-1] == "fields F1: 0.500  lines F1: n/a" and "straight-through" not in plain
    full = _eval(str(folder), "--by-family", "--calibration", "--holdout", "b", "--json", str(tmp_path / "r.json"))
    lines = full.splitlines()
    assert lines[-1] == plain.splitlines()[-1] and lines[-2] == "straight-through: 1/2 (50 %)"
    assert full.startswith(plain.rsplit("fields F1:", 1)[0])          # the plain report comes first, unchanged
    assert full.index("unseen families") < full.index("seen families") and "most confident wrong" in full
    data = json.loads((tmp_path / "r.json").read_text())
    assert [(d["family"], d["held_back"]) for d in data["documents"]] == [("a", False), ("b", True)]
    assert data["holdout"]["calibration_unseen"]["confident_wrong"][0]["got"] == "9"
    only = _eval(str(folder), "--holdout", "b", "--only-holdout")
    assert only.splitlines()[-1] == "fields F1: 0.000  lines F1: n/a"
    assert _eval(str(folder), "--holdout", "b", "--skip-holdout").splitlines()[-1] == "fields F1: 1.000  lines F1: n/a"
