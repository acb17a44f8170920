"""The learned layout model: features, labels, a real (small) training run, ONNX inference, combination, bad input.

Training here is real but short (a tiny network, seconds): it checks that the whole path works and that what it
learns is used; the figures of the shipped model are measured by `inbound eval --model` (README, issue 15).
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from extractors.extract import extract_document, extract_from_layout
from extractors.layout import BBox
from extractors.layout_model import DEFAULT_MODEL_DIR, ModelError, load_model, model_or_none
from extractors.layout_model.combine import REVIEW_CAP, _vote, same
from extractors.layout_model.decode import Candidate
from extractors.layout_model.features import shape, windows
from extractors.layout_model.labels import label_words, line_starts
from extractors.options import ReadOptions
from extractors.reader import read_document
from extractors.result import Field
from fixtures.grammar import families, make

pytest.importorskip("torch")


def _made(count: int, *, held_back: bool = False, start: int = 0):
    fams = families(held_back=held_back)
    return [make(fams[(start + i) % len(fams)], 7, i) for i in range(count)]


def test_word_shapes():
    assert shape("1.234,50") == "<dec>"
    assert shape("2024-05-01") == "<date>"
    assert shape("19%") == "<pct>"
    assert shape("Rechnung:") == "<colon>"
    assert shape("DE123456789") == "<id>"
    assert shape("增值税") == "<cjk>"
    assert shape("€12.00") == "<money>"


def test_windows_cover_long_pages():
    spans = windows(1200, 512, 64)
    assert spans[0] == (0, 512) and spans[-1][1] == 1200
    assert all(b - a <= 512 for a, b in spans)
    assert all(spans[i + 1][0] < spans[i][1] for i in range(len(spans) - 1))


def test_labels_from_truth_agree_with_the_generators_own_word_labels():
    """Our labeller (boxes of the truth's values over our reader's words) against the generator's labels."""
    from extractors.layout_model.tags import TAGS
    agree = total = 0
    for made in _made(6):
        layout = read_document(made.pdf, ReadOptions(use_embedded=False)).layout
        labelled = label_words(layout, made.truth)
        assert labelled.ok, labelled.reason
        gen = {p["number"]: p["words"] for p in made.words["pages"]}
        for page in labelled.pages:
            for word, tag in zip(page.words, page.tags):
                hits = [g for g in gen.get(page.page, []) if abs(g["bbox"][0] - word.bbox.x0) < 1.5
                        and abs(g["bbox"][1] - word.bbox.y0) < 1.5]
                if len(hits) != 1 or not hits[0]["label"]:
                    continue
                label = hits[0]["label"]
                want = f"l:{label[5:]}" if label.startswith("line.") else f"h:{label}"
                if want not in TAGS:
                    continue
                total += 1
                agree += tag == want
    assert total > 50
    assert agree / total > 0.9


def test_values_without_boxes_are_searched_in_print():
    made = _made(1)[0]
    layout = read_document(made.pdf, ReadOptions(use_embedded=False)).layout
    truth = json.loads(json.dumps(made.truth))
    for f in truth["fields"].values():
        if isinstance(f, dict):
            f.pop("bbox", None)
    labelled = label_words(layout, truth)
    assert labelled.ok and labelled.found >= 0.6 * labelled.wanted


def test_a_document_whose_values_are_not_printed_is_not_labelled():
    made = _made(1)[0]
    layout = read_document(made.pdf, ReadOptions(use_embedded=False)).layout
    truth = {"document_type": "invoice", "fields": {"document_number": "ZZ-NOT-PRINTED-1",
                                                     "supplier_name": "Nobody Printed GmbH"}, "lines": []}
    assert label_words(layout, truth).reason == "values_not_in_print"


def test_line_starts():
    assert line_starts([-1, 0, 0, -1, 1, 1, 2]) == [0, 1, 0, 0, 1, 0, 1]


def _cand(value, prob=0.95):
    return Candidate("document_number", value, str(value), prob, 1, BBox(0, 0, 10, 10), ())


