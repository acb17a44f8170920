"""The `inbound` command as a user runs it: contract JSON out, clear errors for bad input."""

from __future__ import annotations

import json

import jsonschema
import pytest

from tests.conftest import REALDOCS, ROOT, needs_realdocs, run_inbound

DEMO = ROOT / "fixtures" / "demo"


def test_extract_json_follows_the_contract(schema):
    result = run_inbound("extract", str(DEMO / "RE-2026-0412.pdf"), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    jsonschema.validate(data, schema)
    assert data["fields"]["document_number"]["value"] == "RE-2026-0412"
    assert data["fields"]["total_amount"]["value"] == "180.92"  # 167.40 net + 7 % and 19 % VAT
    total = data["fields"]["total_amount"]
    assert total["page"] == 1 and len(total["bbox"]) == 4 and 0 < total["confidence"] <= 1
    assert [li["supplier_sku"]["value"] for li in data["lines"]] == ["NF-1001", "NF-2040", "NF-9000"]


def test_extract_prints_a_readable_table():
    result = run_inbound("extract", str(DEMO / "INV-88213.pdf"))
    assert result.returncode == 0, result.stderr
    assert "INV-88213" in result.stdout and "document_number" in result.stdout


@needs_realdocs("zugferd_corpus")
def test_embedded_xml_is_used_unless_switched_off(schema):
    pdf = str(REALDOCS / "zugferd_corpus" / "FX_EN16931_Rabatte.pdf")
    embedded = json.loads(run_inbound("extract", pdf, "--json").stdout)
    layout = json.loads(run_inbound("extract", pdf, "--json", "--no-embedded").stdout)
    for data in (embedded, layout):
        jsonschema.validate(data, schema)
    assert embedded["reader"].endswith("xml") and embedded["fields"]["total_amount"]["confidence"] == 1.0
    assert "xml" not in layout["reader"]
    assert layout["fields"]["total_amount"]["value"] == embedded["fields"]["total_amount"]["value"] == "215.07"


@pytest.mark.parametrize("name, code", [
    ("empty.pdf", "empty_file"),
    ("truncated.pdf", "corrupt_file"),
    ("garbage.pdf", "corrupt_file"),
    ("lying-extension.pdf", "unsupported_type"),
    ("user-password.pdf", "encrypted_document"),
    ("2000-pages.pdf", "too_large"),
    ("xxe.xml", "unsafe_xml"),
    ("billion-laughs.xml", "unsafe_xml"),
    ("zip-bomb.ofd", "too_large"),
    ("pixel-bomb.png", "too_large"),
])
def test_bad_input_gives_one_clear_line_and_a_stable_code(bad_inputs, schema, name, code):
    result = run_inbound("extract", str(bad_inputs[name]), "--json", timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and code in result.stderr
    data = json.loads(result.stdout)
    jsonschema.validate(data, schema)
    assert data["issues"][0]["code"] == code and data["issues"][0]["severity"] == "error"


def test_owner_password_only_pdf_is_read(bad_inputs):
    result = run_inbound("extract", str(bad_inputs["owner-password-only.pdf"]), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["fields"]["document_number"]["value"] == "RE-2026-0412"


def test_time_limit_stops_a_slow_document(bad_inputs):
    # a scanned page takes seconds to OCR; a 0.05 s limit must stop it cleanly
    result = run_inbound("extract", str(DEMO / "RE-2026-0412-scan.jpg"), "--json", "--timeout-s", "0.05")
    assert result.returncode == 3 and "timeout" in result.stderr and "Traceback" not in result.stderr
    assert json.loads(result.stdout)["issues"][0]["code"] == "timeout"


def test_missing_file_is_an_error_not_a_traceback(tmp_path):
    result = run_inbound("extract", str(tmp_path / "nope.pdf"))
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_eval_prints_table_and_final_line(tmp_path):
    report = tmp_path / "report.json"
    result = run_inbound("eval", str(DEMO), "--json", str(report))
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("fields F1: ") and "lines F1: " in last
    data = json.loads(report.read_text())
    assert data["fields_f1"] >= 0.9 and "document_number" in data["fields"]


def test_a_file_is_read_by_what_it_is_not_by_its_name(bad_inputs):
    result = run_inbound("extract", str(bad_inputs["png-named.pdf"]), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert "ppocr" in data["reader"].lower() and data["fields"]["document_number"]["value"] == "RE-2026-0412"


def test_pdfs_read_from_several_threads_at_once_give_the_same_result():
    """PDFium is not thread-safe; the reader serialises it, so threads (the in-process pipeline with
    INBOUND_WORKERS > 1) read PDFs side by side without crashing or mixing pages up."""
    from concurrent.futures import ThreadPoolExecutor
    from extractors.extract import extract_document
    from extractors.options import ReadOptions
    def read(data: bytes) -> dict:
        out = extract_document(data, options=ReadOptions()).to_json()
        out.pop("timings_ms", None)
        return out
    files = [p.read_bytes() for p in sorted((ROOT / "fixtures" / "demo").glob("*.pdf"))]
    alone = [read(data) for data in files]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(read, files * 4))
    assert together == alone * 4
