"""The pipeline behind a broker: a real `inbound worker` process (Celery, prefork) on Redis and on RabbitMQ,
PostgreSQL for the database, the API sending tasks; every document reaches a final status once."""

from __future__ import annotations

import os
from pathlib import Path
import signal
import subprocess
import uuid

import pytest
from sqlalchemy import select

from conftest import INBOUND, ROOT
from db_support import drop_pg_database, fresh_pg_database
from service_support import ADMIN_KEY, DEMO, auth, import_master, running_app, upload, wait_for

BROKERS = {"redis": "redis://127.0.0.1:6379/5", "rabbitmq": "amqp://guest:guest@127.0.0.1:5672//"}


def _broker_up(url: str) -> bool:
    from kombu import Connection
    try:
        with Connection(url, connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=1)
        return True
    except Exception:
        return False


@pytest.fixture(params=list(BROKERS))
def broker(request):
    url = BROKERS[request.param]
    if not _broker_up(url):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{request.param} not reachable at {url}")
        pytest.skip(f"{request.param} not reachable at {url}")
    return url


@pytest.fixture
def pg_url():
    url, name = fresh_pg_database()
    yield url
    drop_pg_database(name)


def start_worker(env: dict) -> subprocess.Popen:
    """`inbound worker` with its log in a file beside the home folder (a pipe could fill up and stall it)."""
    log = open(Path(env["INBOUND_HOME"]) / f"worker-{uuid.uuid4().hex[:6]}.log", "w")
    process = subprocess.Popen([INBOUND, "worker", "--concurrency", "2", "--loglevel", "INFO"], cwd=ROOT,
                               env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, text=True)
    process.log_path = log.name
    log.close()
    return process