def test_vote_agreement_fill_and_disagreement():
    rule = Field("A-1", "A-1", 0.7, 1, BBox(0, 0, 10, 10))
    agreed = _vote(rule, _cand("A-1"), 0.95)
    assert agreed.method == "rules+model" and agreed.confidence == 0.95
    filled = _vote(None, _cand("B-2"), 0.95)
    assert filled.value == "B-2" and filled.method == "model" and filled.confidence == 0.95
    assert _vote(None, _cand("B-2"), 0.5) is None                      # too unsure to add
    disputed = _vote(Field("A-1", "A-1", 0.9), _cand("C-3"), 0.9)
    assert disputed.value == "A-1" and disputed.confidence <= REVIEW_CAP   # the reviewer looks
    weak = _vote(Field("A-1", "A-1", 0.5), _cand("C-3"), 0.99)
    assert weak.value == "A-1" and weak.method == "rules"               # the model never overrules the rules
    ocr = _vote(rule, _cand("A-1"), 0.95, exact_text=False)
    assert ocr.method == "rules+model" and ocr.confidence == 0.7        # agreeing on OCR's words proves no characters
    assert _vote(None, _cand("B-2"), 0.95, exact_text=False).confidence <= REVIEW_CAP
    exact = Field("A-1", "A-1", 1.0)
    assert _vote(exact, _cand("C-3"), 0.99) is exact                    # a QR code's value stays
    assert same(Decimal("12.50"), Decimal("12.5")) and same("Foo  GmbH", "foo gmbh")


