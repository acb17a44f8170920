"""`inbound bench`: speed per page and OCR quality, each path against its bare baseline, in one run.

(a) text layer: our whole path (read, classify, extract, validate; embedded XML off) per page vs a bare
    pypdfium2 character extraction of the same pages (open, text, every char box);
(b) OCR: our whole path on one image vs a bare default `RapidOCR()` call on the same image, with the
    character error rate of both against SROIE's line transcripts (`NAME.ocr.csv`);
(c) a Chinese VAT invoice printed on A4 and scanned at 200 dpi (synthetic, seeded: `fixtures.synth_cn`):
    our whole path per page vs a bare default `RapidOCR()` call on the same image, and how many of the
    ground-truth header fields our path got right;
(d) the layout model (extractors.layout_model, the shipped model): milliseconds per page it adds to the text-layer
    path (with it vs the rules alone, same pages, same run), and the model file's size;
(e) peak memory: the process's peak resident set after each part (ru_maxrss; the OCR models dominate).

Medians over rounds, warm (the first round of each path is discarded).  Progress goes to stderr.
"""

from __future__ import annotations

import resource
import statistics
import time
from pathlib import Path
from typing import Callable

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from extractors.extract import extract_document
from extractors.options import ReadOptions

console = Console()
_TEXT_FOLDERS = ("zugferd_corpus", "invoice2data")


def _default_realdocs() -> Path:
    return Path(__file__).resolve().parents[3] / "shared" / "realdocs"


def median_ms(fn: Callable[[], object], rounds: int) -> float:
    """Median milliseconds of `rounds` calls after one warm-up call."""
    fn()  # warm-up
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def bare_pdfium_chars(data: bytes) -> int:
    """The baseline: open the PDF, and per page its text and every character's box."""
    import pypdfium2 as pdfium
    pdf = pdfium.PdfDocument(data)
    count = 0
    try:
        for page in pdf:
            textpage = page.get_textpage()
            textpage.get_text_range()
            for i in range(textpage.count_chars()):
                textpage.get_charbox(i)
                count += 1
            textpage.close()
            page.close()
    finally:
        pdf.close()
    return count


def _pages(data: bytes) -> int:
    import pypdfium2 as pdfium
    pdf = pdfium.PdfDocument(data)
    try:
        return len(pdf)
    finally:
        pdf.close()


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_text_layer(realdocs: Path, *, rounds: int, progress: Progress) -> dict:
    files = [p for folder in _TEXT_FOLDERS for p in sorted((realdocs / folder).glob("*.pdf"))]
    options = ReadOptions(use_embedded=False)
    ours, bare, per_doc = [], [], []
    per_folder: dict[str, list[float]] = {}
    task = progress.add_task("text layer", total=len(files))
    for path in files:
        data = path.read_bytes()
        pages = _pages(data)
        ours_ms = median_ms(lambda: extract_document(data, options=options), rounds)
        bare_ms = median_ms(lambda: bare_pdfium_chars(data), rounds)
        ours.append(ours_ms / pages)
        bare.append(bare_ms / pages)
        per_doc.append(ours_ms)
        per_folder.setdefault(path.parent.name, []).append(ours_ms)
        progress.advance(task)
    return {"documents": len(files), "pages": sum(_pages(p.read_bytes()) for p in files),
            "ours_ms_per_page": statistics.median(ours), "bare_ms_per_page": statistics.median(bare),
            "ratio": statistics.median(ours) / statistics.median(bare),
            "ours_ms_per_document": statistics.median(per_doc),
            "ours_ms_per_document_by_folder": {k: statistics.median(v) for k, v in per_folder.items()},
            "peak_rss_mb": _peak_rss_mb()}


