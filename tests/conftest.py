"""Shared test fixtures: where the real documents are, the contract schema, bad input files."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REALDOCS = ROOT.parent / "shared" / "realdocs"
SCHEMA_PATH = ROOT / "fixtures" / "contract" / "extraction.schema.json"
INBOUND = str(Path(sys.executable).parent / "inbound")


def needs_realdocs(folder: str = "") -> pytest.MarkDecorator:
    return pytest.mark.skipif(not (REALDOCS / folder).is_dir(), reason=f"../shared/realdocs/{folder} not present")


@pytest.fixture(scope="session")
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def run_inbound(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([INBOUND, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)


@pytest.fixture(scope="session")
def demo_pdf_bytes() -> bytes:
    from fixtures.synth import demo_invoices, invoice_pdf
    return invoice_pdf(demo_invoices()[0])


@pytest.fixture(scope="session")
def bad_inputs(tmp_path_factory, demo_pdf_bytes) -> dict[str, Path]:
    """One file per kind of bad input, made here so that none is committed by accident as a real one."""
    import pikepdf
    folder = tmp_path_factory.mktemp("bad")
    files: dict[str, Path] = {}

    def write(name: str, data: bytes) -> None:
        files[name] = folder / name
        files[name].write_bytes(data)

    write("empty.pdf", b"")
    write("truncated.pdf", demo_pdf_bytes[: len(demo_pdf_bytes) // 3])
    write("garbage.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 40)
    write("lying-extension.pdf", b"\x00\x01\x02binary stuff that is nothing\xff\xfe" * 20)
    with pikepdf.open(io.BytesIO(demo_pdf_bytes)) as pdf:
        out = io.BytesIO()
        pdf.save(out, encryption=pikepdf.Encryption(user="secret", owner="owner", R=6))
        write("user-password.pdf", out.getvalue())
        out = io.BytesIO()
        pdf.save(out, encryption=pikepdf.Encryption(user="", owner="owner", R=6))
        write("owner-password-only.pdf", out.getvalue())
        many = pikepdf.new()
        for _ in range(2000):
            many.pages.append(pdf.pages[0])
        out = io.BytesIO()
        many.save(out)
        write("2000-pages.pdf", out.getvalue())
    write("xxe.xml", b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                     b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><ID>&x;</ID></Invoice>')
    lol = b'<!ENTITY a0 "lol">' + b"".join(b'<!ENTITY a%d "&a%d;&a%d;&a%d;&a%d;&a%d;&a%d;&a%d;&a%d;&a%d;&a%d;">'
                                          % ((i,) + (i - 1,) * 10) for i in range(1, 10))
    write("billion-laughs.xml", b'<?xml version="1.0"?><!DOCTYPE r [' + lol + b']><r>&a9;</r>')
    write("zip-bomb.ofd", _zip_bomb())
    write("pixel-bomb.png", _pixel_bomb())
    # a JPEG named .pdf: must be read as the image it is, not rejected by its name
    write("png-named.pdf", (ROOT / "fixtures" / "demo" / "RE-2026-0412-scan.jpg").read_bytes())
    return files


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("OFD.xml", '<?xml version="1.0"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"/>')
        with zf.open("Doc_0/Pages/Page_0/Content.xml", "w", force_zip64=True) as member:
            chunk = b"\0" * (1 << 20)
            for _ in range(600):  # 600 MB of zeros, about 600 KB packed
                member.write(chunk)
    return out.getvalue()


def _pixel_bomb() -> bytes:
    from PIL import Image
    out = io.BytesIO()
    Image.new("1", (20000, 20000)).save(out, format="PNG")  # 400 megapixels, small on disk
    return out.getvalue()