def test_model_values_must_have_their_fields_shape():
    from extractors.layout_model.decode import plausible
    assert plausible("buyer_tax_id", "DE123456789") and not plausible("buyer_tax_id", "~2000ml")
    assert plausible("supplier_phone", "+49 711 123456") and not plausible("supplier_phone", "Tel")
    assert plausible("document_number", "RE-2024-17") and not plausible("document_number", "Invoice")
    assert plausible("supplier_name", "ACME GmbH") and not plausible("supplier_name", "12")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A real training run: 16 generated documents, a tiny network, a few seconds."""
    from pipeline.training import TrainingDoc
    from pipeline.training.train import train_model
    home = tmp_path_factory.mktemp("home")
    docs = [TrainingDoc(m.name, m.pdf, m.truth, "generated") for m in _made(16)]
    result = train_model(docs, home=home, out_dir=home / "models" / "tiny", minutes=0.1, seed=3, progress=False,
                         validation_share=0.25, size={"hidden": 32, "layers": 1, "heads": 2, "intermediate": 64})
    return result.model_dir


def test_training_writes_a_complete_versioned_model(tiny_model: Path):
    meta = json.loads((tiny_model / "meta.json").read_text())
    for name in ("model.onnx", "tokenizer.json", "weights.pt"):
        assert (tiny_model / name).is_file()
    assert len(meta["data_version"]) == 16 and len(meta["code_version"]) == 12
    assert meta["documents"] == 16 and meta["origins"] == {"generated": 16}
    assert {"rules", "rules+model"} <= meta["metrics"]["validation"].keys()
    assert meta["run"]["steps"] >= 1
    table = meta["calibration"]["*"]
    assert [row[0] for row in table] == sorted(row[0] for row in table)
    assert [row[2] for row in table] == sorted(row[2] for row in table)      # monotone


def test_the_same_documents_give_the_same_data_version():
    from pipeline.training import TrainingDoc
    from pipeline.training.dataset import version_of
    docs = [TrainingDoc(m.name, m.pdf, m.truth, "generated") for m in _made(3)]
    assert version_of(docs) == version_of(list(reversed(docs)))
    changed = [TrainingDoc(docs[0].name, docs[0].data, {**docs[0].truth, "fields": {}}, "generated"), *docs[1:]]
    assert version_of(changed) != version_of(docs)


def test_onnx_inference_matches_torch(tiny_model: Path):
    import torch

    from pipeline.training.net import LayoutTagger
    saved = torch.load(tiny_model / "weights.pt", weights_only=True)
    net = LayoutTagger(saved["vocab_size"], len(load_model(tiny_model).tags), **saved["size"])
    net.load_state_dict({k: v.float() for k, v in saved["state"].items()})
    net.eval()
    model = load_model(tiny_model)
    made = _made(1, held_back=True)[0]
    layout = read_document(made.pdf, ReadOptions(use_embedded=False)).layout
    inp = model.encoder.page_input(layout.pages[0])
    with torch.no_grad():
        logits, _ = net(torch.from_numpy(inp.tokens[None]), torch.from_numpy(inp.boxes[None]),
                        torch.ones(1, len(inp.words), dtype=torch.long))
    pred = model.predict(layout)[0]
    want = torch.softmax(logits[0], -1).numpy()
    assert np.abs(pred.tag_probs - want).max() < 5e-3          # weights.pt is kept in half precision


def test_extraction_with_a_model_says_which_source_won(tiny_model: Path):
    made = _made(1, held_back=True)[0]
    got = extract_document(made.pdf, options=ReadOptions(use_embedded=False, model=str(tiny_model)))
    methods = {f.method for f in got.fields.values()}
    assert methods and methods <= {"rules", "model", "rules+model"}
    assert all("method" in f for f in got.to_json()["fields"].values())
    plain = extract_document(made.pdf, options=ReadOptions(use_embedded=False))
    assert all(f.method is None for f in plain.fields.values())


def test_a_corrupt_model_reads_with_the_rules_and_says_so_once(tmp_path: Path, tiny_model: Path, caplog):
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("tokenizer.json", "meta.json"):
        (broken / name).write_bytes((tiny_model / name).read_bytes())
    (broken / "model.onnx").write_bytes(b"not an onnx file")
    with pytest.raises(ModelError, match="cannot be loaded"):
        load_model(broken)
    with pytest.raises(ModelError, match="lacks"):
        load_model(tmp_path / "missing")
    made = _made(1)[0]
    with caplog.at_level(logging.ERROR, logger="inbound.layout_model"):
        a = extract_document(made.pdf, options=ReadOptions(use_embedded=False, model=str(broken)))
        b = extract_document(made.pdf, options=ReadOptions(use_embedded=False, model=str(broken)))
    rules = extract_document(made.pdf, options=ReadOptions(use_embedded=False))
    assert a.to_json()["fields"] == rules.to_json()["fields"] == b.to_json()["fields"]
    assert sum("rules alone" in r.getMessage() for r in caplog.records) == 1
    assert model_or_none(None) is None


def test_the_shipped_model_is_small_and_loads():
    assert (DEFAULT_MODEL_DIR / "model.onnx").stat().st_size <= 50 * 1024 * 1024
    model = load_model(DEFAULT_MODEL_DIR)
    meta = model.meta
    assert meta["data_version"] and meta["code_version"] and meta["metrics"]["validation"]
    made = _made(1, held_back=True, start=3)[0]
    layout = read_document(made.pdf, ReadOptions(use_embedded=False)).layout
    rules = extract_from_layout(layout)
    from extractors.layout_model import combine
    both = combine(rules, layout, model)
    assert set(rules.fields) <= set(both.fields)
    assert any(f.method == "rules+model" for f in both.fields.values())   # it reads this page as the rules do


def test_train_command(tmp_path: Path, monkeypatch):
    from typer.testing import CliRunner

    from fixtures.grammar import Options, generate
    from pipeline.cli.main import app
    data = tmp_path / "docs"
    generate(Options(count=6, seed=5, workers=1, progress=False), data)
    monkeypatch.setenv("INBOUND_HOME", str(tmp_path / "home"))
    from pipeline.config import get_settings
    get_settings.cache_clear() if hasattr(get_settings, "cache_clear") else None
    result = CliRunner().invoke(app, ["train", "--data", str(data), "--count", "0", "--minutes", "0.05", "--out",
                                      str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    assert "data version:" in result.output and (tmp_path / "m" / "model.onnx").is_file()
    bad = CliRunner().invoke(app, ["extract", str(next(data.glob("*.pdf"))), "--model", str(tmp_path / "nope")])
    assert bad.exit_code == 2 and "--model" in bad.output
    rules = CliRunner().invoke(app, ["extract", str(next(data.glob("*.pdf"))), "--json", "--model", "none"])
    assert rules.exit_code == 0 and '"method"' not in rules.output


def test_values_from_embedded_xml_say_so():
    xml = next(Path(__file__).resolve().parents[1].joinpath("fixtures", "ubl").glob("*.xml"))
    got = extract_document(xml.read_bytes(), options=ReadOptions(model=str(DEFAULT_MODEL_DIR)))
    assert got.fields and {f.method for f in got.fields.values()} == {"xml"}