def bench_model(realdocs: Path, *, rounds: int, progress: Progress, model_dir: Path | None = None) -> dict | None:
    """Added milliseconds per page of reading with the layout model, on the text-layer documents."""
    from extractors.layout_model import DEFAULT_MODEL_DIR, load_model
    folder = model_dir or DEFAULT_MODEL_DIR
    if not (folder / "model.onnx").exists():
        return None
    load_model(folder)
    files = [p for f in _TEXT_FOLDERS for p in sorted((realdocs / f).glob("*.pdf"))]
    rules, with_model = ReadOptions(use_embedded=False), ReadOptions(use_embedded=False, model=str(folder))
    added, plain, words = [], [], []
    task = progress.add_task("layout model", total=len(files))
    for path in files:
        data = path.read_bytes()
        pages = _pages(data)
        a = median_ms(lambda: extract_document(data, options=rules), rounds)
        b = median_ms(lambda: extract_document(data, options=with_model), rounds)
        plain.append(a / pages)
        added.append((b - a) / pages)
        progress.advance(task)
    return {"documents": len(files), "model": str(folder), "rules_ms_per_page": statistics.median(plain),
            "added_ms_per_page": statistics.median(added), "added_ms_per_page_p90": _p90(added),
            "model_mb": round((folder / "model.onnx").stat().st_size / 1e6, 1), "peak_rss_mb": _peak_rss_mb()}


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))] if ordered else 0.0


def bench_ocr(realdocs: Path, *, limit: int | None, progress: Progress) -> dict:
    from pipeline.bench.ocr import bare_rapidocr_text, cer, page_text_for_cer, sroie_truth_text
    images = sorted((realdocs / "sroie").glob("*.jpg"))[:limit]
    options = ReadOptions()
    ours_ms, bare_ms, ours_cer, bare_cer = [], [], [], []
    bare_rapidocr_text(images[0])  # load both engines before timing
    extract_document(images[0].read_bytes(), options=options)
    task = progress.add_task("OCR", total=len(images))
    for path in images:
        truth = sroie_truth_text(path.with_suffix(".ocr.csv"))
        data = path.read_bytes()
        t0 = time.perf_counter()
        extraction_layout = _ocr_layout_and_extract(data, options)
        ours_ms.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        bare_text = bare_rapidocr_text(path)
        bare_ms.append((time.perf_counter() - t0) * 1000)
        ours_cer.append(cer("\n".join(page_text_for_cer(p) for p in extraction_layout.pages), truth))
        bare_cer.append(cer(bare_text, truth))
        progress.advance(task)
    return {"images": len(images), "ours_ms_per_page": statistics.median(ours_ms),
            "bare_ms_per_page": statistics.median(bare_ms),
            "ratio": statistics.median(ours_ms) / statistics.median(bare_ms),
            "ours_cer": statistics.mean(ours_cer), "bare_cer": statistics.mean(bare_cer),
            "peak_rss_mb": _peak_rss_mb()}


def bench_cn_scan(*, count: int, rounds: int, progress: Progress) -> dict:
    """(c): `count` A4 scans of synthetic VAT invoices, each timed `rounds` times both ways (medians)."""
    import random
    import tempfile
    from pipeline.bench.ocr import bare_rapidocr_text
    from fixtures import synth_cn
    from pipeline.bench.evaluate import score_document
    if not synth_cn.font_available():
        return {}
    rng = random.Random(2026)
    options = ReadOptions()
    ours_ms, bare_ms, right, fields = [], [], 0, 0
    task = progress.add_task("Chinese A4 scans", total=count)
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(count):
            invoice = synth_cn.random_vat_invoice(rng)
            data = synth_cn.scanned_variant(synth_cn.vat_invoice_pdf(invoice), rng, dpi=200,
                                            photo=False, a4=True)
            path = Path(tmp) / f"cn-a4-{i}.jpg"
            path.write_bytes(data)
            if i == 0:  # load both engines before timing
                bare_rapidocr_text(path)
                extract_document(data, options=options)
            ours_ms.append(median_ms(lambda: extract_document(data, options=options), rounds))
            bare_ms.append(median_ms(lambda: bare_rapidocr_text(path), rounds))
            got = score_document(path.name, synth_cn.ground_truth(invoice),
                                 extract_document(data, options=options))
            right += sum(t.tp for t in got.fields.values())
            fields += sum(t.tp + t.fn for t in got.fields.values())
            progress.advance(task)
    return {"pages": count, "dpi": 200, "ours_s_per_page": statistics.median(ours_ms) / 1000,
            "bare_s_per_page": statistics.median(bare_ms) / 1000,
            "ratio": statistics.median(ours_ms) / statistics.median(bare_ms),
            "fields_right": right, "fields_total": fields, "peak_rss_mb": _peak_rss_mb()}


