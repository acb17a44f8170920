"""`inbound bench load`: the service under a working day's load on loopback, while a reviewer confirms (issue 18).

A real `inbound serve` (API + the SMTP drop box on 127.0.0.1) and one `inbound worker --concurrency 2` on
PostgreSQL + Redis, as `inbound bench service` runs them.  At once:
- 1,000 documents (--quick: 100) uploaded through the API, paced at 20 a second;
- 200 e-mails (--quick: 20) with one document each sent to the SMTP drop box, each from its own sender;
- a reviewer confirming every document that comes back `ready` (POST .../confirm with an Idempotency-Key).
Then the proof: every document reached a final status, each was read exactly once (one run, one attempt), every
posted document was posted by the reviewer's confirm with one stock move per line, and confirming it once more
answers with that same posting and creates none (posted exactly once), none lost (every upload answered and every
e-mail became a document).  Reported: p50/p99 from upload to draft (the run's queued ->
finished times the service stores), documents per minute, API p99 of the uploads and of the reviewer's calls, and
the worker's resident memory (the worker and its children, sampled each second from /proc), peak and last.

Traffic goes to 127.0.0.1 only.  PostgreSQL: INBOUND_BENCH_DATABASE_URL (a fresh database, dropped at the end);
broker INBOUND_BENCH_BROKER_URL (default redis://127.0.0.1:6379/6, a queue of its own).
"""

from __future__ import annotations

import os
import smtplib
import subprocess
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

import httpx

from pipeline.bench.ledger import BenchUnavailable, run_admin_sql
from pipeline.bench.service import (BENCH_RATES, FINAL, INBOUND, ROOT, corpus, free_port, fresh_database,
                                    import_master, quantile, say, stop, wait_until_up)

KEY = "bench-load-" + uuid.uuid4().hex


def run_bench(*, quick: bool) -> dict:
    return run(uploads=100 if quick else 1000, emails=20 if quick else 200, rate_per_s=20.0)


