"""`inbound bench learning`: does the service learn from a reviewer's corrections?  The whole loop, through the
real REST API.

Suppliers (fixtures.learning): each one held-back layout family of the layout grammar, with a fixed identity
(name, tax id, address) and its own wording of what it sells (one of a near-duplicate pair in our master each:
青菜 / 有机青菜, Butter unsalted / Butter unsalted organic; printed with its own code, word order,
abbreviations and units such as 箱 or its own 件 with a factor).  The master (CSV through POST
/api/v1/master/import): both products of every pair with their one unit conversion, a few thousand distractor
products, the suppliers, and supplier-product rows for half of each supplier's items.  Default: 9 suppliers x
8 documents, a third of the suppliers sending JPEG scans; --quick: 3 x 4, text PDFs only.

A real `inbound serve` (embedded SQLite, in-process pipeline) on loopback.  The documents of all suppliers are
uploaded interleaved (the 1st of every supplier, then the 2nd, ...), one at a time; each is read to a final
status before the simulated reviewer handles it, so what document k taught applies to document k+1.  The
reviewer sees only the API's answers and the truth files:

- header: every field the truth has, compared typed (decimals as numbers, dates ISO, text with case and
  whitespace folded); each wrong or missing one is an edit, all sent in one PATCH {"fields": ...} (values only,
  as an integration would; `run(sources=True)` also sends where each value is printed, as a clerk's click on
  the page does: the truth's box on text PDFs, the read words' box on scans); a wrong supplier match is a
  supplier edit (PATCH supplier_id);
- lines (paired with the truth's by line_no, or by description where the counts differ): a wrong product
  (`product_match.id`) is an edit, as are wrong quantity or unit cells; then, with the products right, a wrong
  or unknown factor (`product_match.uom_factor`) is an edit; a truth line the reading missed counts as an edit
  (lines cannot be added through the API);
- then POST .../confirm (the bootstrap key is an admin's); a refusal is recorded with its reason.

Figures: edits per document by position in the supplier's sequence, header fields and lines apart; the share
of documents from the 3rd on without a header edit (text PDFs, scans); the drop of header edits from the 1st to
the 2nd document; line edits in the second half of each sequence against the first; product top-1 before the
reviewer (all lines, first documents); factors right where the product is; auto-accepted matches that were
right.  Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterator

import httpx
from rapidfuzz import fuzz
from rich.console import Console
from rich.table import Table

from matching import normalize_name
from pipeline.bench.evaluate import values_equal
from pipeline.bench.ledger import BenchUnavailable
from pipeline.bench.service import BENCH_RATES, free_port, say, stop, wait_until_up

ROOT = Path(__file__).resolve().parents[2]
INBOUND = str(Path(sys.executable).parent / "inbound")
FINAL = ("ready", "needs_review", "failed")
LINE_CELLS = ("quantity", "unit")          # the cells of a line the reviewer checks besides product and factor
console = Console()


@dataclass
class Outcome:
    """One document after the reviewer: what was wrong before (the edits), and what happened."""
    supplier: int
    position: int
    scan: bool
    name: str
    document_id: int
    status: str
    read_s: float
    header_edits: int = 0
    fields_wrong: list[str] = field(default_factory=list)
    supplier_edit: bool = False
    product_edits: int = 0
    cell_edits: int = 0
    factor_edits: int = 0
    missing_lines: int = 0
    spurious_lines: int = 0
    lines_paired: int = 0
    product_right: int = 0
    factor_right: int = 0             # of the lines whose product was right
    auto: int = 0
    auto_right: int = 0
    confirm: str = ""
    not_applied: list[str] = field(default_factory=list)
    lines: list[dict] = field(default_factory=list)     # per paired line: truth, what the matcher said

    @property
    def line_edits(self) -> int:
        return self.product_edits + self.cell_edits + self.factor_edits + self.missing_lines


def run_bench(*, quick: bool) -> dict:
    if quick:
        return run(suppliers=3, documents=4, scans=False)
    return run(suppliers=9, documents=8, scans=True)


def run(*, suppliers: int, documents: int, scans: bool | str = True, distractors: int = 3000, seed: int = 1,
        sources: bool = False) -> dict:
    """The bench (see the module docstring); `scans=False` sends every supplier's text PDFs, "all" only scans;
    `sources=True` also sends where the reviewer picked each value."""
    from fixtures.cjk_font import font_available
    from fixtures.learning import documents as make_documents
    from fixtures.learning import master_files, supplier_plans
    plans = supplier_plans(suppliers, seed=seed)
    if not scans or scans == "all":      # "all": every supplier sends scans (phone photos and copier JPEGs)
        plans = [replace(p, scans=scans == "all") for p in plans]
    if any(p.family.lang == "zh" for p in plans) and not font_available():
        raise BenchUnavailable("the Chinese suppliers' documents need fonts-wqy-microhei (bash scripts/fonts.sh)")
    started = time.perf_counter()
    say(f"making {suppliers} x {documents} documents ...")
    sequences = {p.number: make_documents(p, documents, seed=seed) for p in plans}
    outcomes: list[Outcome] = []
    with _service() as api:
        say(f"importing the master ({distractors} distractor products) ...")
        _import_master(api, master_files(plans, distractors=distractors, seed=seed))
        ids = _Ids(api)
        for k in range(documents):
            for plan in plans:
                doc = sequences[plan.number][k]
                outcome = _handle(api, ids, plan, doc, sources=sources)
                outcomes.append(outcome)
                say(f"  doc {k + 1}/{documents} {plan.label}{' scan' if doc.scan else ''}: {outcome.status}, "
                    f"{outcome.header_edits} header + {int(outcome.supplier_edit)} supplier, {outcome.line_edits} "
                    f"line edits; {outcome.confirm}")
    figures = summarise(outcomes, plans=plans, documents=documents)
    figures["seconds"] = round(time.perf_counter() - started, 1)
    figures["distractors"] = distractors
    _print(figures)
    return figures


# -- the service ------------------------------------------------------------------------------------------

@contextmanager
def _service() -> Iterator[httpx.Client]:
    key = "bench-" + uuid.uuid4().hex
    home = Path(tempfile.mkdtemp(prefix="inbound-bench-learning-"))
    port = free_port()
    env = {**os.environ, "INBOUND_HOME": str(home), "INBOUND_DEMO": "0", "INBOUND_BOOTSTRAP_API_KEY": key,
           "INBOUND_EXCHANGE_RATES": BENCH_RATES}
    for name in ("INBOUND_DATABASE_URL", "INBOUND_BROKER_URL"):
        env.pop(name, None)
    base = f"http://127.0.0.1:{port}"
    with open(home / "serve.log", "wb") as log:
        server = subprocess.Popen([INBOUND, "serve", "--port", str(port)], env=env, cwd=ROOT, stdout=log,
                                  stderr=subprocess.STDOUT)
        try:
            wait_until_up(base)
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=120) as api:
                yield api
        finally:
            stop(server)
    shutil.rmtree(home, ignore_errors=True)


def _import_master(api: httpx.Client, files: dict[str, tuple[str, bytes]]) -> None:
    for kind, (name, data) in files.items():
        answer = api.post("/api/v1/master/import", files={"file": (name, data, "text/csv")}, data={"kind": kind})
        if answer.status_code != 200 or not answer.json().get("ok"):
            raise BenchUnavailable(f"the {kind} master did not import: {answer.status_code} {answer.text[:300]}")


class _Ids:
    """Our record ids, as the API names them: products by SKU, suppliers by tax id (looked up once each)."""

    def __init__(self, api: httpx.Client) -> None:
        self.api, self.products, self.suppliers = api, {}, {}

    def product(self, sku: str) -> str:
        if sku not in self.products:
            items = self.api.get("/api/v1/products", params={"sku": sku}).json()["items"]
            if not items:
                raise BenchUnavailable(f"product {sku} is not in the master")
            self.products[sku] = str(items[0]["id"])
        return self.products[sku]

    def supplier(self, tax_id: str) -> str:
        if tax_id not in self.suppliers:
            items = self.api.get("/api/v1/suppliers", params={"tax_id": tax_id}).json()["items"]
            if not items:
                raise BenchUnavailable(f"supplier {tax_id} is not in the master")
            self.suppliers[tax_id] = str(items[0]["id"])
        return self.suppliers[tax_id]


def _upload_and_read(api: httpx.Client, doc, timeout_s: float = 600) -> tuple[dict, float]:
    started = time.perf_counter()
    answer = api.post("/api/v1/documents", files={"file": (doc.name, doc.data, doc.mime)})
    answer.raise_for_status()
    document_id = answer.json()["id"]
    deadline = time.monotonic() + timeout_s
    while True:
        view = api.get(f"/api/v1/documents/{document_id}").json()
        if view["status"] in FINAL:
            return view, time.perf_counter() - started
        if time.monotonic() > deadline:
            raise BenchUnavailable(f"{doc.name} was not read in {timeout_s:.0f} s (status {view['status']})")
        time.sleep(0.15)


# -- the reviewer -----------------------------------------------------------------------------------------

def _squeezed(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def same_value(name: str, truth: Any, predicted: Any) -> bool:
    """The reviewer's comparison: `inbound eval`'s (decimals as numbers, dates ISO, text case- and
    whitespace-folded), and text that differs only in spacing ('季华五路38号 021-...' vs '季华五路38号021-...')
    is the same text."""
    if predicted is None or predicted == "":
        return truth is None or truth == ""
    truth, predicted = str(truth), str(predicted)
    return values_equal(name, truth, predicted) or _squeezed(truth) == _squeezed(predicted)


def same_factor(truth: Decimal, shown: Any) -> bool:
    try:
        return shown is not None and Decimal(str(shown)) == truth
    except InvalidOperation:
        return False


def _value(obj: Any) -> Any:
    """A field's value in the contract's shape (a Field object or a bare value)."""
    return obj.get("value") if isinstance(obj, dict) else obj


def _header_fixes(truth: dict, extraction: dict) -> dict[str, str]:
    predicted = extraction.get("fields") or {}
    return {name: str(_value(t)) for name, t in (truth.get("fields") or {}).items()
            if _value(t) not in (None, "") and not same_value(name, _value(t), _value(predicted.get(name)))}


def _picked_box(pages: list[dict], raw: str) -> dict | None:
    """Where the read words spell `raw` (consecutive words, spaces ignored): what a reviewer clicks on a scan."""
    target = _squeezed(raw)
    if not target:
        return None
    for page in pages:
        words = page.get("words") or []
        for i in range(len(words)):
            text = ""
            for j in range(i, min(i + 12, len(words))):
                text += _squeezed(words[j]["text"])
                if text == target:
                    boxes = [w["bbox"] for w in words[i:j + 1]]
                    return {"page": page["number"], "bbox": [min(b[0] for b in boxes), min(b[1] for b in boxes),
                                                             max(b[2] for b in boxes), max(b[3] for b in boxes)]}
                if not target.startswith(text):
                    break
    return None


def _sources(api: httpx.Client, document_id: int, truth: dict, names: list[str], *, scan: bool) -> dict:
    out = {}
    pages = api.get(f"/api/v1/documents/{document_id}/words").json().get("pages", []) if scan and names else []
    for name in names:
        t = truth["fields"][name]
        if not isinstance(t, dict) or "bbox" not in t:
            continue
        picked = _picked_box(pages, t.get("raw") or str(t["value"])) if scan else \
            {"page": t["page"], "bbox": t["bbox"]}
        if picked is not None:
            out[f"fields.{name}"] = picked
    return out


def _description(line: dict) -> str:
    return normalize_name(str(_value(line.get("description")) or ""))


def align(truth_lines: list[dict], read_lines: list[dict]) -> list[tuple[dict, dict]]:
    """(truth line, read line) pairs: by line_no order where the counts agree, else the best description
    overlaps first (one to one, at least half the words alike)."""
    if len(truth_lines) == len(read_lines):
        by_no = sorted(truth_lines, key=lambda t: t["line_no"]), sorted(read_lines, key=lambda r: r["line_no"])
        return list(zip(*by_no))
    scored = sorted(((fuzz.token_set_ratio(_description(t), _description(r)), i, j)
                     for i, t in enumerate(truth_lines) for j, r in enumerate(read_lines)), reverse=True)
    used_t, used_r, pairs = set(), set(), []
    for score, i, j in scored:
        if score >= 50 and i not in used_t and j not in used_r:
            used_t.add(i)
            used_r.add(j)
            pairs.append((truth_lines[i], read_lines[j]))
    return sorted(pairs, key=lambda p: p[0]["line_no"])


def _line_fixes(pairs: list[tuple[dict, dict]], truth_by_no: dict, ids: _Ids, out: Outcome) -> list[dict]:
    """The first pass over the lines: products and cells (the factor is judged once the products are right)."""
    fixes = []
    for t, r in pairs:
        right = ids.product(truth_by_no[t["line_no"]].sku)
        match = r.get("product_match") or {}
        fix: dict[str, Any] = {"line_no": r["line_no"]}
        out.lines_paired += 1
        if str(match.get("id")) == right:
            out.product_right += 1
            out.factor_right += same_factor(truth_by_no[t["line_no"]].factor, match.get("uom_factor"))
        else:
            fix["product_id"] = int(right)
            out.product_edits += 1
        if match.get("auto_accepted"):
            out.auto += 1
            out.auto_right += str(match.get("id")) == right
        out.lines.append({"line_no": t["line_no"], "sku": truth_by_no[t["line_no"]].sku,
                          "factor": format(truth_by_no[t["line_no"]].factor, "f"),
                          "printed": str(_value(r.get("description")) or ""), "unit": str(_value(r.get("unit")) or ""),
                          "right": str(match.get("id")) == right, "method": match.get("method"),
                          "score": match.get("score"), "auto": bool(match.get("auto_accepted")),
                          "uom_factor": match.get("uom_factor")})
        for cell in LINE_CELLS:
            wanted = _value(t.get(cell))
            if wanted not in (None, "") and not same_value(cell, wanted, _value(r.get(cell))):
                fix[cell] = str(wanted)
                out.cell_edits += 1
        if len(fix) > 1:
            fixes.append(fix)
    return fixes


def _factor_fixes(view: dict, pairs: list[tuple[dict, dict]], truth_by_no: dict) -> list[dict]:
    """The second pass: with the products right, each line whose factor is wrong or not known."""
    now = {line["line_no"]: line for line in (view.get("extraction") or {}).get("lines") or ()}
    fixes = []
    for t, r in pairs:
        shown = (now.get(r["line_no"], {}).get("product_match") or {}).get("uom_factor")
        wanted = truth_by_no[t["line_no"]].factor
        if not same_factor(wanted, shown):
            fixes.append({"line_no": r["line_no"], "uom_factor": format(wanted, "f")})
    return fixes


def _patch(api: httpx.Client, document_id: int, body: dict, out: Outcome) -> dict | None:
    answer = api.patch(f"/api/v1/documents/{document_id}", json=body)
    if answer.status_code != 200:
        out.not_applied.append(f"PATCH {answer.status_code}: {_reason(answer)}")
        return None
    return answer.json()


def _reason(answer: httpx.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        return answer.text[:200]
    return str(body.get("detail") or body.get("title") or body)[:200]


def _handle(api: httpx.Client, ids: _Ids, plan, doc, *, sources: bool) -> Outcome:
    view, read_s = _upload_and_read(api, doc)
    out = Outcome(plan.number, doc.position, doc.scan, doc.name, view["id"], view["status"], round(read_s, 2))
    truth = doc.truth
    truth_by_no = {lt.line_no: lt for lt in doc.lines}
    extraction = view.get("extraction") or {}
    if view["status"] == "failed" or not extraction:
        out.fields_wrong = [n for n, t in truth["fields"].items() if _value(t) not in (None, "")]
        out.header_edits, out.missing_lines = len(out.fields_wrong), len(truth["lines"])
        errors = [r["error"] for r in view.get("runs") or () if r.get("error")]
        out.supplier_edit = True
        out.confirm = f"not read: {(errors[-1] if errors else view.get('failure_reason')) or view['status']}"
        return out
    fields = _header_fixes(truth, extraction)
    out.fields_wrong, out.header_edits = sorted(fields), len(fields)
    supplier_id = ids.supplier(plan.party.tax_id)
    out.supplier_edit = str((extraction.get("supplier_match") or {}).get("id")) != supplier_id
    pairs = align(truth["lines"], extraction.get("lines") or [])
    out.missing_lines = len(truth["lines"]) - len(pairs)
    out.spurious_lines = len(extraction.get("lines") or []) - len(pairs)
    body: dict[str, Any] = {}
    if fields:
        body["fields"] = fields
        if sources:
            body["sources"] = _sources(api, view["id"], truth, sorted(fields), scan=doc.scan)
    if out.supplier_edit:
        body["supplier_id"] = int(supplier_id)
    lines = _line_fixes(pairs, truth_by_no, ids, out)
    if lines:
        body["lines"] = lines
    after = _patch(api, view["id"], body, out) if body else view
    factors = _factor_fixes(after, pairs, truth_by_no) if after is not None else []
    out.factor_edits = len(factors)
    if factors:
        _patch(api, view["id"], {"lines": factors}, out)
    _check_applied(api.get(f"/api/v1/documents/{view['id']}").json(), fields, supplier_id, pairs, truth_by_no, ids,
                   out)
    out.confirm = _confirm(api, view["id"])
    return out


def _check_applied(view: dict, fields: dict, supplier_id: str, pairs, truth_by_no: dict, ids: _Ids,
                   out: Outcome) -> None:
    """After the PATCHes, GET must show every corrected value (else it is listed in `not_applied`)."""
    extraction = view.get("extraction") or {}
    shown = extraction.get("fields") or {}
    out.not_applied += [f"fields.{n}" for n, v in fields.items() if not same_value(n, v, _value(shown.get(n)))]
    if str((extraction.get("supplier_match") or {}).get("id")) != supplier_id:
        out.not_applied.append("supplier_id")
    now = {line["line_no"]: line for line in extraction.get("lines") or ()}
    for t, r in pairs:
        line = now.get(r["line_no"], {})
        match, lt = line.get("product_match") or {}, truth_by_no[t["line_no"]]
        if str(match.get("id")) != ids.product(lt.sku):
            out.not_applied.append(f"lines.{r['line_no']}.product_id")
        if not same_factor(lt.factor, match.get("uom_factor")):
            out.not_applied.append(f"lines.{r['line_no']}.uom_factor")
        for cell in LINE_CELLS:
            wanted = _value(t.get(cell))
            if wanted not in (None, "") and not same_value(cell, wanted, _value(line.get(cell))):
                out.not_applied.append(f"lines.{r['line_no']}.{cell}")


def _confirm(api: httpx.Client, document_id: int) -> str:
    answer = api.post(f"/api/v1/documents/{document_id}/confirm")
    if answer.status_code == 200:
        return answer.json().get("status", "posted")
    return f"refused {answer.status_code}: {_reason(answer)}"


# -- the figures ------------------------------------------------------------------------------------------

def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _drop(before: int, after: int) -> float | None:
    """Percent fewer after than before (negative: more)."""
    return round(100 * (before - after) / before, 1) if before else None


def summarise(outcomes: list[Outcome], *, plans, documents: int) -> dict:
    by_position = [[o for o in outcomes if o.position == k] for k in range(1, documents + 1)]
    header = [sum(o.header_edits for o in docs) for docs in by_position]
    lines = [sum(o.line_edits for o in docs) for docs in by_position]
    later = [o for o in outcomes if o.position >= 3]
    half = documents // 2
    paired = sum(o.lines_paired for o in outcomes)
    first_docs = by_position[0]
    right = sum(o.product_right for o in outcomes)
    statuses: dict[str, int] = {}
    for o in outcomes:
        statuses[o.status] = statuses.get(o.status, 0) + 1
    return {
        "suppliers": len(plans), "documents_each": documents, "documents": len(outcomes),
        "scan_suppliers": sum(p.scans for p in plans),
        "families": [{"supplier": p.number + 1, "family": p.family.id, "kind": p.family.kind,
                      "lang": p.family.lang, "scans": p.scans, "name": p.party.name} for p in plans],
        "statuses": statuses, "all_final": all(o.status in FINAL for o in outcomes),
        "header_edits_by_position": header, "line_edits_by_position": lines,
        "supplier_edits_by_position": [sum(o.supplier_edit for o in docs) for docs in by_position],
        "header_edits_by_position_text": [sum(o.header_edits for o in docs if not o.scan) for docs in by_position],
        "header_edits_by_position_scan": [sum(o.header_edits for o in docs if o.scan) for docs in by_position],
        "product_top1_by_position": [_share(sum(o.product_right for o in d), sum(o.lines_paired for o in d))
                                     for d in by_position],
        "auto_accepted_by_position": [_share(sum(o.auto for o in d), sum(o.lines_paired for o in d))
                                      for d in by_position],
        "no_header_edit_from_3rd_text": _share(sum(o.header_edits == 0 for o in later if not o.scan),
                                               sum(not o.scan for o in later)),
        "no_header_edit_from_3rd_scan": _share(sum(o.header_edits == 0 for o in later if o.scan),
                                               sum(o.scan for o in later)),
        "header_drop_1st_to_2nd_pct": _drop(header[0], header[1]) if documents > 1 else None,
        "line_edits_first_half": sum(lines[:half]), "line_edits_second_half": sum(lines[half:]),
        "line_edit_drop_pct": _drop(sum(lines[:half]), sum(lines[half:])) if half else None,
        "lines_paired": paired, "lines_missing": sum(o.missing_lines for o in outcomes),
        "lines_spurious": sum(o.spurious_lines for o in outcomes),
        "product_top1": _share(right, paired),
        "product_top1_first_document": _share(sum(o.product_right for o in first_docs),
                                              sum(o.lines_paired for o in first_docs)),
        "factor_right": _share(sum(o.factor_right for o in outcomes), right),
        "auto_accepted": sum(o.auto for o in outcomes),
        "auto_accepted_right": _share(sum(o.auto_right for o in outcomes), sum(o.auto for o in outcomes)),
        "confirmed": sum(not o.confirm.startswith(("refused", "not read")) for o in outcomes),
        "confirm_refused": [{"document": o.name, "reason": o.confirm} for o in outcomes
                            if o.confirm.startswith(("refused", "not read"))],
        "edits_not_applied": [{"document": o.name, "not_applied": o.not_applied} for o in outcomes if o.not_applied],
        "read_s_median": round(statistics.median(o.read_s for o in outcomes), 2) if outcomes else None,
        "fields_wrong": _field_counts(outcomes),
        "outcomes": [{**asdict(o), "line_edits": o.line_edits} for o in outcomes],
    }


def _field_counts(outcomes: list[Outcome]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for o in outcomes:
        for name in o.fields_wrong:
            counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _print(f: dict) -> None:
    n = f["suppliers"]
    table = Table("doc", "header edits", "text/scan", "supplier", "line edits", "top-1", "auto", show_edge=False,
                  title=f"learning: {n} suppliers x {f['documents_each']} documents ({f['scan_suppliers']} scanning), "
                        f"{f['distractors']} distractors; edits summed over suppliers (per document)")
    for k in range(f["documents_each"]):
        h, ln = f["header_edits_by_position"][k], f["line_edits_by_position"][k]
        table.add_row(f"{k + 1}", f"{h} ({h / n:.1f})",
                      f"{f['header_edits_by_position_text'][k]}/{f['header_edits_by_position_scan'][k]}",
                      str(f["supplier_edits_by_position"][k]), f"{ln} ({ln / n:.1f})",
                      _pct(f["product_top1_by_position"][k]), _pct(f["auto_accepted_by_position"][k]))
    console.print(table)
    drop, line_drop = f["header_drop_1st_to_2nd_pct"], f["line_edit_drop_pct"]
    rows = [
        ("no header edit from doc 3: text/scans",
         f"{_pct(f['no_header_edit_from_3rd_text'])} / {_pct(f['no_header_edit_from_3rd_scan'])}"),
        ("header edits, doc 1 -> doc 2", "n/a" if drop is None else f"{drop:+.1f} % fewer"),
        ("line edits, 1st -> 2nd half", f"{f['line_edits_first_half']} -> {f['line_edits_second_half']} "
                                        f"({'n/a' if line_drop is None else f'{line_drop:+.1f} % fewer'})"),
        ("product top-1: all / doc 1", f"{_pct(f['product_top1'])} / {_pct(f['product_top1_first_document'])}"),
        ("lines paired / missed / spurious", f"{f['lines_paired']} / {f['lines_missing']} / {f['lines_spurious']}"),
        ("factor right (product right)", _pct(f["factor_right"])),
        ("auto-accepted right", f"{_pct(f['auto_accepted_right'])} of {f['auto_accepted']}"),
        ("confirmed / refused", f"{f['confirmed']} / {len(f['confirm_refused'])}"),
        ("read as", ", ".join(f"{k} {v}" for k, v in sorted(f["statuses"].items()))),
        ("edits not applied", str(sum(len(d["not_applied"]) for d in f["edits_not_applied"]))),
        ("fields most often wrong", ", ".join(f"{k} {v}" for k, v in list(f["fields_wrong"].items())[:5]) or "-"),
        ("read median / run", f"{f['read_s_median']} s / {f['seconds']} s"),
    ]
    summary = Table(show_header=False, show_edge=False, box=None)
    for label, value in rows:
        summary.add_row(label, value)
    console.print(summary)
    for refused in f["confirm_refused"][:5]:
        console.print(f"  confirm {refused['document']}: {refused['reason']}")