def _ocr_layout_and_extract(data: bytes, options: ReadOptions):
    """Our OCR path end to end: read (OCR), classify, extract, validate; returns the layout read."""
    from extractors.extract import extract_from_read
    from extractors.reader import read_document
    from extractors.validate import validate
    read = read_document(data, options)
    validate(extract_from_read(read, options))
    return read.layout


def run_bench(*, realdocs: Path | None, quick: bool) -> dict:
    realdocs = realdocs or _default_realdocs()
    figures: dict = {}
    with Progress(console=Console(stderr=True), transient=True) as progress:
        if any((realdocs / f).is_dir() for f in _TEXT_FOLDERS):
            figures["text_layer"] = bench_text_layer(realdocs, rounds=3 if quick else 7, progress=progress)
            model = bench_model(realdocs, rounds=3 if quick else 7, progress=progress)
            if model is not None:
                figures["layout_model"] = model
        if (realdocs / "sroie").is_dir():
            figures["ocr"] = bench_ocr(realdocs, limit=8 if quick else None, progress=progress)
        figures["cn_scan"] = bench_cn_scan(count=2 if quick else 6, rounds=1 if quick else 3, progress=progress)
    _print(figures)
    return figures


def _print(figures: dict) -> None:
    table = Table("path", "ours ms/page", "bare ms/page", "ratio", "CER ours", "CER bare", "peak RSS MB",
                  show_edge=False)
    t = figures.get("text_layer")
    if t:
        table.add_row(f"text layer ({t['pages']} pages)", f"{t['ours_ms_per_page']:.2f}", f"{t['bare_ms_per_page']:.2f}",
                      f"{t['ratio']:.2f}x", "", "", f"{t['peak_rss_mb']:.0f}")
    o = figures.get("ocr")
    if o:
        table.add_row(f"OCR ({o['images']} receipts)", f"{o['ours_ms_per_page']:.0f}", f"{o['bare_ms_per_page']:.0f}",
                      f"{o['ratio']:.2f}x", f"{o['ours_cer']:.2%}", f"{o['bare_cer']:.2%}", f"{o['peak_rss_mb']:.0f}")
    c = figures.get("cn_scan")
    if c:
        table.add_row(f"OCR (Chinese A4 scan, {c['dpi']} dpi, {c['pages']} pages)",
                      f"{c['ours_s_per_page'] * 1000:.0f}", f"{c['bare_s_per_page'] * 1000:.0f}",
                      f"{c['ratio']:.2f}x", "", "", f"{c['peak_rss_mb']:.0f}")
    console.print(table)
    if c:
        console.print(f"Chinese A4 scan: {c['ours_s_per_page']:.2f} s per page (median) end to end vs "
                      f"{c['bare_s_per_page']:.2f} s bare rapidocr = {c['ratio']:.2f}x; "
                      f"header fields right {c['fields_right']}/{c['fields_total']}")
    m = figures.get("layout_model")
    if m:
        console.print(f"layout model: +{m['added_ms_per_page']:.2f} ms per page (median; p90 "
                      f"+{m['added_ms_per_page_p90']:.2f}) over the rules' {m['rules_ms_per_page']:.2f} ms, "
                      f"{m['documents']} text-layer documents; model file {m['model_mb']} MB")
    if t:
        folders = ", ".join(f"{k} {v:.2f}" for k, v in t["ours_ms_per_document_by_folder"].items())
        console.print(f"text layer: {t['ours_ms_per_document']:.2f} ms per document (median), end to end; "
                      f"by folder: {folders}")
