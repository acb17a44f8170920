"""Issue 18, finding 1 and finding 7's database part: nothing stuck, nothing endless, nothing taken down.

- the broker unreachable at upload: 202 `queued`, the original kept, /healthz `degraded`; the broker (a test-owned
  redis-server) and a real worker come up: the start-up sweep sends it, the document is read once;
- a run left `running` past the limit is taken back by the sweep; one that already had its attempts fails
  `too_many_attempts`;
- a document that kills its Celery worker child is not redelivered without end (INBOUND_MAX_ATTEMPTS);
- only the attempt holding the run stores its result;
- the embedded default reads in a child process: over the time limit -> `timeout`, over the memory limit ->
  `too_large`, and the service goes on reading;
- the database unreachable (a test-owned TCP proxy to PostgreSQL, stopped) answers 503 with Retry-After.
Set INBOUND_LONG_TESTS=1 for the kill -9 of a whole worker mid-document on Redis (exactly once after restart).
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from conftest import INBOUND, ROOT
from db_support import drop_pg_database, fresh_pg_database, sqlite_template
from service_support import DEMO, auth, labelled_invoice, running_app, upload, wait_for, wait_read

REDIS_SERVER = shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sqlite(tmp_path: Path) -> str:
    shutil.copyfile(sqlite_template(), tmp_path / "inbound.db")
    return f"sqlite:///{tmp_path / 'inbound.db'}"


@pytest.fixture
def pg_url():
    url, name = fresh_pg_database()
    yield url
    drop_pg_database(name)


def _start_redis(port: int, home: Path) -> subprocess.Popen:
    process = subprocess.Popen([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(home)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    wait_for(lambda: _listening(port), timeout_s=10)
    return process


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def _start_worker(env: dict, concurrency: int = 1) -> subprocess.Popen:
    log = open(Path(env["INBOUND_HOME"]) / f"worker-{uuid.uuid4().hex[:6]}.log", "w")
    process = subprocess.Popen([INBOUND, "worker", "--concurrency", str(concurrency), "--loglevel", "INFO"],
                               cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    process.log_path = log.name
    log.close()
    return process


def _stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    return Path(process.log_path).read_text(errors="replace")


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):        # every thread's children
        try:
            found += [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def _view(client, doc_id: int) -> dict:
    return client.get(f"/api/v1/documents/{doc_id}", headers=auth()).json()


def _final(client, doc_id: int, timeout_s: float = 90) -> dict:
    return wait_for(lambda: (d := _view(client, doc_id))["status"] not in ("received", "processing") and d,
                    timeout_s=timeout_s, step_s=0.2)


def _slow_pdf(pages: int = 4) -> bytes:
    """An image-only PDF of scanned pages: seconds of OCR (about 1.3 s a page here)."""
    from PIL import Image
    page = Image.open(DEMO / "RE-2026-0412-scan.jpg").convert("RGB")
    out = io.BytesIO()
    page.save(out, format="PDF", save_all=True, append_images=[page.rotate(0.5 * n) for n in range(1, pages)],
              resolution=150)
    return out.getvalue()


# --- the broker down at intake ---------------------------------------------------------------------------------

@pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server not installed")
def test_an_upload_while_the_broker_is_down_is_kept_queued_and_sent_when_it_is_back(pg_url, tmp_path):
    from models.runs import ProcessingRun
    from pipeline.runtime import build_services
    from service_support import settings_for
    port = _free_port()                       # nothing listens here yet: the broker is down
    broker = f"redis://127.0.0.1:{port}/0"
    queue = f"inbound-test-{uuid.uuid4().hex[:8]}"
    data = (DEMO / "INV-88213.pdf").read_bytes()
    with running_app(pg_url, tmp_path, broker_url=broker, queue=queue) as client:
        health = client.get("/healthz").json()
        assert (health["status"], health["broker_status"]) == ("degraded", "down")
        started = time.monotonic()
        answer = upload(client, "INV-88213.pdf", data)
        assert answer.status_code == 202, answer.text          # not a 500
        assert time.monotonic() - started < 10
        body = answer.json()
        assert body["queued"] is True and body["status"] == "received"
        doc_id = body["id"]
        assert client.get(f"/api/v1/documents/{doc_id}/file", headers=auth()).content == data   # the original kept
        again = upload(client, "INV-88213.pdf", data)
        assert again.status_code == 200 and again.json()["duplicate"] is True
        retried = client.post(f"/api/v1/documents/{doc_id}/reprocess", headers=auth())
        assert retried.status_code == 202, retried.text           # not 409: the waiting run is sent (when it can)
    services = build_services(settings_for(pg_url, tmp_path))
    try:
        with services.factory.begin() as session:
            run = session.scalars(select(ProcessingRun).where(ProcessingRun.document_id == doc_id)).one()
            assert (run.status, run.sent_at) == ("queued", None)
            # as if the outage lasted a while: past the sweep's settle time
            run.queued_at = run.queued_at - timedelta(minutes=2)
    finally:
        services.engine.dispose()
    redis = _start_redis(port, tmp_path)
    env = {"INBOUND_HOME": str(tmp_path), "INBOUND_DATABASE_URL": pg_url, "INBOUND_BROKER_URL": broker,
           "INBOUND_QUEUE": queue, "INBOUND_DEMO": "0"}
    worker = _start_worker(env)
    try:
        # the worker's start-up sweep (and a restarted `serve`'s sweeper) sends what waited
        with running_app(pg_url, tmp_path, broker_url=broker, queue=queue) as client:
            assert client.get("/healthz").json()["status"] == "ok"
            doc = _final(client, doc_id, timeout_s=90)
            assert doc["status"] in ("needs_review", "ready"), doc
            assert [(r["status"], r["attempts"]) for r in doc["runs"]] == [("done", 1)]
    finally:
        _stop(worker)
        redis.kill()
        redis.wait(10)


# --- the sweep and the attempt cap (embedded) ----------------------------------------------------------------

def test_the_sweep_takes_back_runs_left_running_and_fails_those_out_of_attempts(tmp_path):
    from models.runs import ProcessingRun
    from models.tables import Document
    from models.types import utcnow
    from pipeline.processing import sweep
    with running_app(_sqlite(tmp_path), tmp_path, max_attempts=2, task_time_limit_s=5) as client:
        services = client.app.state.services
        first = upload(client, "a.pdf", labelled_invoice("S-1", "Ref", "1")).json()["id"]
        second = upload(client, "b.pdf", labelled_invoice("S-2", "Ref", "2")).json()["id"]
        wait_read(client)
        long_ago = utcnow() - timedelta(minutes=10)
        with services.factory.begin() as session:     # both as a hard time limit or a dead worker left them
            session.execute(update(ProcessingRun).where(ProcessingRun.document_id == first)
                            .values(status="running", attempts=1, started_at=long_ago))
            session.execute(update(ProcessingRun).where(ProcessingRun.document_id == second)
                            .values(status="running", attempts=2, started_at=long_ago))
            session.execute(update(Document).where(Document.id.in_((first, second))).values(status="processing"))
        outcome = sweep(services)
        assert outcome["failed"] == 1 and outcome["sent"] == 1
        wait_read(client)
        one, two = _view(client, first), _view(client, second)
        assert one["status"] in ("needs_review", "ready") and one["runs"][0]["status"] == "done"
        assert (two["status"], two["failure_reason"]) == ("failed", "too_many_attempts")
        assert two["runs"][0]["status"] == "failed"
        assert client.get(f"/api/v1/documents/{second}/file", headers=auth()).status_code == 200
        assert sweep(services) == {"sent": 0, "failed": 0, "broker_ok": True}     # nothing left stuck


def test_only_the_attempt_holding_the_run_stores_its_result(tmp_path):
    from models.runs import ProcessingRun, claim_run
    from models.tables import Document
    from pipeline.processing import _fail, _store
    from pipeline.runtime import build_services
    from pipeline.stages import process
    from service_support import settings_for
    settings = settings_for(_sqlite(tmp_path), tmp_path, model="none")
    services = build_services(settings)               # no dispatcher: the attempts are played here
    try:
        from pipeline.intake import receive
        data = labelled_invoice("T-1", "Ref", "1")
        received = receive(services, data, filename="t.pdf", source="api", who="test")
        with services.factory.begin() as session:
            run_id = session.scalars(select(ProcessingRun.id)).one()
            assert claim_run(session, run_id, stale_after_s=360) == 1               # the first attempt
            assert claim_run(session, run_id, stale_after_s=360) == 0               # taken: not twice
            assert claim_run(session, run_id, stale_after_s=360, take_over=True) == 2   # its worker presumed dead
            session.execute(update(Document).values(status="processing"))
        with services.factory() as session:
            master = services.master.get(session)
        draft = process(data, source="t.pdf", sha256=received.sha256, master=master, options=services.options)
        assert _store(services, run_id, draft, 1) is False          # the old attempt comes back late: ignored
        assert _fail(services, run_id, 1, reason="timeout", message="late") == "skipped"
        with services.factory() as session:
            run = session.get(ProcessingRun, run_id)
            assert (run.status, run.attempts, run.reading) == ("running", 2, None)
        assert _store(services, run_id, draft, 2) is True
        with services.factory() as session:
            assert session.get(ProcessingRun, run_id).status == "done"
    finally:
        services.engine.dispose()


# --- a document that kills its Celery worker child -------------------------------------------------------------

def _redis_up() -> bool:
    return _listening(6379)


@pytest.mark.skipif(not _redis_up(), reason="Redis not reachable")
def test_a_document_that_kills_its_worker_is_not_redelivered_without_end(pg_url, tmp_path):
    queue = f"inbound-test-{uuid.uuid4().hex[:8]}"
    broker = "redis://127.0.0.1:6379/6"
    env = {"INBOUND_HOME": str(tmp_path), "INBOUND_DATABASE_URL": pg_url, "INBOUND_BROKER_URL": broker,
           "INBOUND_QUEUE": queue, "INBOUND_DEMO": "0", "INBOUND_MAX_ATTEMPTS": "2"}
    worker = _start_worker(env)
    try:
        with running_app(pg_url, tmp_path, broker_url=broker, queue=queue, max_attempts=2) as client:
            data = _slow_pdf()
            doc_id = upload(client, "killer.pdf", data).json()["id"]
            kills = 0
            deadline = time.monotonic() + 120
            while _view(client, doc_id)["status"] in ("received", "processing") and time.monotonic() < deadline:
                run = _view(client, doc_id)["runs"][0]
                if run["status"] == "running" and run["attempts"] > kills:
                    time.sleep(0.5)                     # mid-document
                    for child in _children(worker.pid):     # the pool child reading it, as a crash would
                        os.kill(child, signal.SIGKILL)
                    kills += 1
                time.sleep(0.1)
            doc = _view(client, doc_id)
            assert (doc["status"], doc["failure_reason"]) == ("failed", "too_many_attempts"), (doc, kills)
            assert kills == 2
            assert [(r["status"], r["attempts"]) for r in doc["runs"]] == [("failed", 3)]
            assert client.get(f"/api/v1/documents/{doc_id}/file", headers=auth()).content == data
            nxt = upload(client, "INV-88213.pdf").json()["id"]     # the worker goes on
            assert _final(client, nxt, timeout_s=60)["status"] in ("needs_review", "ready")
    finally:
        _stop(worker)


def _big_png() -> bytes:
    from PIL import Image
    image = Image.new("RGB", (8000, 8000), "white")           # 64 Mpx: under the pixel cap, ~190 MB decoded
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.mark.skipif(not _redis_up(), reason="Redis not reachable")
def test_a_celery_worker_child_reads_under_the_same_memory_limit(pg_url, tmp_path):
    queue = f"inbound-test-{uuid.uuid4().hex[:8]}"
    broker = "redis://127.0.0.1:6379/6"
    env = {"INBOUND_HOME": str(tmp_path), "INBOUND_DATABASE_URL": pg_url, "INBOUND_BROKER_URL": broker,
           "INBOUND_QUEUE": queue, "INBOUND_DEMO": "0", "INBOUND_TASK_MEMORY_MB": "80", "INBOUND_MODEL": "none"}
    worker = _start_worker(env)
    try:
        with running_app(pg_url, tmp_path, broker_url=broker, queue=queue) as client:
            data = _big_png()
            doc_id = client.post("/api/v1/documents", headers=auth(),
                                 files={"file": ("big.png", data, "image/png")}).json()["id"]
            doc = _final(client, doc_id, timeout_s=60)
            assert (doc["status"], doc["failure_reason"]) == ("failed", "too_large"), doc
            assert client.get(f"/api/v1/documents/{doc_id}/file", headers=auth()).content == data
            nxt = upload(client, "a.pdf", labelled_invoice("C-1", "Ref", "1")).json()["id"]
            assert _final(client, nxt, timeout_s=60)["status"] in ("needs_review", "ready")
    finally:
        _stop(worker)


# --- the embedded default's child process ----------------------------------------------------------------------

def test_embedded_a_document_over_the_time_limit_is_stopped_and_the_service_goes_on(tmp_path):
    from pipeline import runtime
    with running_app(_sqlite(tmp_path), tmp_path, task_time_limit_s=1) as client:
        data = _slow_pdf(pages=10)                  # well past the limit and its 5 s of grace, on a busy machine too
        started = time.monotonic()
        doc_id = upload(client, "slow.pdf", data).json()["id"]
        doc = _final(client, doc_id, timeout_s=30)
        assert (doc["status"], doc["failure_reason"]) == ("failed", "timeout"), doc
        assert time.monotonic() - started < 15
        assert client.get(f"/api/v1/documents/{doc_id}/file", headers=auth()).content == data
        nxt = upload(client, "INV-88213.pdf").json()["id"]
        assert _final(client, nxt, timeout_s=30)["status"] in ("needs_review", "ready")
        assert client.get("/healthz").json()["status"] == "ok"
    assert runtime  # the reader lives in the pipeline thread (pipeline/isolation.py)


def _readers() -> list[int]:
    """The reader children (started by the fork server, itself a child of this process)."""
    return [pid for server in _children(os.getpid()) for pid in _children(server)]


def test_embedded_a_reader_that_dies_fails_the_document_and_the_service_goes_on(tmp_path):
    with running_app(_sqlite(tmp_path), tmp_path) as client:
        data = _slow_pdf()
        doc_id = upload(client, "crash.pdf", data).json()["id"]
        wait_for(lambda: _view(client, doc_id)["status"] == "processing" and _readers(), timeout_s=30, step_s=0.05)
        time.sleep(0.3)
        for pid in _readers():
            os.kill(pid, signal.SIGKILL)              # as a crash in a native reader, or the OOM killer
        doc = _final(client, doc_id, timeout_s=30)
        assert (doc["status"], doc["failure_reason"]) == ("failed", "reader_crashed"), doc
        assert client.get(f"/api/v1/documents/{doc_id}/file", headers=auth()).content == data
        nxt = upload(client, "INV-88213.pdf").json()["id"]
        assert _final(client, nxt, timeout_s=30)["status"] in ("needs_review", "ready")


def test_embedded_a_document_over_the_memory_limit_fails_too_large(tmp_path):
    data = _big_png()
    with running_app(_sqlite(tmp_path), tmp_path, task_memory_mb=80, model="none") as client:
        doc_id = client.post("/api/v1/documents", headers=auth(),
                             files={"file": ("big.png", data, "image/png")}).json()["id"]
        doc = _final(client, doc_id, timeout_s=60)
        assert (doc["status"], doc["failure_reason"]) == ("failed", "too_large"), doc
        assert "memory" in doc["runs"][0]["error"], doc["runs"][0]
        nxt = upload(client, "a.pdf", labelled_invoice("M-1", "Ref", "1")).json()["id"]
        assert _final(client, nxt, timeout_s=30)["status"] in ("needs_review", "ready")


# --- the database unreachable ----------------------------------------------------------------------------------

class _Proxy:
    """A TCP proxy 127.0.0.1:port -> PostgreSQL that the test can stop (the database "down")."""

    def __init__(self, target_port: int = 5432) -> None:
        self.target = target_port
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(50)
        self.port = self.server.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.running = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while self.running:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while chunk := a.recv(65536):
                b.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        self.running = False
        try:
            self.server.shutdown(socket.SHUT_RDWR)      # wakes the blocked accept(): the port closes
        except OSError:
            pass
        self.server.close()
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass


def test_the_database_unreachable_answers_503_with_retry_after(pg_url, tmp_path):
    proxy = _Proxy()
    url = pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    assert url != pg_url
    try:
        with running_app(url, tmp_path) as client:
            assert client.get("/healthz").status_code == 200
            assert client.get("/api/v1/documents", headers=auth()).status_code == 200
            proxy.stop()
            for answer in (client.get("/healthz"), client.get("/api/v1/documents", headers=auth()),
                           upload(client, "a.pdf", labelled_invoice("D-1", "Ref", "1"))):
                assert answer.status_code == 503, (answer.status_code, answer.text)
                assert answer.headers["Retry-After"].isdigit()
                assert answer.json()["code"] == "database_unavailable"
    finally:
        proxy.stop()


# --- long: kill -9 of a whole worker mid-document on Redis -------------------------------------------------------

@pytest.mark.skipif(os.environ.get("INBOUND_LONG_TESTS") != "1", reason="long test: INBOUND_LONG_TESTS=1")
@pytest.mark.parametrize("broker", ["redis://127.0.0.1:6379/7", "amqp://guest:guest@127.0.0.1:5672//"],
                         ids=["redis", "rabbitmq"])
def test_long_a_killed_worker_completes_exactly_once_after_restart(broker, pg_url, tmp_path):
    """The whole worker (main and child) killed mid-document, on Redis and on RabbitMQ: Redis gives the message
    back only after its visibility timeout (the sweep takes the stale run back sooner), RabbitMQ as soon as the
    connection drops.  The document is read exactly once."""
    if not _listening(6379 if broker.startswith("redis") else 5672):
        pytest.skip(f"{broker.split(':')[0]} not reachable")
    queue = f"inbound-test-{uuid.uuid4().hex[:8]}"
    env = {"INBOUND_HOME": str(tmp_path), "INBOUND_DATABASE_URL": pg_url, "INBOUND_BROKER_URL": broker,
           "INBOUND_QUEUE": queue, "INBOUND_DEMO": "0", "INBOUND_TASK_TIME_LIMIT_S": "10"}
    first = _start_worker(env)
    second = None
    try:
        with running_app(pg_url, tmp_path, broker_url=broker, queue=queue, task_time_limit_s=10) as client:
            doc_id = upload(client, "slow.pdf", _slow_pdf()).json()["id"]
            wait_for(lambda: _view(client, doc_id)["runs"][0]["status"] == "running", timeout_s=60, step_s=0.05)
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
            started = time.monotonic()
            second = _start_worker(env)
            from pipeline.processing import sweep
            services = client.app.state.services

            def done():
                sweep(services)        # what the beat / the serve sweeper do each minute
                return _view(client, doc_id)["status"] not in ("received", "processing")
            wait_for(done, timeout_s=240, step_s=5)
            doc = _view(client, doc_id)
            print(f"\nkilled worker: read again after {time.monotonic() - started:.0f} s, runs {doc['runs']}")
            assert doc["status"] in ("needs_review", "ready")
            assert [r["status"] for r in doc["runs"]] == ["done"]
            history = client.get(f"/api/v1/documents/{doc_id}", headers=auth()).json()
            assert history["runs"][0]["attempts"] == 2
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        if second is not None:
            _stop(second)
