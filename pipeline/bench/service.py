"""`inbound bench service`: the whole service under load, on PostgreSQL + Redis with 2 worker processes.

(a) throughput: 500 mixed documents (--quick: 40) — text-layer invoices (en/de), Chinese VAT invoices and 送货单,
    and scans (JPEG, OCR) — uploaded through the API by 8 concurrent clients as fast as it accepts them, read by
    one `inbound worker --concurrency 2`; documents per minute (first upload to last draft), p50/p99 from upload
    to draft (the run's queued -> finished times, stored by the service), and the proof: every document reached
    a final status, each has exactly one run claimed once (none lost, none processed twice).
(b) API latency: 50 concurrent clients on GET /api/v1/documents/{id}, 20 requests each (--quick: 5); p50/p99.

The API is a real `inbound serve` process on loopback; the database a fresh one on the PostgreSQL server of
INBOUND_BENCH_DATABASE_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test), dropped at the end; the
broker INBOUND_BENCH_BROKER_URL (default redis://127.0.0.1:6379/6) with a queue of its own.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx

from pipeline.bench.ledger import BenchUnavailable, run_admin_sql, bench_database_url

ROOT = Path(__file__).resolve().parents[2]
INBOUND = str(Path(sys.executable).parent / "inbound")
KEY = "bench-" + uuid.uuid4().hex
FINAL = ("needs_review", "ready", "failed")
# standing exchange rates for the services the benches start: their invoices are not in the base currency (CNY)
BENCH_RATES = "GBP=9.2; EUR=7.8; USD=7.1"


def corpus(count: int, seed: int = 11) -> list[tuple[str, bytes]]:
    """`count` distinct documents: 50 % western text PDFs, 20 % Chinese VAT invoices, 20 % 送货单, 10 % scans."""
    from fixtures.synth import demo_invoices, invoice_pdf, scanned
    from fixtures.synth_cn import delivery_note_pdf, font_available, random_delivery_note, random_vat_invoice, \
        vat_invoice_pdf
    rng = random.Random(seed)
    bases = demo_invoices()
    chinese = font_available()
    docs = []
    for n in range(count):
        slot = n % 10
        if slot in (0, 1, 2, 3, 4) or (not chinese and slot in (5, 6, 7, 8)):
            inv = replace(bases[n % 2], number=f"{bases[n % 2].number}-{n}", issued=date(2026, 1, 1) + timedelta(n % 300))
            docs.append((f"{inv.number}.pdf", invoice_pdf(inv)))
        elif slot in (5, 6):
            docs.append((f"vat-{n}.pdf", vat_invoice_pdf(random_vat_invoice(rng))))
        elif slot in (7, 8):
            docs.append((f"dn-{n}.pdf", delivery_note_pdf(random_delivery_note(rng))))
        else:
            inv = replace(bases[n % 2], number=f"SCAN-{n}")
            docs.append((f"scan-{n}.jpg", scanned(invoice_pdf(inv), seed=n)))
    return docs


def run_bench(*, quick: bool) -> dict:
    count, requests_each = (40, 5) if quick else (500, 20)
    return run(count=count, requests_each=requests_each)


def fresh_database(kind: str) -> tuple[str, str, str]:
    """(admin URL, name, URL) of a new, empty database for one bench run on INBOUND_BENCH_DATABASE_URL's server
    (the service migrates it at start); BenchUnavailable without PostgreSQL."""
    server = bench_database_url()
    name = f"inbound_bench_{kind}_{uuid.uuid4().hex[:8]}"
    try:
        run_admin_sql(server, f'CREATE DATABASE "{name}"')
    except Exception as exc:
        raise BenchUnavailable(f"PostgreSQL is needed for this bench: {str(exc).splitlines()[0]}") from exc
    from sqlalchemy.engine import make_url
    return server, name, make_url(server).set(database=name).render_as_string(hide_password=False)


def run(*, count: int, requests_each: int) -> dict:
    broker = os.environ.get("INBOUND_BENCH_BROKER_URL", "redis://127.0.0.1:6379/6")
    server, name, db_url = fresh_database("service")
    home = Path(tempfile.mkdtemp(prefix="inbound-bench-"))
    port = free_port()
    env = {**os.environ, "INBOUND_HOME": str(home), "INBOUND_DATABASE_URL": db_url, "INBOUND_BROKER_URL": broker,
           "INBOUND_QUEUE": f"bench-{uuid.uuid4().hex[:8]}", "INBOUND_DEMO": "0", "INBOUND_BOOTSTRAP_API_KEY": KEY}
    say(f"making {count} documents ...")
    docs = corpus(count)
    api = worker = None
    try:
        api = subprocess.Popen([INBOUND, "serve", "--port", str(port)], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base)
        worker = subprocess.Popen([INBOUND, "worker", "--concurrency", "2", "--loglevel", "WARNING"], env=env,
                                  cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import_master(base)
        figures = {"documents": count, "database": "postgresql", "broker": broker.split(":")[0], "workers": 2}
        figures.update(_throughput(base, docs))
        figures.update(asyncio.run(_latency(base, figures.pop("ids"), clients=50, each=requests_each)))
    finally:
        for process in (worker, api):
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
        run_admin_sql(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _print(figures)
    return figures


def _throughput(base: str, docs: list[tuple[str, bytes]]) -> dict:
    headers = {"Authorization": f"Bearer {KEY}"}

    def send(doc: tuple[str, bytes]) -> int:
        with httpx.Client(timeout=60) as client:
            answer = client.post(f"{base}/api/v1/documents", headers=headers, files={"file": doc})
            answer.raise_for_status()
            return answer.json()["id"]

    say(f"uploading {len(docs)} documents, 8 clients ...")
    start = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(send, docs))
    upload_s = time.perf_counter() - start
    say(f"uploaded in {upload_s:.1f} s; waiting for the workers ...")
    deadline = time.monotonic() + 3600
    with httpx.Client(timeout=60, headers=headers) as client:
        while time.monotonic() < deadline:
            waiting = sum(client.get(f"{base}/api/v1/documents", params={"status": s, "limit": 1}).json()["total"]
                          for s in ("received", "processing"))
            if waiting == 0:
                break
            time.sleep(1)
        views = [client.get(f"{base}/api/v1/documents/{i}").json() for i in ids]
    runs = [v["runs"] for v in views]
    finals = [v["status"] in FINAL for v in views]
    once = [len(r) == 1 and r[0]["attempts"] == 1 and r[0]["status"] in ("done", "failed") for r in runs]
    queued = [datetime.fromisoformat(r[0]["queued_at"]) for r in runs]
    finished = [datetime.fromisoformat(r[0]["finished_at"]) for r in runs if r[0]["finished_at"]]
    latencies = sorted((datetime.fromisoformat(r[0]["finished_at"]) - datetime.fromisoformat(r[0]["queued_at"]))
                       .total_seconds() for r in runs if r[0]["finished_at"])
    span_s = (max(finished) - min(queued)).total_seconds() if finished else float("nan")
    statuses: dict[str, int] = {}
    for v in views:
        statuses[v["status"]] = statuses.get(v["status"], 0) + 1
    return {"ids": ids, "upload_s": round(upload_s, 2), "uploads_per_s": round(len(docs) / upload_s, 1),
            "span_s": round(span_s, 1), "documents_per_minute": round(len(docs) / span_s * 60, 1),
            "upload_to_draft_p50_s": round(quantile(latencies, 0.5), 2),
            "upload_to_draft_p99_s": round(quantile(latencies, 0.99), 2),
            "statuses": statuses, "all_final": all(finals), "distinct_documents": len(set(ids)),
            "each_processed_once": all(once)}


async def _latency(base: str, ids: list[int], *, clients: int, each: int) -> dict:
    headers = {"Authorization": f"Bearer {KEY}"}
    samples: list[float] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client_loop(n: int, client: httpx.AsyncClient) -> None:
        for k in range(each):
            doc_id = ids[(n * each + k) % len(ids)]
            start = time.perf_counter()
            answer = await client.get(f"{base}/api/v1/documents/{doc_id}", headers=headers)
            samples.append(time.perf_counter() - start)
            answer.raise_for_status()

    say(f"API latency: {clients} clients x {each} GET /api/v1/documents/{{id}} ...")
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        start = time.perf_counter()
        await asyncio.gather(*(client_loop(n, client) for n in range(clients)))
        wall = time.perf_counter() - start
    samples.sort()
    return {"get_clients": clients, "get_requests": len(samples), "get_p50_ms": round(quantile(samples, 0.5) * 1000, 1),
            "get_p99_ms": round(quantile(samples, 0.99) * 1000, 1), "get_per_s": round(len(samples) / wall, 1)}


def import_master(base: str, key: str = KEY) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    for folder in ("electronics", "food"):
        for kind in ("suppliers", "products", "supplier_products", "purchase_orders"):
            path = ROOT / "fixtures" / "master" / folder / f"{kind}.csv"
            httpx.post(f"{base}/api/v1/master/import", headers=headers, data={"kind": kind},
                       files={"file": (path.name, path.read_bytes())}, timeout=60).raise_for_status()


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[max(0, min(98, round(q * 100) - 1))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(server: subprocess.Popen) -> None:
    """End a server process: terminate, then kill after 30 s."""
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def wait_until_up(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise BenchUnavailable("inbound serve did not come up in 60 s")


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _print(f: dict) -> None:
    print(f"service bench: {f['documents']} documents, PostgreSQL + {f['broker']}, {f['workers']} worker processes")
    print(f"  uploads:     {f['uploads_per_s']} /s accepted ({f['upload_s']} s for all)")
    print(f"  throughput:  {f['documents_per_minute']} documents/min over {f['span_s']} s")
    print(f"  upload->draft p50 {f['upload_to_draft_p50_s']} s  p99 {f['upload_to_draft_p99_s']} s")
    print(f"  final:       {f['statuses']}  all final: {f['all_final']}  processed once: {f['each_processed_once']}")
    print(f"  GET /api/v1/documents/{{id}}, {f['get_clients']} clients: p50 {f['get_p50_ms']} ms  "
          f"p99 {f['get_p99_ms']} ms  ({f['get_per_s']} req/s)")
