"""Train, export, calibrate and score a layout model (see the package docstring for the entry points).

A run: documents -> labelled pages (dataset.build) -> a tokenizer trained on their words (`tokenizers`, WordPiece,
one token per Chinese character, digits folded) -> LayoutTagger trained for a time budget on the CPU (fixed
seed) -> ONNX (`torch.onnx`) -> calibration of the model's field values on the validation documents -> fields and
lines F1 of rules + model against the rules alone on the same documents -> a model folder with meta.json.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from extractors.layout_model.features import MAX_WORDS, SPECIALS, SUBWORDS, fold_digits, shape
from extractors.layout_model.tags import TAGS, split_tag
from pipeline.training.types import RetrainResult, TrainingDoc, TrainResult
from pipeline.training.dataset import Dataset, PageSample, build, default_docs, held_back_docs

log = logging.getLogger("inbound.training")

VOCAB_SIZE = 6000
BATCH_WORDS = 4096


def code_version() -> str:
    """A hash of the code that defines what a model reads and how it is trained."""
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted([*here.glob("*.py"), *(here.parent.parent / "extractors" / "layout_model").glob("*.py")]):
        h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()[:12]


def train_tokenizer(texts: list[str], vocab_size: int = VOCAB_SIZE):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=40))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=False,
                                                lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=list(SPECIALS),
                                        show_progress=False)
    tok.train_from_iterator((fold_digits(t) for t in texts), trainer)
    return tok


def _encode(pages: list[PageSample], tokenizer) -> list[tuple[np.ndarray, ...]]:
    shape_ids = {s: tokenizer.token_to_id(s) for s in SPECIALS}
    unk = shape_ids["[UNK]"]
    out = []
    for p in pages:
        encs = tokenizer.encode_batch([fold_digits(t) or "_" for t in p.texts], add_special_tokens=False)
        tokens = np.zeros((len(p.texts), SUBWORDS), dtype=np.int64)
        for i, (t, e) in enumerate(zip(p.texts, encs)):
            ids = e.ids[:SUBWORDS - 1] or [unk]
            tokens[i, :len(ids)] = ids
            tokens[i, len(ids)] = shape_ids.get(shape(t)) or unk
        out.append((tokens, p.boxes, p.tags, p.starts))
    return out


def _batches(encoded, rng: random.Random):
    order = sorted(range(len(encoded)), key=lambda i: min(MAX_WORDS, len(encoded[i][0])) + rng.random() * 40)
    batches, cur, longest = [], [], 0
    for i in order:
        n = min(MAX_WORDS, len(encoded[i][0]))
        if cur and max(longest, n) * (len(cur) + 1) > BATCH_WORDS:
            batches.append(cur)
            cur, longest = [], 0
        cur.append(i)
        longest = max(longest, n)
    if cur:
        batches.append(cur)
    rng.shuffle(batches)
    return batches


def _collate(encoded, idx: list[int], rng: random.Random):
    import torch
    items = []
    for i in idx:
        tokens, boxes, tags, starts = encoded[i]
        n = len(tokens)
        a = rng.randrange(0, n - MAX_WORDS + 1) if n > MAX_WORDS else 0
        b = min(n, a + MAX_WORDS)
        items.append((tokens[a:b], boxes[a:b], tags[a:b], starts[a:b]))
    n = max(len(t[0]) for t in items)
    B = len(items)
    T = np.zeros((B, n, SUBWORDS), dtype=np.int64)
    X = np.zeros((B, n, 4), dtype=np.int64)
    M = np.zeros((B, n), dtype=np.int64)
    Y = np.full((B, n), -100, dtype=np.int64)
    S = np.full((B, n), -100, dtype=np.int64)
    line_tags = np.array([split_tag(t)[0] == "l" for t in TAGS])
    for j, (tok, box, tag, st) in enumerate(items):
        k = len(tok)
        T[j, :k], X[j, :k], M[j, :k], Y[j, :k] = tok, box, 1, tag
        S[j, :k] = np.where(line_tags[tag], st, -100)
    return tuple(torch.from_numpy(a) for a in (T, X, M, Y, S))


def fit(encoded, vocab_size: int, *, minutes: float, seed: int, init_state=None, size: dict | None = None,
        progress: bool = True, lr: float = 1e-3):
    """Train a LayoutTagger on encoded pages for `minutes` (at least one pass over a small set)."""
    import torch
    from tqdm import tqdm

    from pipeline.training.net import DEFAULT_SIZE, LayoutTagger
    torch.manual_seed(seed)
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    rng = random.Random(seed)
    model = LayoutTagger(vocab_size, len(TAGS), **(size or DEFAULT_SIZE))
    if init_state is not None:
        model.load_state_dict(init_state)
    weights = torch.ones(len(TAGS))
    weights[0] = 0.3                                  # most words are no field: do not let them dominate
    tag_loss = torch.nn.CrossEntropyLoss(weight=weights, ignore_index=-100)
    start_loss = torch.nn.CrossEntropyLoss(ignore_index=-100)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    budget = max(5.0, minutes * 60)
    start, steps, epoch, losses = time.monotonic(), 0, 0, []
    bar = tqdm(total=int(budget), desc="training", unit="s", disable=not progress)
    model.train()
    done = False
    while not done:
        epoch += 1
        for idx in _batches(encoded, rng):
            elapsed = time.monotonic() - start
            if elapsed >= budget and steps > 0:
                done = True
                break
            frac = min(1.0, elapsed / budget)
            warm = min(1.0, (steps + 1) / 50)
            for g in opt.param_groups:
                g["lr"] = lr * warm * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
            T, X, M, Y, S = _collate(encoded, idx, rng)
            tag_logits, start_logits = model(T, X, M)
            loss = tag_loss(tag_logits.reshape(-1, len(TAGS)), Y.reshape(-1))
            if (S >= 0).any():
                loss = loss + 0.5 * start_loss(start_logits.reshape(-1, 2), S.reshape(-1))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            steps += 1
            losses.append(loss.item())
            bar.n = min(int(budget), int(time.monotonic() - start))
            bar.set_postfix(epoch=epoch, loss=f"{np.mean(losses[-20:]):.3f}")
            bar.refresh()
        if epoch > 200:
            break
    bar.close()
    model.eval()
    return model, {"steps": steps, "epochs": epoch, "seconds": round(time.monotonic() - start, 1),
                   "final_loss": round(float(np.mean(losses[-50:])) if losses else 0.0, 4)}


def word_metrics(model, encoded) -> dict:
    """Tag accuracy on the words that carry a field, and micro F1 over field tags, on validation pages."""
    import torch
    tp = fp = fn = 0
    with torch.no_grad():
        for tokens, boxes, tags, _ in encoded:
            t = torch.from_numpy(tokens[None, :MAX_WORDS])
            logits, _ = model(t, torch.from_numpy(boxes[None, :MAX_WORDS]), torch.ones(1, t.shape[1], dtype=torch.long))
            pred = logits[0].argmax(-1).numpy()
            gold = tags[:MAX_WORDS]
            tp += int(((pred == gold) & (gold > 0)).sum())
            fp += int(((pred != gold) & (pred > 0)).sum())
            fn += int(((pred != gold) & (gold > 0)).sum())
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"word_precision": round(p, 4), "word_recall": round(r, 4),
            "word_f1": round(2 * p * r / (p + r), 4) if p + r else 0.0}


def export(model, tokenizer, folder: Path, meta: dict) -> None:
    """model.onnx + tokenizer.json + weights.pt + meta.json, written to a temporary folder and moved in place."""
    import torch
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    n = 16
    sample = (torch.ones(1, n, SUBWORDS, dtype=torch.long), torch.zeros(1, n, 4, dtype=torch.long),
              torch.ones(1, n, dtype=torch.long))
    torch.onnx.export(model, sample, str(tmp / "model.onnx"), input_names=["tokens", "boxes", "mask"],
                      output_names=["tags", "starts"], opset_version=17, dynamo=False,
                      dynamic_axes={"tokens": {1: "n"}, "boxes": {1: "n"}, "mask": {1: "n"},
                                    "tags": {1: "n"}, "starts": {1: "n"}})
    tokenizer.save(str(tmp / "tokenizer.json"))
    # half precision on disk (half the size, to continue training from; the ONNX file keeps full precision)
    state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    torch.save({"state": state, "size": model.size, "vocab_size": model.vocab_size}, tmp / "weights.pt")
    (tmp / "meta.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False), encoding="utf-8")
    if folder.exists():
        shutil.rmtree(folder)
    tmp.rename(folder)


CALIBRATION_EDGES = (0.0, 0.5, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 1.01)


def calibration_table(folder: Path, docs: list[TrainingDoc]) -> dict[str, list[list[float]]]:
    """Per field ('*': all together): [lo, hi, share right, n] per probability bucket of the model's own header
    values on `docs`.  A field's shares are smoothed towards the all-fields share of the bucket (a bucket with few
    values says little), and made monotone (a surer value is never rated lower)."""
    from extractors.layout_model import load_model
    from extractors.layout_model.decode import header_candidates
    from extractors.options import ReadOptions
    from extractors.parsing import document_conventions
    from extractors.reader import read_document
    from extractors.result import Extraction
    from pipeline.bench.evaluate import values_equal
    model = load_model(folder)
    edges = CALIBRATION_EDGES
    counts: dict[str, np.ndarray] = {"*": np.zeros((len(edges) - 1, 2))}   # field -> [buckets, 2] (seen, right)
    for doc in docs:
        try:
            layout = read_document(doc.data, ReadOptions(use_embedded=False)).layout
        except Exception:   # noqa: BLE001 - a document that cannot be read does not calibrate
            continue
        truth = Extraction.from_json(doc.truth)
        conv = document_conventions(layout.text(), language=str(doc.truth.get("language") or ""))
        for name, cand in header_candidates(model.predict(layout), model.tags, conv).items():
            if name not in truth.fields:
                continue
            k = min(max(int(np.searchsorted(edges, cand.prob, side="right")) - 1, 0), len(edges) - 2)
            for key in (name, "*"):
                c = counts.setdefault(key, np.zeros((len(edges) - 1, 2)))
                c[k, 0] += 1
                c[k, 1] += values_equal(name, truth.fields[name].text(), _text(cand.value))
    overall = counts.get("*", np.zeros((len(edges) - 1, 2)))
    prior = [(overall[k, 1] + 1) / (overall[k, 0] + 2) for k in range(len(edges) - 1)]
    out = {}
    for key, c in counts.items():
        weight = 2.0 if key == "*" else 5.0
        table = []
        for k in range(len(edges) - 1):
            share = (c[k, 1] + weight * prior[k]) / (c[k, 0] + weight)
            table.append([edges[k], min(edges[k + 1], 1.0), round(float(share), 4), int(c[k, 0])])
        for row, share in zip(table, _isotonic([r[2] for r in table], [r[3] + weight for r in table])):
            row[2] = round(share, 4)
        out[key] = table
    return out


def _isotonic(values: list[float], weights: list[float]) -> list[float]:
    """The closest non-decreasing sequence (pool adjacent violators, weighted)."""
    blocks: list[list[float]] = []                 # [mean, weight, length]
    for v, w in zip(values, weights):
        blocks.append([v, w, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            b = blocks.pop()
            a = blocks[-1]
            a[0] = (a[0] * a[1] + b[0] * b[1]) / (a[1] + b[1])
            a[1] += b[1]
            a[2] += b[2]
    return [float(m) for m, _, n in blocks for _ in range(int(n))]


def _text(value) -> str:
    from extractors.result import format_value
    return format_value(value) or ""


def score(folder: Path | None, docs: list[TrainingDoc]) -> dict:
    """Fields and lines F1 of rules + the model in `folder` (None: rules alone) on `docs`, read from print."""
    from extractors.extract import extract_or_fail
    from extractors.options import ReadOptions
    from pipeline.bench.evaluate import Report, score_document
    options = ReadOptions(use_embedded=False, model=str(folder) if folder is not None else None)
    report = Report([score_document(d.name, d.truth, extract_or_fail(d.data, source=d.name, options=options))
                     for d in docs])
    return {"fields_f1": round(report.overall("fields").f1, 4), "lines_f1": round(report.overall("lines").f1, 4),
            "straight_through": report.straight_through(), "documents": len(docs)}


def _docs_named(docs: list[TrainingDoc], names: set[str]) -> list[TrainingDoc]:
    return [d for d in docs if d.name in names]


def train_model(docs: list[TrainingDoc] | None = None, *, home: Path, out_dir: Path | None = None,
                minutes: float = 25.0, seed: int = 0, init_from: Path | None = None, progress: bool = True,
                validation_share: float = 0.1, size: dict | None = None,
                calibrate_on: list[TrainingDoc] | None = None) -> TrainResult:
    """Train a model on `docs` (default: the generated default set under HOME/data) into `out_dir`
    (default HOME/models/<timestamp>).  Validation, calibration and the validation figures use a share of the
    documents held out of training, or `calibrate_on` (documents not trained on) where given: then every
    document of `docs` is trained on (a customer's few confirmed documents are not spent on validation)."""
    docs = default_docs(home, progress=progress) if docs is None else docs
    data = build(docs, cache_dir=home / "data" / "cache", progress=progress)
    if not data.pages:
        raise ValueError(f"no document could be labelled ({data.skipped})")
    if calibrate_on is not None:
        train_pages = data.pages
        val_pages = build(calibrate_on, cache_dir=home / "data" / "cache", progress=False).pages
    else:
        train_pages, val_pages = data.split(validation_share, seed)
    if init_from is not None:
        from tokenizers import Tokenizer
        tokenizer = Tokenizer.from_file(str(init_from / "tokenizer.json"))
    else:
        tokenizer = train_tokenizer([t for p in train_pages for t in p.texts])
    init_state = None
    if init_from is not None:
        import torch
        saved = torch.load(init_from / "weights.pt", map_location="cpu", weights_only=True)
        init_state = {k: v.float() if v.is_floating_point() else v for k, v in saved["state"].items()}
        size = saved["size"]
    vocab = tokenizer.get_vocab_size()
    model, run = fit(_encode(train_pages, tokenizer), vocab, minutes=minutes, seed=seed, init_state=init_state,
                     size=size, progress=progress, lr=3e-4 if init_state is not None else 1e-3)
    val_docs = calibrate_on if calibrate_on is not None else _docs_named(docs, {p.doc for p in val_pages})
    stamp = datetime.now(UTC)
    folder = out_dir or home / "models" / stamp.strftime("m%Y%m%dT%H%M%S")
    meta = {"tags": list(TAGS), "version": folder.name, "created_at": stamp.isoformat(), "data_version": data.version,
            "code_version": code_version(), "seed": seed, "size": model.size, "vocab_size": vocab,
            "documents": len(data.docs), "pages": len(data.pages), "skipped": data.skipped,
            "origins": _origins(docs, set(data.docs)), "run": run, "base": str(init_from) if init_from else None,
            "threads": 2, "calibration": {}}
    meta["metrics"] = {"validation_words": word_metrics(model, _encode(val_pages, tokenizer))}
    export(model, tokenizer, folder, meta)
    if val_docs:
        meta["calibration"] = calibration_table(folder, val_docs)
        meta["metrics"]["validation"] = {"rules": score(None, val_docs), "rules+model": score(folder, val_docs)}
    (folder / "meta.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False), encoding="utf-8")
    log.info("layout model trained", extra={"folder": str(folder), "metrics": meta["metrics"]})
    return TrainResult(folder, data.version, meta["code_version"], meta["metrics"], data.skipped)


def _origins(docs: list[TrainingDoc], used: set[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for d in docs:
        if d.name in used:
            out[d.origin] = out.get(d.origin, 0) + 1
    return out


def retrain(confirmed: list[TrainingDoc], models_home: Path, *, base_model: Path | None, minutes: float = 5.0,
            seed: int = 0, generated_share: int = 200) -> RetrainResult:
    """A candidate trained on the confirmed documents (a quarter held back for scoring) and part of the generated
    default set, starting from `base_model` where it has weights; scored against the base model."""
    home = models_home.parent
    rng = random.Random(seed)
    names = sorted(d.name for d in confirmed)
    held = set(rng.sample(names, k=max(1, len(names) // 4))) if len(names) >= 4 else set()
    train_conf = [d for d in confirmed if d.name not in held]
    held_conf = [d for d in confirmed if d.name in held]
    pool = default_docs(home, progress=False)
    rng.shuffle(pool)
    generated, calibration = pool[:generated_share], pool[generated_share:generated_share + 60]
    init = base_model if base_model is not None and (base_model / "weights.pt").exists() else None
    # the confirmed documents weigh in three times: they are the customer's own layouts
    result = train_model(train_conf * 3 + generated if train_conf else generated, home=home,
                         out_dir=models_home / datetime.now(UTC).strftime("m%Y%m%dT%H%M%S"), minutes=minutes,
                         seed=seed, init_from=init, progress=False, calibrate_on=calibration or None,
                         validation_share=0.05)
    scores = {}
    for label, docs in (("confirmed_held_back", held_conf), ("generated_held_back", held_back_docs(home))):
        if docs:
            scores[label] = {"candidate": score(result.model_dir, docs)["fields_f1"],
                             "base": score(base_model, docs)["fields_f1"]}
    meta = json.loads((result.model_dir / "meta.json").read_text(encoding="utf-8"))
    meta["retrain_scores"] = scores
    (result.model_dir / "meta.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False), encoding="utf-8")
    return RetrainResult(result, scores)
