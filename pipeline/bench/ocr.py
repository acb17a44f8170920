"""Pure helpers for the OCR benchmark (character error rate against SROIE line transcripts).

How texts are compared (`normalise_for_cer`): case-folded, then every run of whitespace
(spaces, tabs, newlines) becomes one space and the ends are stripped.  So line breaks and
spacing cost nothing except where a missing space joins two words ("6.19297.35" vs
"6.19 297.35" costs one insertion); reading order still matters.

Every text (ground truth, bare rapidocr, our Page) is put in the same reading order by
`reading_order`: boxes are grouped into rows by vertical overlap, rows top to bottom,
boxes left to right inside a row.

Run the benchmark with `python -m pipeline.bench.ocr DIR [--bare] [--ours] [--rotate 90]`; it
prints one line per image and the mean CER and median seconds per image of each path.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from rapidfuzz.distance import Levenshtein

from extractors.layout import BBox, Page

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels or points

_bare_lock = threading.Lock()
_bare_engine: Any = None


def normalise_for_cer(text: str) -> str:
    """Case-fold and collapse all whitespace (newlines included) to single spaces."""
    return " ".join(text.casefold().split())


def cer(predicted: str, truth: str) -> float:
    """Levenshtein distance on characters / length of the truth, both `normalise_for_cer`-ed."""
    pred, ref = normalise_for_cer(predicted), normalise_for_cer(truth)
    if not ref:
        return 0.0 if not pred else 1.0
    return Levenshtein.distance(pred, ref) / len(ref)


def reading_order(items: Iterable[tuple[Box, str]], *, y_tolerance: float = 0.5) -> list[str]:
    """Texts of boxes as lines: rows by vertical overlap, top to bottom, left to right in a row."""
    rows: list[list[tuple[BBox, str]]] = []
    for box, text in sorted(((BBox(*b), t) for b, t in items), key=lambda bt: (bt[0].cy, bt[0].x0)):
        for row in reversed(rows[-4:]):
            if box.y_overlap(row[-1][0]) >= y_tolerance:
                row.append((box, text))
                break
        else:
            rows.append([(box, text)])
    return [" ".join(t for _, t in sorted(row, key=lambda bt: bt[0].x0)) for row in rows]


def _quad_to_box(coords: Sequence[float]) -> Box:
    xs, ys = coords[0::2], coords[1::2]
    return (min(xs), min(ys), max(xs), max(ys))


def sroie_truth_text(csv_path: str | Path) -> str:
    """The transcripts of a SROIE `NAME.ocr.csv` (x1,y1,...,y4,transcript) in reading order."""
    items: list[tuple[Box, str]] = []
    with open(csv_path, encoding="utf-8", errors="replace", newline="") as fh:
        for row in csv.reader(fh):
            if len(row) < 9:
                continue
            coords = [float(v) for v in row[:8]]
            items.append((_quad_to_box(coords), ",".join(row[8:])))
    return "\n".join(reading_order(items))


def page_text_for_cer(page: Page) -> str:
    """The lines of a Page in the same reading order as the truth (rows top to bottom)."""
    items = [((ln.bbox.x0, ln.bbox.y0, ln.bbox.x1, ln.bbox.y1), ln.text) for ln in page.lines]
    return "\n".join(reading_order(items))


def _bare() -> Any:
    global _bare_engine
    with _bare_lock:
        if _bare_engine is None:
            from rapidocr import RapidOCR

            _bare_engine = RapidOCR()  # the library default, models from the wheel
        return _bare_engine


def bare_rapidocr_text(image_path: str | Path) -> str:
    """Baseline: a default `RapidOCR()(path)` call, box texts in reading order, newline-joined."""
    result = _bare()(str(image_path))
    if result.boxes is None or result.txts is None:
        return ""
    items = [(_quad_to_box([float(v) for v in quad.reshape(-1)]), txt)
             for quad, txt in zip(result.boxes, result.txts)]
    return "\n".join(reading_order(items))


def ours_text(image_path: str | Path, rotate: int = 0) -> str:
    """Our path: load_images + ocr_page on the first frame (turned `rotate` degrees
    counter-clockwise first, to test orientation handling), text via `page_text_for_cer`."""
    from extractors.images import load_images
    from extractors.ocr import ocr_page
    from extractors.options import ReadOptions

    image = load_images(Path(image_path).read_bytes(), ReadOptions())[0]
    if rotate:
        image = image.rotate(rotate, expand=True, fillcolor="white")
    return page_text_for_cer(ocr_page(image, page_number=1, points_per_pixel=1.0))


def _summary(name: str, cers: list[float], secs: list[float]) -> str:
    return (f"== {name}: n={len(cers)} mean_cer={statistics.mean(cers):.4f} "
            f"median_s={statistics.median(secs):.3f} mean_s={statistics.mean(secs):.3f}")


def run_benchmark(paths: dict[str, Callable[[Path], str]], images: list[Path]) -> list[str]:
    """Time and score each path on each image; paths alternate per image so that machine
    load affects them alike.  Model loading is excluded (one warm-up call per path)."""
    for fn in paths.values():
        fn(images[0])
    results: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n in paths}
    for img in images:
        truth = sroie_truth_text(img.with_suffix(".ocr.csv"))
        for name, fn in paths.items():
            t0 = time.perf_counter()
            text = fn(img)
            results[name][1].append(time.perf_counter() - t0)
            results[name][0].append(cer(text, truth))
            print(f"{name} {img.name} cer={results[name][0][-1]:.4f} s={results[name][1][-1]:.3f}",
                  flush=True)
    return [_summary(n, c, s) for n, (c, s) in results.items()]


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="CER and speed of OCR paths on SROIE receipts.")
    ap.add_argument("folder", type=Path)
    ap.add_argument("--bare", action="store_true", help="default RapidOCR() call")
    ap.add_argument("--ours", action="store_true", help="extractors.ocr.ocr_page")
    ap.add_argument("--rotate", type=int, default=0, help="also run ours on images turned this much")
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args(argv)
    images = sorted(args.folder.glob("*.jpg"))[: args.limit or None]
    paths: dict[str, Callable[[Path], str]] = {}
    if args.bare:
        paths["bare"] = bare_rapidocr_text
    if args.ours:
        paths["ours"] = ours_text
    if args.rotate:
        paths[f"ours_rot{args.rotate}"] = lambda p: ours_text(p, rotate=args.rotate)
    print("\n".join(run_benchmark(paths, images)))


if __name__ == "__main__":
    main()
