"""Scoring rules of `inbound eval`."""

from __future__ import annotations

from pipeline.bench.evaluate import align_lines, score_document, values_equal


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
    assert align_lines(truth, predicted, None) == [(0, 0), (2, 1)]
