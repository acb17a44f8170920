"""The layout-grammar generator (fixtures/grammar, issue 14 item 2): many families, exact truth, word boxes.

- families: at least 500 whose layouts differ (compared by layout signature); ids g0000...; every fifth
  held back, and the generator emits one split or the other, never both;
- determinism: the same seed and options give byte-identical JSON (and PDFs: the creation date is fixed);
- truth: line arithmetic, totals, 大写, USCC / VAT-id / IBAN checks; only printed fields, each with a
  labelled word; the truth validates against the contract's schema;
- word boxes: every labelled word's text is what pypdfium2 reads inside its box (1.5 pt tolerance), for
  documents of every kind, one of several pages among them;
- the command line refuses impossible options with one line on stderr and exit code 2.

Chinese documents are skipped when the CJK font is missing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixtures.cjk_font import font_available
from fixtures.grammar import FAMILY_COUNT, families, family, is_held_back, make
from fixtures.grammar.__main__ import main, options_from
from fixtures.grammar.generate import Options, generate, plan
from fixtures.grammar.verify import truth_problems, word_box_problems

CJK = font_available()
_KINDS_LANGS = [("invoice", "de"), ("invoice", "en"), ("credit_note", "fr"), ("delivery", "nl"), ("packing", "en"),
                ("receipt", "de"), ("invoice", "zh"), ("vat", "zh"), ("delivery", "zh"), ("packing", "zh"),
                ("receipt", "zh")]


def _cases(per: int = 1) -> list:
    out = []
    for kind, lang in _KINDS_LANGS:
        marks = [] if lang != "zh" or CJK else [pytest.mark.skip(reason="CJK font missing")]
        for f in families(kinds=(kind,), langs=(lang,), held_back=None)[:per]:
            out.append(pytest.param(f.index, id=f"{kind}-{lang}-{f.id}", marks=marks))
    return out


@pytest.fixture(scope="module")
def made() -> dict:
    cache: dict = {}

    def get(index: int, seed: int = 11):
        if (index, seed) not in cache:
            cache[(index, seed)] = make(family(index), seed, index)
        return cache[(index, seed)]
    return get


def test_at_least_500_distinct_family_layouts():
    signatures = {family(i).signature() for i in range(FAMILY_COUNT)}
    assert FAMILY_COUNT >= 500 and len(signatures) >= 500
    assert family(123).id == "g0123" and family(123).signature() == family(123).signature()
    kinds = {(family(i).kind, family(i).lang) for i in range(FAMILY_COUNT)}
    assert len(kinds) == 25     # every kind in every language it is printed in


def test_held_back_split():
    assert is_held_back("g0000") and is_held_back("g0005") and not is_held_back("g0006")
    with pytest.raises(ValueError):
        is_held_back("x12")
    held, dev = families(held_back=True), families(held_back=False)
    assert len(held) + len(dev) == FAMILY_COUNT and all(f.index % 5 == 0 for f in held)
    assert not {f.index for f in held} & {f.index for f in dev}
    assert all(family(fi).held_back for _, fi in plan(Options(count=50, held_back=True)))
    assert not any(family(fi).held_back for _, fi in plan(Options(count=50)))


def test_generated_files_are_deterministic(tmp_path: Path):
    langs = ("zh", "en", "de") if CJK else ("en", "de")
    options = Options(count=6, seed=7, langs=langs, progress=False)
    for run in ("a", "b"):
        generate(options, tmp_path / run)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert len(names) == 18 and names == sorted(p.name for p in (tmp_path / "b").iterdir())
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    generate(Options(count=6, seed=8, langs=langs, progress=False), tmp_path / "c")
    contents = lambda run: {p.read_bytes() for p in (tmp_path / run).glob("*.json")}
    assert not contents("a") & contents("c")


@pytest.mark.parametrize("index", _cases(per=2))
def test_truth_is_consistent(made, index):
    m = made(index)
    assert truth_problems(m.truth) == []
    meta = m.truth["gt_meta"]
    assert meta["family"] == family(index).id and meta["generator"] == "grammar"
    assert meta["held_back"] == is_held_back(meta["family"]) and meta["lines_annotated"] is True
    assert m.truth["lines"] and set(meta["line_fields_annotated"]) >= {"description"}
    if m.truth["language"] == "zh" and "total_amount_in_words" in m.truth["fields"]:
        from decimal import Decimal

        from extractors.cn.checks import amount_in_words_to_decimal
        words = m.truth["fields"]["total_amount_in_words"]["value"]
        assert amount_in_words_to_decimal(words) == Decimal(m.truth["fields"]["total_amount"]["value"])


@pytest.mark.parametrize("index", _cases())
def test_word_boxes_match_pypdfium2(made, index):
    m = made(index)
    assert word_box_problems(m.pdf, m.words) == []
    assert word_box_problems(m.pdf, m.words, labelled_only=False) == []


def test_a_table_continues_on_a_second_page(made):
    long = [f for f in families(kinds=("invoice", "delivery"), langs=("de", "en", "fr", "nl"), held_back=None)
            if f.lines[0] >= 18]
    m = next(m for m in (made(f.index, seed) for f in long[:6] for seed in (1, 2, 3)) if m.truth["pages"] >= 2)
    assert m.truth["pages"] >= 2 and len(m.words["pages"]) == m.truth["pages"]
    assert {w["label"] for w in m.words["pages"][1]["words"]} & {"line.description", "line.quantity"}
    assert word_box_problems(m.pdf, m.words) == []


@pytest.mark.parametrize("index", _cases())
def test_only_printed_fields_are_in_the_truth(made, index, schema):
    import jsonschema
    import pypdfium2 as pdfium
    m = made(index)
    jsonschema.validate(m.truth, schema)
    doc = pdfium.PdfDocument(m.pdf)
    text = "".join("".join(page.get_textpage().get_text_bounded().split()) for page in doc).replace("\u00a0", "")
    labels = {w["label"] for p in m.words["pages"] for w in p["words"] if w["label"]}
    for name, f in m.truth["fields"].items():
        assert name in labels and f["raw"].replace(" ", "").replace("\u00a0", "") in text, name
    line_labels = {f"line.{k}" for line in m.truth["lines"] for k in line if k != "line_no"}
    assert labels == set(m.truth["fields"]) | line_labels


def test_command_line_writes_documents(tmp_path: Path, capsys):
    assert main([str(tmp_path), "--count", "3", "--kinds", "receipt,invoice", "--langs", "en,de", "--held-back",
                 "--no-progress"]) == 0
    truths = [json.loads(p.read_text(encoding="utf-8")) for p in tmp_path.glob("*.json") if ".words." not in p.name]
    assert len(truths) == 3 and all(t["gt_meta"]["held_back"] for t in truths)
    assert all(t["gt_meta"]["kind"] in ("receipt", "invoice") and t["language"] in ("en", "de") for t in truths)
    assert "3 documents" in capsys.readouterr().out


def test_scans_have_their_truth_beside_them(tmp_path: Path):
    options, out = options_from([str(tmp_path / "out"), "--count", "1", "--kinds", "receipt", "--langs", "en",
                                 "--scans", "--scan-dir", str(tmp_path / "scans"), "--no-progress"])
    generate(options, out)
    scan = next((tmp_path / "scans").glob("*-scan.jpg"))
    truth = json.loads(scan.with_suffix(".json").read_text(encoding="utf-8"))
    assert truth["source"] == scan.name and truth["gt_meta"]["bbox_exact"] is False
    assert scan.read_bytes()[:2] == b"\xff\xd8"


@pytest.mark.parametrize("argv, says", [
    (["--kinds", "vat", "--langs", "de"], "printed only in zh"),
    (["--kinds", "invoce"], "unknown kind"),
    (["--langs", "it"], "unknown lang"),
    (["--kinds", "credit_note", "--langs", "zh"], "printed only in"),
    (["--kinds", "credit_note", "--langs", "zh,en"], "--langs zh: none of --kinds"),
    (["--count", "0"], "--count"),
    (["--scan-dir", "x"], "--scan-dir needs --scans"),
    (["--families", "100000"], "--families must be"),
    (["--count", "two"], "invalid int"),
])
def test_impossible_options_are_refused(tmp_path: Path, capsys, argv, says):
    with pytest.raises(SystemExit) as exc:
        options_from([str(tmp_path), *argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1
