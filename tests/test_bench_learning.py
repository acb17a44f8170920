"""`inbound bench learning` at a tiny size (2 suppliers x 3 text PDFs through a real `inbound serve`), and the
supplier sequences it is built on: a fixed identity per supplier, its own wording kept across its documents,
near-duplicate pairs that differ by one word."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fixtures.cjk_font import font_available

needs_cjk = pytest.mark.skipif(not font_available(), reason="fonts-wqy-microhei is not installed (scripts/fonts.sh)")


@needs_cjk
def test_a_supplier_keeps_its_identity_and_its_wording_across_its_documents():
    from fixtures.learning import documents, supplier_plans
    plans = supplier_plans(2, seed=1)
    assert {p.family.lang for p in plans} == {"zh", "de"} and all(p.family.held_back for p in plans)
    for plan in plans:
        docs = documents(plan, 3, seed=1)
        names = {d.truth["fields"]["supplier_name"]["value"] for d in docs}
        tax_ids = {d.truth["fields"]["supplier_tax_id"]["value"] for d in docs}
        assert names == {plan.party.name} and tax_ids == {plan.party.tax_id}
        assert len({d.truth["fields"]["document_number"]["value"] for d in docs}) == 3
        printed: dict[str, set[str]] = {}
        for d in docs:
            assert len(d.truth["lines"]) == len(d.lines) >= 1
            for line, truth in zip(d.truth["lines"], d.lines):
                printed.setdefault(truth.sku, set()).add(line["description"]["value"])
        assert all(len(wordings) == 1 for wordings in printed.values()), printed
        assert sum(item.linked for item in plan.items) == len(plan.items) // 2


def test_near_duplicates_differ_by_one_word_and_only_one_has_the_outer_unit():
    from fixtures.grammar.fonts import charset
    from fixtures.learning import ARTICLES
    for article in ARTICLES:
        assert article.marked != article.core and article.modifier in article.marked
        assert article.marked.replace(article.modifier, "").strip(" ()") == article.core
        assert article.outer[0] != article.marked_outer[0]
        if article.lang == "zh":          # the generator's CJK font is cut down to the characters it knows
            assert set(article.marked + article.spec + article.outer[0] + article.marked_outer[0]) <= charset()


@needs_cjk
def test_the_master_files_have_the_design_columns():
    from fixtures.learning import master_files, supplier_plans
    files = master_files(supplier_plans(2, seed=1), distractors=50)
    header = {kind: data.decode("utf-8").splitlines()[0].split(",") for kind, (_, data) in files.items()}
    assert header["products"][:3] == ["sku", "name", "unit"] and "unit_conversions" in header["products"]
    assert header["suppliers"][:2] == ["name", "tax_id"]
    assert {"supplier", "supplier_sku", "supplier_name", "sku", "unit", "factor"} <= set(header["supplier_products"])


def test_the_reviewer_corrects_only_what_is_really_wrong():
    from pipeline.bench.learning import align, same_factor, same_value
    assert same_value("total_amount", "1234.50", "1234.5")
    assert same_value("document_date", "2024-05-01", "2024-05-01")
    assert not same_value("document_date", "2024-05-01", "2024-01-05")
    assert same_value("buyer_address_phone", "季华五路38号 021-89900919", "季华五路38号021-89900919")
    assert same_value("supplier_name", "Bergmann  Verpackung GmbH", "bergmann verpackung gmbh")
    assert not same_value("supplier_name", "Bergmann Verpackung GmbH", None)
    assert not same_value("po_number", "PO-7936", "PO-7963")
    assert same_factor(Decimal("6"), "6.000000") and not same_factor(Decimal("6"), None)
    truth = [{"line_no": 1, "description": {"value": "Packband"}}, {"line_no": 2, "description": {"value": "Rapsöl"}}]
    read = [{"line_no": 1, "description": {"value": "Rapsöl kaltgepresst"}}]
    assert align(truth, read) == [(truth[1], read[0])]


@needs_cjk
def test_bench_learning_tiny_through_the_real_service():
    from pipeline.bench.learning import FINAL, run
    figures = run(suppliers=2, documents=3, scans=False, distractors=300)
    assert figures["documents"] == 6 and figures["all_final"]
    assert all(o["status"] in FINAL for o in figures["outcomes"])
    assert sum(figures["statuses"].values()) == 6
    for name in ("header_edits_by_position", "line_edits_by_position", "supplier_edits_by_position",
                 "product_top1_by_position", "header_edits_by_position_text"):
        assert len(figures[name]) == 3, name
    # the first documents need edits (factors of units only the supplier knows, at least), and every edit sent
    # shows in the GET after the PATCH
    edits = sum(o["header_edits"] + o["line_edits"] + o["supplier_edit"] for o in figures["outcomes"])
    assert edits > 0
    assert figures["edits_not_applied"] == []
    assert all(o["confirm"] for o in figures["outcomes"])
    assert 0 <= figures["product_top1"] <= 1 and figures["lines_paired"] > 0
