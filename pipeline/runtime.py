"""What a running service holds, built once from Settings: the database, the blob store, the master cache and
the dispatcher that gets documents read.

Two dispatchers with one interface (`Dispatcher`):
- `InProcessDispatcher` (here): worker threads in this process call `processing.run_document(run_id)`; used by
  `inbound serve` when INBOUND_BROKER_URL is unset, and by the tests.
- `CeleryDispatcher` (pipeline/celery_app.py, with the Celery app): sends the same call as the Celery task
  `inbound.process_document`.
Both are called only after the transaction that created the run has committed (the task must find it).
Webhook deliveries are sent by `pipeline.webhooks.WebhookSender`, woken by `wake_webhooks()`.
`layout` resolves the learned layout model the readers use (pipeline/layout_models.py); `retrainer` is the
embedded default's background retrain (pipeline/retrain.py), None with Celery (a beat task retrains there).
Each `InProcessDispatcher` thread reads its documents in its own child process (`thread_reader`,
pipeline/isolation.py: the Celery worker's time and memory limits; INBOUND_ISOLATE=0 reads in the thread).
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field
from typing import Callable, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from extractors import ReadOptions
from pipeline.blobs import BlobStore, store_from_settings
from pipeline.config import Settings
from pipeline.layout_models import Background, ModelResolver
from pipeline.master_snapshot import MasterCache

log = logging.getLogger("inbound.runtime")
_thread = threading.local()       # .isolated: a pipeline thread of an InProcessDispatcher; .reader: its child


def thread_reader(settings: Settings):
    """This pipeline thread's child reader (pipeline/isolation.py), started on first use; None outside an
    InProcessDispatcher thread, with a broker (the Celery worker child is the isolation), or INBOUND_ISOLATE=0."""
    if not getattr(_thread, "isolated", False) or settings.broker_url or not settings.isolate:
        return None
    reader = getattr(_thread, "reader", None)
    if reader is None:
        from pipeline.isolation import ChildReader
        reader = _thread.reader = ChildReader(settings)
    return reader


class Dispatcher(Protocol):
    def submit(self, run_id: int) -> None: ...

    def wake_webhooks(self) -> None: ...

    def depth(self) -> int:
        """Runs waiting in this dispatcher's queue (-1 when it cannot tell)."""


@dataclass
class Services:
    settings: Settings
    engine: Engine
    factory: sessionmaker[Session]
    blobs: BlobStore
    master: MasterCache = field(default_factory=MasterCache)
    dispatcher: Dispatcher | None = None
    sender: object | None = None              # the in-process WebhookSender, when there is one
    intakes: list = field(default_factory=list)  # SMTP drop box, watched folder: stopped with the service
    layout: ModelResolver | None = None       # the layout model read with; None: the rules alone
    retrainer: Background | None = None       # the embedded default's retrain thread

    @property
    def options(self) -> ReadOptions:
        """The read options of one document, with the layout model as resolved now (None: the rules alone)."""
        return ReadOptions(max_bytes=self.settings.max_upload_bytes, timeout_s=self.settings.task_time_limit_s,
                           model=self.layout.reading_path() if self.layout is not None else None)

    def submit(self, run_id: int) -> None:
        if self.dispatcher is not None:
            self.dispatcher.submit(run_id)

    def wake_webhooks(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.wake_webhooks()


def build_services(settings: Settings) -> Services:
    from models.db import make_engine, session_factory
    from models.webhooks import set_secret_key
    from pipeline.webhooks import secret_key_material
    set_secret_key(secret_key_material(settings))       # webhook secrets are sealed with it (issue 18)
    engine = make_engine(settings.db_url, pool_size=max(10, settings.workers + 8))   # API threads + pipeline
    factory = session_factory(engine)
    return Services(settings, engine, factory, store_from_settings(settings), layout=ModelResolver(settings, factory))


class InProcessDispatcher:
    """`threads` worker threads taking run ids from a queue; `close()` lets the current documents finish."""

    def __init__(self, run: Callable[[int], object], *, threads: int = 1,
                 webhooks: Callable[[], None] | None = None) -> None:
        self._run, self._webhooks = run, webhooks
        self._queue: queue.Queue[int | None] = queue.Queue()
        self._threads = [threading.Thread(target=self._work, name=f"inbound-pipeline-{i}", daemon=True)
                         for i in range(max(1, threads))]
        for thread in self._threads:
            thread.start()

    def submit(self, run_id: int) -> None:
        self._queue.put(run_id)

    def wake_webhooks(self) -> None:
        if self._webhooks is not None:
            self._webhooks()

    def depth(self) -> int:
        return self._queue.qsize()

    def join(self, timeout_s: float = 60.0) -> bool:
        """Wait until every submitted run is done (tests, `inbound ingest`); False on time-out."""
        done = threading.Event()

        def wait() -> None:
            self._queue.join()
            done.set()
        threading.Thread(target=wait, daemon=True).start()
        return done.wait(timeout_s)

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=30)

    def _work(self) -> None:
        _thread.isolated = True
        try:
            self._take()
        finally:
            reader = getattr(_thread, "reader", None)
            if reader is not None:
                reader.close()
                _thread.reader = None

    def _take(self) -> None:
        while True:
            run_id = self._queue.get()
            try:
                if run_id is None:
                    return
                self._run(run_id)
            except Exception:  # a bug must not stop the thread; the run stays visible as running/failed
                log.exception("pipeline run %s failed", run_id)
            finally:
                self._queue.task_done()

