"""`inbound serve` as a real process on loopback, the way the outside check starts it (INBOUND_HOME,
INBOUND_DEMO=0, INBOUND_BOOTSTRAP_API_KEY), and the demo start that the README's first command gives."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from contextlib import contextmanager

import httpx

from conftest import INBOUND, ROOT
from service_support import DEMO


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(env: dict, port: int):
    process = subprocess.Popen([INBOUND, "serve", "--host", "127.0.0.1", "--port", str(port)], cwd=ROOT,
                               env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
            assert process.poll() is None, process.stdout.read()
        yield process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_status(base: str, headers: dict, doc_id: int, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        doc = httpx.get(f"{base}/api/v1/documents/{doc_id}", headers=headers).json()
        if doc["status"] not in ("received", "processing"):
            return doc
        time.sleep(0.2)
    raise AssertionError(f"document {doc_id} still {doc['status']}")


def test_serve_as_the_outside_check_starts_it(tmp_path):
    port = free_port()
    env = {"INBOUND_HOME": str(tmp_path / "home"), "INBOUND_DEMO": "0", "INBOUND_BOOTSTRAP_API_KEY": "outside-check-key-0123456789"}
    with serve(env, port) as process:
        base, headers = f"http://127.0.0.1:{port}", {"Authorization": "Bearer outside-check-key-0123456789"}
        assert httpx.get(f"{base}/api/v1/documents", headers=headers).json() == {"items": [], "total": 0}
        data = (DEMO / "INV-88213.pdf").read_bytes()
        first = httpx.post(f"{base}/api/v1/documents", headers=headers, files={"file": ("INV-88213.pdf", data)})
        assert first.status_code == 202 and set(first.json()) == {"id", "status", "sha256"}
        again = httpx.post(f"{base}/api/v1/documents", headers=headers, files={"file": ("again.pdf", data)})
        assert again.status_code == 200 and again.json()["duplicate"] is True and again.json()["id"] == first.json()["id"]
        doc = wait_status(base, headers, first.json()["id"])
        assert doc["extraction"]["fields"]["document_number"]["value"] == "INV-88213"
        assert httpx.get(f"{base}/api/v1/documents/{doc['id']}/file", headers=headers).content == data
        assert "openapi" in httpx.get(f"{base}/openapi.json").json()
        assert httpx.get(f"{base}/", follow_redirects=True).status_code == 200
        assert "inbound_documents" in httpx.get(f"{base}/metrics").text
    assert (tmp_path / "home" / "inbound.db").exists()
    assert len(list((tmp_path / "home" / "blobs").rglob("*" * 1))) >= 1


def test_serve_with_the_demo(tmp_path):
    port = free_port()
    env = {"INBOUND_HOME": str(tmp_path / "var")}
    env.pop("INBOUND_DEMO", None)
    with serve({**env, "INBOUND_DEMO": "1"}, port) as process:
        base = f"http://127.0.0.1:{port}"
        key = (tmp_path / "var" / "demo-api-key").read_text().strip()
        headers = {"Authorization": f"Bearer {key}"}
        listed = httpx.get(f"{base}/api/v1/documents", headers=headers).json()
        assert listed["total"] == len([p for p in DEMO.iterdir() if p.suffix in (".pdf", ".jpg")])
        for item in listed["items"]:
            wait_status(base, headers, item["id"], timeout_s=120)
        assert httpx.get(f"{base}/api/v1/products", headers=headers).json()["total"] > 10
        login = httpx.post(f"{base}/api/v1/auth/login", json={"username": "demo", "password": "demo"})
        assert login.status_code == 200
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=30)[0]
    assert f"http://127.0.0.1:{port}" in output and "demo login: demo / demo" in output and key in output