def run(*, uploads: int, emails: int, rate_per_s: float = 20.0, timeout_s: float = 3600) -> dict:
    broker = os.environ.get("INBOUND_BENCH_BROKER_URL", "redis://127.0.0.1:6379/6")
    server, name, db_url = fresh_database("load")
    home = Path(tempfile.mkdtemp(prefix="inbound-bench-load-"))
    port, smtp_port = free_port(), free_port()
    env = {**os.environ, "INBOUND_HOME": str(home), "INBOUND_DATABASE_URL": db_url, "INBOUND_BROKER_URL": broker,
           "INBOUND_QUEUE": f"load-{uuid.uuid4().hex[:8]}", "INBOUND_DEMO": "0", "INBOUND_BOOTSTRAP_API_KEY": KEY,
           "INBOUND_SMTP_PORT": str(smtp_port), "INBOUND_EXCHANGE_RATES": BENCH_RATES}
    say(f"making {uploads + emails} documents ...")
    docs = corpus(uploads + emails, seed=23)
    api = worker = None
    try:
        api = subprocess.Popen([INBOUND, "serve", "--port", str(port)], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base)
        worker = subprocess.Popen([INBOUND, "worker", "--concurrency", "2", "--loglevel", "WARNING"], env=env,
                                  cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import_master(base, KEY)
        figures = _load(base, smtp_port, docs[:uploads], docs[uploads:], worker.pid, rate_per_s, timeout_s)
        figures.update(uploads=uploads, emails=emails, rate_per_s=rate_per_s, database="postgresql",
                       broker=broker.split(":")[0])
    finally:
        for process in (worker, api):
            if process is not None:
                stop(process)
        run_admin_sql(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _print(figures)
    if not figures["ok"]:
        raise BenchUnavailable(f"load bench: {figures['problems'][:5]}")
    return figures


def _load(base: str, smtp_port: int, uploaded: list, mailed: list, worker_pid: int, rate_per_s: float,
          timeout_s: float) -> dict:
    headers = {"Authorization": f"Bearer {KEY}"}
    upload_ms: list[float] = []
    review_ms: list[float] = []
    ids: list[int] = []
    problems: list[str] = []
    done = threading.Event()
    memory = _MemorySampler(worker_pid)
    memory.start()

    def send(doc: tuple[str, bytes]) -> None:
        with httpx.Client(timeout=120) as client:
            started = time.perf_counter()
            answer = client.post(f"{base}/api/v1/documents", headers=headers, files={"file": doc})
            upload_ms.append((time.perf_counter() - started) * 1000)
            if answer.status_code not in (200, 202):
                problems.append(f"upload {doc[0]}: {answer.status_code} {answer.text[:120]}")
                return
            ids.append(answer.json()["id"])

    def mail(n: int, doc: tuple[str, bytes]) -> None:
        message = EmailMessage()
        message["From"], message["To"] = f"supplier{n}@example.com", "receiving@inbound.test"
        message["Subject"] = f"Delivery {n}"
        message.set_content("Please find our document attached.")
        message.add_attachment(doc[1], maintype="application", subtype="octet-stream", filename=doc[0])
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=60) as smtp:
            smtp.send_message(message)

    confirmed: dict[int, tuple[int, int]] = {}           # document -> (posting id, stock moves) as confirmed

    def reviewer() -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
            while not done.is_set():
                started = time.perf_counter()
                page = client.get("/api/v1/documents", params={"status": "ready", "limit": 50})
                review_ms.append((time.perf_counter() - started) * 1000)
                for item in page.json().get("items", []):
                    if item["id"] in confirmed:
                        continue
                    started = time.perf_counter()
                    answer = client.post(f"/api/v1/documents/{item['id']}/confirm",
                                         headers={"Idempotency-Key": f"load-{item['id']}"})
                    review_ms.append((time.perf_counter() - started) * 1000)
                    if answer.status_code in (200, 201):
                        confirmed[item["id"]] = (answer.json()["posting_id"], answer.json()["moves"])
                time.sleep(0.5)

    say(f"uploading {len(uploaded)} documents at {rate_per_s}/s, mailing {len(mailed)}, a reviewer confirming ...")
    review = threading.Thread(target=reviewer, daemon=True)
    review.start()
    start = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        mails = [pool.submit(mail, n, doc) for n, doc in enumerate(mailed)]
        sends = []
        for n, doc in enumerate(uploaded):
            delay = start + n / rate_per_s - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            sends.append(pool.submit(send, doc))
        for future in [*sends, *mails]:
            try:
                future.result()
            except Exception as exc:          # a refused connection or a protocol error is a finding, not a crash
                problems.append(f"sending: {exc!r}")
    say(f"sent in {time.perf_counter() - start:.1f} s; waiting for every document to be read ...")
    expected = len(uploaded) + len(mailed)
    deadline = time.monotonic() + timeout_s
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        while time.monotonic() < deadline:
            total = client.get("/api/v1/documents", params={"limit": 1}).json()["total"]
            waiting = sum(client.get("/api/v1/documents", params={"status": s, "limit": 1}).json()["total"]
                          for s in ("received", "processing"))
            if total >= expected and waiting == 0:
                break
            time.sleep(1)
        time.sleep(3)                          # the reviewer's last round
        done.set()
        review.join(timeout=60)
        memory.stop()
        listed = _all(client, "/api/v1/documents")
        views = [client.get(f"/api/v1/documents/{d['id']}").json() for d in listed]
        again = {}                             # each posted document confirmed once more: the same posting, no new one
        for doc_id, (posting, _) in confirmed.items():
            answer = client.post(f"/api/v1/documents/{doc_id}/confirm", headers={"Idempotency-Key": f"load-{doc_id}"})
            again[doc_id] = (answer.json().get("posting_id"), answer.json().get("created"))
            if again[doc_id] != (posting, False):
                problems.append(f"document {doc_id}: confirmed again gave {again[doc_id]}, not posting {posting}")
    return _verdict(views, confirmed, expected, problems, upload_ms, review_ms, memory, start)


def _all(client: httpx.Client, path: str) -> list[dict]:
    """Every item of a listed collection, page by page."""
    out, offset = [], 0
    while True:
        page = client.get(path, params={"limit": 200, "offset": offset}).json()
        out += page["items"]
        offset += len(page["items"])
        if not page["items"] or offset >= page["total"]:
            return out


def _verdict(views, confirmed, expected, problems, upload_ms, review_ms, memory, start) -> dict:
    statuses: dict[str, int] = {}
    latencies, queued, finished = [], [], []
    for view in views:
        statuses[view["status"]] = statuses.get(view["status"], 0) + 1
        runs = view.get("runs") or []
        if view["status"] not in (*FINAL, "posted", "confirmed"):
            problems.append(f"document {view['id']} ended {view['status']}")
        if len(runs) != 1 or runs[0]["attempts"] != 1:
            problems.append(f"document {view['id']}: {len(runs)} runs, attempts {[r['attempts'] for r in runs]}")
        for run in runs[:1]:
            if run.get("finished_at"):
                q, f = datetime.fromisoformat(run["queued_at"]), datetime.fromisoformat(run["finished_at"])
                queued.append(q)
                finished.append(f)
                latencies.append((f - q).total_seconds())
        if view["status"] == "posted":
            lines = len((view.get("extraction") or {}).get("lines") or [])
            moves = confirmed.get(view["id"], (None, 0))[1]
            if view["id"] not in confirmed or moves != lines:
                problems.append(f"document {view['id']} posted with {moves} moves for {lines} lines")
    if len(views) != expected:
        problems.append(f"{len(views)} documents for {expected} sent")
    latencies.sort()
    span_s = (max(finished) - min(queued)).total_seconds() if finished else float("nan")
    upload_ms.sort()
    review_ms.sort()
    return {"documents": len(views), "statuses": statuses, "ok": not problems, "problems": problems,
            "upload_to_draft_p50_s": round(quantile(latencies, 0.5), 2),
            "upload_to_draft_p99_s": round(quantile(latencies, 0.99), 2),
            "documents_per_minute": round(len(latencies) / span_s * 60, 1) if finished else 0.0,
            "upload_p50_ms": round(quantile(upload_ms, 0.5), 1), "upload_p99_ms": round(quantile(upload_ms, 0.99), 1),
            "review_api_p99_ms": round(quantile(review_ms, 0.99), 1),
            "worker_rss_peak_mb": round(memory.peak / 1024, 1), "worker_rss_last_mb": round(memory.last / 1024, 1),
            "wall_s": round(time.perf_counter() - start, 1)}


class _MemorySampler(threading.Thread):
    """The resident memory (KiB) of a process and its children, from /proc, once a second."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.last, self._halt = pid, 0, 0, threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.last = _tree_rss_kib(self.pid)
            self.peak = max(self.peak, self.last)
            self._halt.wait(1.0)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)


def _tree_rss_kib(root: int) -> int:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    total = 0
    for pid in tree:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def _print(f: dict) -> None:
    print(f"load bench: {f['uploads']} uploads at {f['rate_per_s']}/s + {f['emails']} e-mails, a reviewer confirming; "
          f"PostgreSQL + {f['broker']}, 1 worker x 2")
    print(f"  documents:  {f['documents']}  {f['statuses']}  lost or doubled: {'none' if f['ok'] else f['problems'][:5]}")
    print(f"  throughput: {f['documents_per_minute']} documents/min; upload->draft p50 {f['upload_to_draft_p50_s']} s, "
          f"p99 {f['upload_to_draft_p99_s']} s")
    print(f"  API:        upload p50 {f['upload_p50_ms']} ms, p99 {f['upload_p99_ms']} ms; reviewer's calls p99 "
          f"{f['review_api_p99_ms']} ms")
    print(f"  worker memory (with its children): peak {f['worker_rss_peak_mb']} MB, at the end "
          f"{f['worker_rss_last_mb']} MB; wall {f['wall_s']} s")
