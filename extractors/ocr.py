"""PP-OCR reading of one page image (rapidocr's ONNX models, CPU) into an `extractors.layout.Page`.

Callers pass an RGB image (a `PIL.Image.Image`, or a numpy uint8 array HxWx3 in RGB order;
greyscale HxW and RGBA are accepted too), the 1-based page number and `points_per_pixel`
(72 / dpi of the raster; `extractors.images.image_points_per_pixel` gives it for an uploaded
image, a PDF rasteriser passes 72 / ReadOptions.ocr_dpi).  They get a Page whose boxes are in
page points, origin top-left of the page turned upright, words with recogniser confidences
(0..1), `source` = "ppocr:PP-OCRv6_small", and `rotation` = the quarter turn (0, 90, 180, 270,
clockwise) the reader applied.  A small skew (a few degrees) is corrected in the coordinates:
boxes are given in the frame of the page rotated back by the skew around its centre.

Models are the ones shipped inside the rapidocr wheel (site-packages/rapidocr/models), loaded
by explicit path once per process on first use (thread-safe); nothing is ever downloaded.
`ocr_page` is safe to call from several threads.  Raises ReadError when the models are
missing or onnxruntime fails, CorruptFile when the image array is unusable.

How a page is read (kept cheap for the common upright page: one detection, a 12-crop
orientation check, one recognition pass):
1. detect text boxes on a copy scaled to a long side of 960 px (never shrinking the short
   side below 736 px, so tall receipts stay legible);
2. if most elongated boxes are taller than wide the page is turned 90 degrees clockwise and
   detected again; then the text-angle classifier on the widest boxes decides 0 vs 180;
3. the skew is the width-weighted median angle of the long boxes;
4. each box is cropped from the full-resolution image and recognised; the CTC column of each
   character gives its position, so a box is split into words at emitted spaces and at
   visible gaps (rapidocr itself glues "6.19 297.35" into "6.19297.35");
5. words of one box stay together; segments separated by a wide gap become separate Lines.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np
from PIL import Image


def _import_onnxruntime_leaving_nothing() -> None:
    """onnxruntime writes a session file ($TMPDIR/.ses, its telemetry id) when it is imported, so every process
    that read an image left a file in the temp folder: imported here with TMPDIR pointed at a private folder that
    is removed straight after, telemetry off."""
    import os
    import shutil
    import sys
    import tempfile
    if "onnxruntime" in sys.modules:
        return
    folder = tempfile.mkdtemp(prefix="inbound-ort-")
    before = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = folder
    try:
        import onnxruntime
        if hasattr(onnxruntime, "disable_telemetry_events"):
            onnxruntime.disable_telemetry_events()
    finally:
        if before is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = before
        shutil.rmtree(folder, ignore_errors=True)


_import_onnxruntime_leaving_nothing()

from rapidocr.ch_ppocr_det.utils import ResizeImgError  # noqa: E402  (after onnxruntime, above)
from rapidocr.inference_engine.onnxruntime.main import ONNXRuntimeError  # noqa: E402

from extractors.errors import CorruptFile, ReadError  # noqa: E402
from extractors.layout import BBox, Line, Page, Word  # noqa: E402

# What rapidocr/onnxruntime/OpenCV raise when inference fails; translated to ReadError.
_ENGINE_ERRORS = (ONNXRuntimeError, ResizeImgError, cv2.error, RuntimeError, ValueError, MemoryError)

ENGINE_NAME = "PP-OCRv6_small"
_MODEL_FILES = {"Det": "PP-OCRv6_det_small.onnx", "Rec": "PP-OCRv6_rec_small.onnx",
                "Cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx"}


@dataclass(frozen=True, slots=True)
class Tuning:
    """Speed/accuracy knobs, measured on the SROIE sample (see pipeline/bench/ocr.py)."""

    det_long_side: int = 960       # detection input: long side limit in px ...
    det_min_short_side: int = 736  # ... unless that would make the short side smaller than this
    threads: int = 2               # onnxruntime intra-op threads
    rec_batch: int = 6             # crops per recognition batch (sorted by aspect ratio)
    text_score: float = 0.5        # drop a detected box whose mean character confidence is lower
    word_gap: float = 0.75         # split a box where the gap between characters > this x crop height
    pitch_gap: float = 1.6         # ... and > this x the median character pitch of the box
    tiny_box: float = 0.5          # a box lower than this x the median box height ...
    tiny_score: float = 0.75       # ... is dropped unless its confidence reaches this
    line_gap: float = 2.0          # a gap wider than this x height starts a separate Line
    orient_samples: int = 12       # boxes sent to the 0/180 classifier
    min_skew_deg: float = 0.5      # smaller skews are left alone


TUNING = Tuning()


@dataclass(frozen=True, slots=True)
class _Engine:
    det: Any   # rapidocr TextDetector
    rec: Any   # rapidocr TextRecognizer (its session, resize and character list are used)
    cls: Any   # rapidocr TextClassifier
    charset: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Segment:
    """Words of one detected box that belong together (no wide gap between them)."""

    words: tuple[Word, ...]

    @property
    def bbox(self) -> BBox:
        return Line(self.words).bbox


_engine_lock = threading.Lock()
_engine: _Engine | None = None


def ocr_engine_name() -> str:
    """The model name used in `Page.source` ("ppocr:" + this)."""
    return ENGINE_NAME


def ocr_page(image: Image.Image | np.ndarray, *, page_number: int,
             points_per_pixel: float) -> Page:
    """Read one page image; see the module docstring for the conventions of the result."""
    engine = _get_engine()
    bgr = _to_bgr(image)
    turn, bgr, boxes = _upright(engine, bgr)
    height, width = bgr.shape[:2]
    skew = _skew_degrees(boxes)
    segments = _read_boxes(engine, bgr, boxes, _deskew_matrix(skew, width, height),
                           points_per_pixel)
    return Page(number=page_number, width=width * points_per_pixel,
                height=height * points_per_pixel, lines=_group_segments(segments),
                rotation=turn, source=f"ppocr:{ENGINE_NAME}", skew=skew)


# ---------------------------------------------------------------- engine


def _get_engine() -> _Engine:
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = _build_engine()
    return _engine


def _model_dir() -> Path:
    import rapidocr

    return Path(rapidocr.__file__).resolve().parent / "models"


def _config() -> Any:
    from rapidocr.main import DEFAULT_CFG_PATH
    from rapidocr.utils.parse_parameters import ParseParams

    models = _model_dir()
    params: dict[str, Any] = {f"{k}.model_path": str(models / f) for k, f in _MODEL_FILES.items()}
    params.update({"EngineConfig.onnxruntime.intra_op_num_threads": TUNING.threads,
                   "EngineConfig.onnxruntime.inter_op_num_threads": 1,
                   "Det.limit_type": "max", "Det.limit_side_len": 8192,
                   "Rec.rec_batch_num": TUNING.rec_batch, "Global.log_level": "warning"})
    missing = [f for f in _MODEL_FILES.values() if not (models / f).is_file()]
    if missing:
        raise ReadError("The text recognition models are not installed.",
                        detail=f"missing in {models}: {missing}")
    return ParseParams.update_batch(ParseParams.load(DEFAULT_CFG_PATH), params)


def _build_engine() -> _Engine:
    from rapidocr.ch_ppocr_cls import TextClassifier
    from rapidocr.ch_ppocr_det import TextDetector
    from rapidocr.ch_ppocr_rec import TextRecognizer
    from rapidocr.utils.log import logger

    cfg = _config()
    logger.setLevel("WARNING")
    for section in (cfg.Det, cfg.Rec, cfg.Cls):
        section.engine_cfg = cfg.EngineConfig.onnxruntime
    cfg.Rec.font_path = None
    try:
        det, rec, cls = TextDetector(cfg.Det), TextRecognizer(cfg.Rec), TextClassifier(cfg.Cls)
    except (OSError, ValueError, RuntimeError) as exc:
        raise ReadError("The text recognition engine could not be started.", detail=str(exc)) from exc
    return _Engine(det=det, rec=rec, cls=cls, charset=tuple(rec.postprocess_op.character))


# ---------------------------------------------------------------- image and detection


def _to_bgr(image: Image.Image | np.ndarray) -> np.ndarray:
    if isinstance(image, Image.Image):
        image = np.asarray(image.convert("RGB"))
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if (arr.dtype != np.uint8 or arr.ndim not in (2, 3) or min(arr.shape[:2]) < 2
            or (arr.ndim == 3 and arr.shape[2] not in (3, 4))):
        raise CorruptFile("The page image cannot be read.", detail=f"array {arr.dtype} {arr.shape}")
    if arr.ndim == 2:
        return cv2.cvtColor(arr, cv2.COLOR_GRAY2BGR)
    if arr.shape[2] == 4:
        return cv2.cvtColor(arr, cv2.COLOR_RGBA2BGR)
    return np.ascontiguousarray(arr[:, :, ::-1])


def _det_scale(height: int, width: int) -> float:
    shrink = TUNING.det_long_side / max(height, width)
    floor = TUNING.det_min_short_side / min(height, width)
    return min(1.0, max(shrink, floor))


def _detect(engine: _Engine, bgr: np.ndarray) -> np.ndarray:
    """Text boxes as float32 (N, 4, 2) quads in `bgr` pixels: TL, TR, BR, BL."""
    height, width = bgr.shape[:2]
    scale = _det_scale(height, width)
    small = bgr if scale >= 1.0 else cv2.resize(
        bgr, (max(32, round(width * scale)), max(32, round(height * scale))),
        interpolation=cv2.INTER_AREA)
    try:
        out = engine.det(small)
    except _ENGINE_ERRORS as exc:
        raise ReadError("Text detection failed on this page.", detail=repr(exc)) from exc
    if out.boxes is None or len(out.boxes) == 0:
        return np.zeros((0, 4, 2), np.float32)
    sy, sx = height / small.shape[0], width / small.shape[1]
    return np.asarray(out.boxes, np.float32) * np.array([sx, sy], np.float32)


def _box_sides(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Length of the top edge (p0-p1) and of the left edge (p0-p3) of each quad."""
    top = np.linalg.norm(boxes[:, 1] - boxes[:, 0], axis=1)
    left = np.linalg.norm(boxes[:, 3] - boxes[:, 0], axis=1)
    return top, left


