"""Loading a model folder and running it on a layout's pages (onnxruntime, CPU; no torch).

A model folder holds `model.onnx` (inputs tokens [1, n, SUBWORDS], boxes [1, n, 4], mask [1, n]; outputs tag
logits [1, n, tags] and line-start logits [1, n, 2]), `tokenizer.json` and `meta.json` (tags, metrics, data and
code version, calibration).  `load_model` raises `ModelError` with the reason for a folder that is missing,
incomplete or corrupt; loaded models are cached per folder and file modification time.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from extractors.layout import Layout, Word
from extractors.layout_model.features import WordEncoder, windows

log = logging.getLogger("inbound.layout_model")

DEFAULT_MODEL_DIR = Path(__file__).with_name("default")
FILES = ("model.onnx", "tokenizer.json", "meta.json")


class ModelError(Exception):
    """A model folder that cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class PagePrediction:
    page: int
    words: list[Word]
    tag_probs: np.ndarray        # [n, tags]
    start_probs: np.ndarray      # [n]: the word starts a line item
    exact_text: bool = True      # the page's text is exact (text layer, OFD), not OCR
    centres: np.ndarray | None = None   # [n, 2] word centres, points


class LayoutModel:
    def __init__(self, folder: Path, session, encoder: WordEncoder, meta: dict) -> None:
        self.folder, self.session, self.encoder, self.meta = folder, session, encoder, meta
        self.tags: tuple[str, ...] = tuple(meta["tags"])
        self.version = str(meta.get("version", folder.name))

    def predict(self, layout: Layout) -> list[PagePrediction]:
        out = []
        for page in layout.pages:
            inp = self.encoder.page_input(page)
            n = len(inp.words)
            if n == 0:
                continue
            probs = np.zeros((n, len(self.tags)), dtype=np.float32)
            starts = np.zeros(n, dtype=np.float32)
            for a, b in windows(n):
                logits, start_logits = self.session.run(None, {
                    "tokens": inp.tokens[None, a:b], "boxes": inp.boxes[None, a:b],
                    "mask": np.ones((1, b - a), dtype=np.int64)})
                probs[a:b] = _softmax(logits[0])
                starts[a:b] = _softmax(start_logits[0])[:, 1]
            boxes = np.array([(w.bbox.x0, w.bbox.y0, w.bbox.x1, w.bbox.y1) for w in inp.words], dtype=np.float64)
            centres = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2], axis=1)
            out.append(PagePrediction(page.number, inp.words, probs, starts, page.source in ("text-layer", "ofd"),
                                      centres))
        return out


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


_cache: dict[tuple[str, float], LayoutModel] = {}
_lock = threading.Lock()


def load_model(folder: str | Path) -> LayoutModel:
    """The model in `folder` (cached); ModelError when it is missing or cannot be loaded."""
    path = Path(folder)
    missing = [name for name in FILES if not (path / name).is_file()]
    if missing:
        raise ModelError(f"model folder {path} lacks {', '.join(missing)}")
    key = (str(path.resolve()), max((path / name).stat().st_mtime for name in FILES))
    with _lock:
        if key in _cache:
            return _cache[key]
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
            meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
            options = ort.SessionOptions()
            options.intra_op_num_threads = int(meta.get("threads", 2))
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            session = ort.InferenceSession(str(path / "model.onnx"), options, providers=["CPUExecutionProvider"])
            encoder = WordEncoder(Tokenizer.from_file(str(path / "tokenizer.json")))
            model = LayoutModel(path, session, encoder, meta)
            if not model.tags:
                raise ValueError("meta.json names no tags")
        except Exception as exc:   # onnxruntime, tokenizers and json each raise their own kinds
            raise ModelError(f"model folder {path} cannot be loaded: {type(exc).__name__}: {exc}"[:500]) from exc
        if len(_cache) >= 4:
            _cache.pop(next(iter(_cache)))
        _cache[key] = model
        return model


_failed: set[str] = set()


def model_or_none(folder: str | Path | None) -> LayoutModel | None:
    """The model, or None (rules alone) when `folder` is None or unusable; an unusable folder is logged once."""
    if folder is None:
        return None
    try:
        return load_model(folder)
    except ModelError as exc:
        if str(folder) not in _failed:
            _failed.add(str(folder))
            log.error("layout model unusable, reading with the rules alone: %s", exc)
        return None