def stop(process: subprocess.Popen) -> str:
    """Stop the worker (warm shutdown); its log."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    return Path(process.log_path).read_text()


def test_documents_read_by_a_real_worker(broker, pg_url, tmp_path):
    queue = f"inbound-test-{uuid.uuid4().hex[:8]}"
    settings = {"broker_url": broker, "queue": queue}
    env = {"INBOUND_HOME": str(tmp_path), "INBOUND_DATABASE_URL": pg_url, "INBOUND_BROKER_URL": broker,
           "INBOUND_QUEUE": queue, "INBOUND_DEMO": "0", "INBOUND_BOOTSTRAP_API_KEY": ADMIN_KEY}
    worker = start_worker(env)
    from test_api_webhooks import Receiver
    from pipeline.webhooks import verify_signature
    receiver = Receiver()
    try:
        with running_app(pg_url, tmp_path, **settings) as client:
            import_master(client)
            hook = client.post("/api/v1/webhooks", headers=auth(), json={
                "url": receiver.url, "events": ["document.extracted", "document.failed"], "allow_private": True}).json()
            names = ["INV-88213.pdf", "cn-vat-demo.pdf", "cn-delivery-demo.pdf", "RE-2026-0412.pdf"]
            ids = [upload(client, name).json()["id"] for name in names]
            broken = client.post("/api/v1/documents", headers=auth(), files={"file": ("broken.pdf", b"%PDF-1.7 broken")})
            ids.append(broken.json()["id"])

            def all_final():
                docs = [client.get(f"/api/v1/documents/{i}", headers=auth()).json() for i in ids]
                return docs if all(d["status"] not in ("received", "processing") for d in docs) else None
            docs = wait_for(all_final, timeout_s=120, step_s=0.3)
            assert [d["status"] for d in docs[:4]] == [d["status"] for d in docs[:4] if d["status"] in ("needs_review", "ready")]
            assert docs[4]["status"] == "failed"
            assert all(len(d["runs"]) == 1 and d["runs"][0]["attempts"] == 1 for d in docs)
            assert docs[0]["extraction"]["supplier_match"]["method"] == "tax_id"
            wait_for(lambda: len(receiver.received) == 5, timeout_s=30)       # sent by the worker's task
            wait_for(lambda: client.app.state.services.dispatcher.depth() == 0, timeout_s=30)
            assert "inbound_dispatch_queue_depth 0.0" in client.get("/metrics").text
            assert sorted(receiver.events()) == ["document.extracted"] * 4 + ["document.failed"]
            assert all(verify_signature(hook["secret"], body, headers["X-Inbound-Signature"])
                       for headers, body in receiver.received)
    finally:
        receiver.close()
        output = stop(worker)
        print(output[-5000:])                                  # shown when the test fails
    assert worker.returncode is not None


def test_a_run_is_processed_once(pg_url, tmp_path):
    """A redelivered task (acks_late) finds its run done and does nothing."""
    from models.runs import ProcessingRun
    from pipeline.processing import run_document
    with running_app(pg_url, tmp_path) as client:
        services = client.app.state.services
        doc_id = upload(client, "INV-88213.pdf").json()["id"]
        assert services.dispatcher.join(60)
        with services.factory() as session:
            run_id = session.scalars(select(ProcessingRun.id).where(ProcessingRun.document_id == doc_id)).one()
        assert run_document(services, run_id) == "skipped"
        assert len(client.get(f"/api/v1/documents/{doc_id}", headers=auth()).json()["runs"]) == 1


def test_a_transient_store_failure_gives_the_run_back_for_the_retry(tmp_path):
    """The blob store unreachable: the run goes back to `queued` and the error propagates (Celery retries it
    with backoff); with the store back, the retry reads the document once."""
    import shutil
    from db_support import sqlite_template
    from models.runs import ProcessingRun
    from pipeline.blobs import S3Store, StoreUnavailable
    from pipeline.processing import run_document
    from pipeline.runtime import build_services
    from service_support import settings_for
    shutil.copyfile(sqlite_template(), tmp_path / "inbound.db")
    settings = settings_for(f"sqlite:///{tmp_path / 'inbound.db'}", tmp_path)
    services = build_services(settings)              # no dispatcher: runs wait until called here
    try:
        from pipeline.intake import receive
        received = receive(services, (DEMO / "INV-88213.pdf").read_bytes(), filename="INV-88213.pdf",
                           source="api", who="test")
        with services.factory() as session:
            run_id = session.scalars(select(ProcessingRun.id)).one()
        working = services.blobs
        services.blobs = S3Store(endpoint="127.0.0.1:9", access_key="a", secret_key="b", bucket="down")
        with pytest.raises(StoreUnavailable):
            run_document(services, run_id)
        with services.factory() as session:
            assert session.get(ProcessingRun, run_id).status == "queued"
        services.blobs = working
        assert run_document(services, run_id) == "done"
        assert run_document(services, run_id) == "skipped"
        with services.factory() as session:
            run = session.get(ProcessingRun, run_id)
            assert (run.status, run.attempts, run.document_id) == ("done", 2, received.document_id)
    finally:
        services.engine.dispose()


def _slow_pdf() -> bytes:
    """An image-only PDF of four scanned pages: a few seconds of OCR, time enough to kill its worker mid-way."""
    import io
    from PIL import Image
    page = Image.open(DEMO / "RE-2026-0412-scan.jpg").convert("RGB")
    out = io.BytesIO()
    page.save(out, format="PDF", save_all=True, append_images=[page.rotate(0.5 * n) for n in range(1, 4)],
              resolution=150)
    return out.getvalue()


def test_a_document_whose_worker_dies_is_read_by_another(pg_url, tmp_path):
    """acks_late on RabbitMQ: the worker is killed while reading; the broker hands the task to the next worker,
    which takes the run over; the document is read once to the end (one run, two attempts)."""
    broker = BROKERS["rabbitmq"]
    if not _broker_up(broker):
        pytest.skip("RabbitMQ not reachable")
    queue = f"inbound-test-{uuid.uuid4().hex[:8]}"
    env = {"INBOUND_HOME": str(tmp_path), "INBOUND_DATABASE_URL": pg_url, "INBOUND_BROKER_URL": broker,
           "INBOUND_QUEUE": queue, "INBOUND_DEMO": "0"}
    first = subprocess.Popen([INBOUND, "worker", "--concurrency", "1", "--loglevel", "WARNING"], cwd=ROOT,
                             env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    second = None
    try:
        with running_app(pg_url, tmp_path, broker_url=broker, queue=queue) as client:
            doc_id = upload(client, "slow.pdf", _slow_pdf()).json()["id"]
            view = lambda: client.get(f"/api/v1/documents/{doc_id}", headers=auth()).json()  # noqa: E731
            wait_for(lambda: view()["runs"][0]["status"] == "running", timeout_s=60, step_s=0.05)
            os.killpg(first.pid, signal.SIGKILL)              # the worker and its child, mid-document
            first.wait(timeout=10)
            assert view()["runs"][0]["status"] == "running"
            second = start_worker(env)
            doc = wait_for(lambda: (d := view())["status"] not in ("received", "processing") and d, timeout_s=120)
            assert doc["status"] in ("needs_review", "ready"), doc["status"]
            assert [(r["status"], r["attempts"]) for r in doc["runs"]] == [("done", 2)]
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        if second is not None:
            stop(second)


def test_a_document_over_the_time_limit_fails_with_timeout(pg_url, tmp_path):
    """The per-document time limit (Celery's soft limit): the document fails with `timeout`, the bytes stay."""
    broker = BROKERS["redis"]
    if not _broker_up(broker):
        pytest.skip("Redis not reachable")
    queue = f"inbound-test-{uuid.uuid4().hex[:8]}"
    env = {"INBOUND_HOME": str(tmp_path), "INBOUND_DATABASE_URL": pg_url, "INBOUND_BROKER_URL": broker,
           "INBOUND_QUEUE": queue, "INBOUND_DEMO": "0", "INBOUND_TASK_TIME_LIMIT_S": "1"}
    worker = start_worker(env)
    try:
        with running_app(pg_url, tmp_path, broker_url=broker, queue=queue) as client:
            data = _slow_pdf()
            doc_id = upload(client, "slow.pdf", data).json()["id"]
            doc = wait_for(lambda: (d := client.get(f"/api/v1/documents/{doc_id}", headers=auth()).json())["status"]
                           not in ("received", "processing") and d, timeout_s=60)
            assert (doc["status"], doc["failure_reason"]) == ("failed", "timeout")
            assert client.get(f"/api/v1/documents/{doc_id}/file", headers=auth()).content == data
    finally:
        stop(worker)