def _mostly_vertical(boxes: np.ndarray) -> bool:
    """True when most elongated boxes run up-down: the page lies on its side."""
    if len(boxes) == 0:
        return False
    extent = boxes.max(axis=1) - boxes.min(axis=1)
    w, h = extent[:, 0], extent[:, 1]
    tall = int(np.count_nonzero(h > 2 * w))
    wide = int(np.count_nonzero(w > 2 * h))
    return tall > wide


# ---------------------------------------------------------------- orientation and skew


def _upright(engine: _Engine, bgr: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """(clockwise quarter turn applied, turned image, its boxes)."""
    boxes = _detect(engine, bgr)
    turn = 0
    if _mostly_vertical(boxes):
        bgr = cv2.rotate(bgr, cv2.ROTATE_90_CLOCKWISE)
        boxes, turn = _detect(engine, bgr), 90
    if _upside_down(engine, bgr, boxes):
        bgr = cv2.rotate(bgr, cv2.ROTATE_180)
        boxes, turn = _rotate_boxes_180(boxes, bgr.shape[1], bgr.shape[0]), turn + 180
    return turn, bgr, boxes


def _upside_down(engine: _Engine, bgr: np.ndarray, boxes: np.ndarray) -> bool:
    """Vote of the 0/180 text-angle classifier on the widest boxes, weighted by its score."""
    top, left = _box_sides(boxes)
    long = np.flatnonzero(top >= 2 * np.maximum(left, 1.0))
    if len(long) == 0:
        return False
    pick = long[np.argsort(-top[long])][: TUNING.orient_samples]
    crops = [_crop(bgr, boxes[i]) for i in pick]
    try:
        votes = engine.cls(crops).cls_res or []
    except _ENGINE_ERRORS as exc:
        raise ReadError("Text orientation check failed on this page.", detail=repr(exc)) from exc
    flipped = sum(float(s) for label, s in votes if "180" in str(label))
    upright = sum(float(s) for label, s in votes if "180" not in str(label))
    return flipped > upright


def _rotate_boxes_180(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    turned = np.array([width, height], np.float32) - boxes
    return np.roll(turned, 2, axis=1)  # old BR becomes the new TL


def _skew_degrees(boxes: np.ndarray) -> float:
    """The page's small skew in degrees (positive: text rises to the left), 0 below `min_skew_deg`.

    Detection boxes of short words are nearly axis-aligned even on a skewed page, so their own angle
    misses a skew of a degree or two; the centres of boxes on one text row, far apart, show it.  The
    median angle between such pairs is used where there are enough, else the boxes' own angles.
    """
    pairs = _row_pair_angles(boxes)
    median = float(np.median(pairs)) if len(pairs) >= 5 else _box_angle_median(boxes)
    return median if abs(median) >= TUNING.min_skew_deg else 0.0


def _row_pair_angles(boxes: np.ndarray) -> np.ndarray:
    if len(boxes) < 2:
        return np.empty(0)
    centres = boxes.mean(axis=1)
    heights = np.linalg.norm(boxes[:, 3] - boxes[:, 0], axis=1)
    dx = centres[None, :, 0] - centres[:, None, 0]
    dy = centres[None, :, 1] - centres[:, None, 1]
    h = np.minimum(heights[:, None], heights[None, :])
    similar = np.abs(heights[:, None] - heights[None, :]) < 0.3 * h
    same_row = (dx > 6 * h) & (np.abs(dy) < 0.5 * h) & similar
    return np.degrees(np.arctan2(dy[same_row], dx[same_row]))


def _box_angle_median(boxes: np.ndarray) -> float:
    """Width-weighted median angle of the long boxes."""
    top, left = _box_sides(boxes)
    long = np.flatnonzero(top >= 3 * np.maximum(left, 1.0))
    if len(long) < 3:
        return 0.0
    d = boxes[long, 1] - boxes[long, 0]
    angles = np.degrees(np.arctan2(d[:, 1], d[:, 0]))
    order = np.argsort(angles)
    cum = np.cumsum(top[long][order])
    return float(angles[order][np.searchsorted(cum, cum[-1] / 2)])


def _deskew_matrix(skew: float, width: int, height: int) -> np.ndarray:
    """2x3 affine turning image pixels into the deskewed frame (rotation by -skew)."""
    return cv2.getRotationMatrix2D((width / 2, height / 2), skew, 1.0)


# ---------------------------------------------------------------- recognition


def _crop(bgr: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """The quad warped to an upright rectangle (never turned: the page is upright)."""
    w = int(max(np.linalg.norm(quad[0] - quad[1]), np.linalg.norm(quad[2] - quad[3])))
    h = int(max(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2])))
    w, h = max(w, 2), max(h, 2)
    dst = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    m = cv2.getPerspectiveTransform(quad.astype(np.float32), dst)
    return cv2.warpPerspective(bgr, m, (w, h), borderMode=cv2.BORDER_REPLICATE,
                               flags=cv2.INTER_CUBIC)


@dataclass(frozen=True, slots=True)
class _Chars:
    """Decoded characters of one crop: text, confidence and centre x in crop pixels."""

    chars: tuple[str, ...]
    confs: tuple[float, ...]
    xs: tuple[float, ...]


def _recognise(engine: _Engine, crops: Sequence[np.ndarray]) -> list[_Chars]:
    order = np.argsort([c.shape[1] / c.shape[0] for c in crops])
    out: list[_Chars | None] = [None] * len(crops)
    for start in range(0, len(crops), TUNING.rec_batch):
        idx = order[start:start + TUNING.rec_batch]
        for i, chars in zip(idx, _recognise_batch(engine, [crops[i] for i in idx])):
            out[i] = chars
    return [c for c in out if c is not None]


def _recognise_batch(engine: _Engine, crops: list[np.ndarray]) -> list[_Chars]:
    _, img_h, img_w = engine.rec.rec_image_shape
    max_ratio = max([img_w / img_h] + [c.shape[1] / c.shape[0] for c in crops])
    batch = np.stack([engine.rec.resize_norm_img(c, max_ratio) for c in crops]).astype(np.float32)
    try:
        preds = engine.rec.session(batch)
    except _ENGINE_ERRORS as exc:
        raise ReadError("Text recognition failed on this page.", detail=repr(exc)) from exc
    norm_w = batch.shape[3]
    return [_decode(engine, p, c, norm_w, img_h) for p, c in zip(preds, crops)]


def _decode(engine: _Engine, pred: np.ndarray, crop: np.ndarray, norm_w: int, img_h: int) -> _Chars:
    """Greedy CTC decoding keeping where each character fired."""
    idx, prob = pred.argmax(axis=1), pred.max(axis=1)
    keep = idx != 0
    keep[1:] &= idx[1:] != idx[:-1]
    cols = np.flatnonzero(keep)
    ch, cw = crop.shape[:2]
    resized_w = min(norm_w, math.ceil(img_h * cw / ch))
    stride = norm_w / len(idx)
    xs = (cols + 0.5) * stride * (cw / resized_w)
    return _Chars(tuple(engine.charset[i] for i in idx[cols]),
                  tuple(float(p) for p in prob[cols]), tuple(float(x) for x in xs))


# ---------------------------------------------------------------- words, coordinates, lines


def _split_stacked(bgr: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Boxes that detection drew around short texts stacked one above the other (a column of unit cells
    printed off their rows, '次' over '间'; a vertical label 购/买/方) cut at the empty pixel rows between
    them, so each is read on its own, as the text layer gives them."""
    if len(boxes) < 4:
        return boxes
    top, left = _box_sides(boxes)
    median_h = float(np.median(left))
    out: list[np.ndarray] = []
    for quad, w, h in zip(boxes, top, left):
        short_stack = h > 1.7 * median_h and w < 2.5 * h     # long lines are never cut
        cuts = _stack_gaps(_crop(bgr, quad), median_h) if short_stack else []
        edges = [0.0, *cuts, 1.0]
        for t0, t1 in zip(edges, edges[1:]):
            a0, b0 = quad[0] + (quad[3] - quad[0]) * t0, quad[1] + (quad[2] - quad[1]) * t0
            a1, b1 = quad[0] + (quad[3] - quad[0]) * t1, quad[1] + (quad[2] - quad[1]) * t1
            out.append(np.array([a0, b0, b1, a1], np.float32))
    return np.stack(out).astype(np.float32)


def _stack_gaps(crop: np.ndarray, median_h: float) -> list[float]:
    """Cut positions (0..1 of the height) in the middle of each ink-free band between inked rows of
    text at least a third of a line high; [] when the crop holds one row of text."""
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    _, ink = cv2.threshold(grey, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    rows = ink.sum(axis=1)
    inked = rows > 0.05 * max(1, int(rows.max()))
    runs, start = [], None
    for y, on in enumerate([*inked, False]):
        if on and start is None:
            start = y
        elif not on and start is not None:
            runs.append((start, y))
            start = None
    runs = [r for r in runs if r[1] - r[0] >= median_h / 3]
    if len(runs) < 2:
        return []
    return [(a[1] + b[0]) / 2 / len(rows) for a, b in zip(runs, runs[1:])]


def _read_boxes(engine: _Engine, bgr: np.ndarray, boxes: np.ndarray, deskew: np.ndarray,
                points_per_pixel: float) -> list[_Segment]:
    boxes = _split_stacked(bgr, boxes)
    crops = [_crop(bgr, quad) for quad in boxes]
    decoded = _recognise(engine, crops) if crops else []
    height, width = bgr.shape[:2]
    limits = (width * points_per_pixel, height * points_per_pixel)
    segments: list[_Segment] = []
    median_h = float(np.median([c.shape[0] for c in crops])) if crops else 0.0
    for quad, crop, chars in zip(boxes, crops, decoded):
        if not _keep(chars, crop.shape[0], median_h):
            continue
        for run in _split_words(chars, crop.shape[0]):
            words = tuple(_place_word(w, quad, crop.shape, deskew, points_per_pixel, limits)
                          for w in run)
            segments.append(_Segment(words))
    return segments


def _keep(chars: _Chars, crop_h: int, median_h: float) -> bool:
    """Drop empty and low-confidence boxes, and doubtful slivers (cut-off text at the edges)."""
    if not chars.chars:
        return False
    score = float(np.mean(chars.confs))
    if score < TUNING.text_score:
        return False
    return crop_h >= TUNING.tiny_box * median_h or score >= TUNING.tiny_score


@dataclass(frozen=True, slots=True)
class _CropWord:
    text: str
    confidence: float
    x0: float  # crop pixels
    x1: float


def _word_runs(chars: _Chars, crop_h: int) -> list[list[int]]:
    """Indices of the characters of each word: split at emitted spaces and where the distance
    between two character centres exceeds both `word_gap` x crop height and `pitch_gap` x the
    median character pitch of the box (so widely spaced bold titles are not torn apart)."""
    solid = [i for i, ch in enumerate(chars.chars) if not ch.isspace()]
    pitches = [chars.xs[b] - chars.xs[a] for a, b in zip(solid, solid[1:])]
    limit = max(TUNING.word_gap * crop_h, TUNING.pitch_gap * float(np.median(pitches or [0.0])))
    runs: list[list[int]] = [[]]
    for i, ch in enumerate(chars.chars):
        if ch.isspace():
            runs.append([])
            continue
        cur = runs[-1]
        if cur and chars.xs[i] - chars.xs[cur[-1]] > limit:
            runs.append(cur := [])
        cur.append(i)
    return [r for r in runs if r]


def _split_words(chars: _Chars, crop_h: int) -> list[list[_CropWord]]:
    """Words of one crop, grouped into segments separated by gaps wider than `line_gap`."""
    runs = _word_runs(chars, crop_h)
    gaps = [chars.xs[b] - chars.xs[a] for r in runs for a, b in zip(r, r[1:])]
    half = (float(np.median(gaps)) if gaps else 0.5 * crop_h) / 2
    segments: list[list[_CropWord]] = []
    for run in runs:
        word = _CropWord("".join(chars.chars[i] for i in run),
                         float(np.mean([chars.confs[i] for i in run])),
                         chars.xs[run[0]] - half, chars.xs[run[-1]] + half)
        if segments and word.x0 - segments[-1][-1].x1 <= TUNING.line_gap * crop_h:
            segments[-1].append(word)
        else:
            segments.append([word])
    return segments


def _place_word(word: _CropWord, quad: np.ndarray, crop_shape: tuple[int, ...],
                deskew: np.ndarray, ppp: float, limits: tuple[float, float]) -> Word:
    """The word's rectangle in the crop, mapped to the image, deskewed, in page points."""
    ch, cw = crop_shape[:2]
    u = np.clip(np.array([word.x0, word.x1, word.x1, word.x0]), 0, cw) / cw
    v = np.array([0.0, 0.0, 1.0, 1.0])
    pts = quad[0] + np.outer(u, quad[1] - quad[0]) + np.outer(v, quad[3] - quad[0])
    pts = pts @ deskew[:, :2].T + deskew[:, 2]
    x0, y0 = (max(0.0, min(lim, c)) for c, lim in zip(pts.min(axis=0) * ppp, limits))
    x1, y1 = (max(0.0, min(lim, c)) for c, lim in zip(pts.max(axis=0) * ppp, limits))
    return Word(word.text, BBox(x0, y0, x1, y1), round(word.confidence, 4))


def _same_row(a: BBox, ref: BBox) -> bool:
    """Overlapping by half and centred within 0.45 of the smaller height: tightly spaced rows of tall
    detection boxes overlap each other, but their centres stay a row apart."""
    smaller = min(a.height, ref.height)
    return a.y_overlap(ref) >= 0.5 and abs(a.cy - ref.cy) <= 0.45 * smaller


def _group_segments(segments: list[_Segment]) -> tuple[Line, ...]:
    """Rows by vertical overlap, top to bottom; a row's segments left to right, joined into one
    Line unless the gap between them is wider than `line_gap` x their height."""
    rows: list[list[_Segment]] = []
    for seg in sorted(segments, key=lambda s: (s.bbox.cy, s.bbox.x0)):
        for row in reversed(rows[-4:]):
            if _same_row(seg.bbox, row[0].bbox):  # against the row's first box: no drift from row to row
                row.append(seg)
                break
        else:
            rows.append([seg])
    lines: list[Line] = []
    for row in rows:
        row.sort(key=lambda s: s.bbox.x0)
        current = list(row[0].words)
        for seg in row[1:]:
            h = max(Line(tuple(current)).bbox.height, seg.bbox.height, 1e-6)
            if seg.bbox.x0 - current[-1].bbox.x1 > TUNING.line_gap * h:
                lines.append(Line(tuple(current)))
                current = []
            current.extend(seg.words)
        lines.append(Line(tuple(current)))
    return tuple(lines)
