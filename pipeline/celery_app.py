"""The Celery app, its tasks and the dispatcher that sends them: the same functions the in-process runner calls,
behind a broker.

    inbound.process_document(run_id)   pipeline.processing.run_document: claim the run, read, match, store
    inbound.deliver_webhooks()         pipeline.webhooks.deliver_due: send what is due (beat: every 10 s too)
    inbound.retrain_layout_model()     pipeline.retrain.maybe_retrain: learn from confirmed documents when due
                                       (beat: every 5 min while INBOUND_RETRAIN_EVERY > 0; an admin's "retrain now")

Tasks pass ids and re-fetch; `run_document` is idempotent by run (and so by document id and content hash), so
`acks_late` is safe: a task redelivered after a worker died finds its run taken, finished, or stale and takes it.
Transient failures (blob store, database) are retried with exponential backoff and jitter; bad input is final.
Limits per document: a soft time limit (the document fails with `timeout`), a hard one 30 s later (the child is
killed, the message goes back to the queue: task_reject_on_worker_lost), and a child that grows past the memory
limit is replaced after its task.  Each worker child builds its own Services right after the fork, before it
takes a task.  `CeleryDispatcher` is the service's `Dispatcher` when INBOUND_BROKER_URL is set.
A retrain occupies one worker child for its minutes (its own, longer time limit; acknowledged early, so a worker
lost mid-training does not start it again): with --concurrency 2 or more the other children keep reading.

Issue 18: `inbound.sweep_runs` (pipeline.processing.sweep: runs never sent while the broker was down, runs left
`running` past the limit) runs every minute from the beat, once when a worker starts, and in `inbound serve`'s
`Sweeper` thread.  A hard time limit fails the run `timeout` (the task_failure signal, in the worker's main
process) instead of leaving it `running`; a task redelivered more than INBOUND_MAX_ATTEMPTS times fails
`too_many_attempts`.  Publishing gives up after about a second when the broker is unreachable (the run waits for
the sweep); `broker_reachable` is /healthz's check.
"""

from __future__ import annotations

import logging

from billiard.exceptions import SoftTimeLimitExceeded
from celery import Celery
from celery.signals import task_failure, worker_process_init, worker_ready
from sqlalchemy.exc import OperationalError

from pipeline.blobs import StoreUnavailable
from pipeline.config import Settings
from pipeline.isolation import limit_memory, preload, restore_memory
from pipeline.processing import fail_stopped, run_document, stale_after_s, sweep
from pipeline.retrain import BEAT_S, maybe_retrain, retrain_time_limit_s
from pipeline.runtime import Services, build_services
from pipeline.webhooks import deliver_due

log = logging.getLogger("inbound.tasks")
SWEEP_S = 60.0
_services: Services | None = None
_settings: Settings | None = None


def make_celery(settings: Settings) -> Celery:
    app = Celery("inbound", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        task_ignore_result=True, task_default_queue=settings.queue, task_create_missing_queues=True,
        task_soft_time_limit=settings.task_time_limit_s, task_time_limit=settings.task_time_limit_s + 30,
        worker_max_memory_per_child=settings.task_memory_mb * 1024,      # KiB
        broker_connection_retry_on_startup=True, worker_hijack_root_logger=False,
        broker_connection_timeout=3, task_publish_retry=True,
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.3, "interval_max": 0.5},
        # Redis: an unacknowledged task comes back after this long; beyond the hard time limit, so only tasks
        # whose worker died come back (RabbitMQ gives them back as soon as the worker's connection drops)
        broker_transport_options={"visibility_timeout": int(settings.task_time_limit_s) + 120},
        beat_schedule=_beat_schedule(settings),
    )
    _register(app, settings)
    return app


def _beat_schedule(settings: Settings) -> dict:
    schedule = {"webhooks": {"task": "inbound.deliver_webhooks", "schedule": 10.0},
                "sweep": {"task": "inbound.sweep_runs", "schedule": SWEEP_S}}
    if settings.retrain_every > 0:
        schedule["layout_model"] = {"task": "inbound.retrain_layout_model", "schedule": BEAT_S}
    return schedule


def _register(app: Celery, settings: Settings) -> None:
    global _settings
    _settings = settings

    @app.task(name="inbound.process_document", bind=True, acks_late=True,
              autoretry_for=(StoreUnavailable, OperationalError), retry_backoff=2, retry_backoff_max=300,
              retry_jitter=True, max_retries=8)
    def process_document(self, run_id: int) -> str:
        redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
        try:
            current = services()
        except SoftTimeLimitExceeded:     # the limit ran out before the document was taken: try it again
            raise self.retry(countdown=1, max_retries=3) from None
        previous = limit_memory(current.settings.task_memory_mb)    # as the embedded default's child (issue 18)
        try:
            outcome = run_document(current, run_id, take_over=redelivered, holder=self.request.id)
        finally:
            restore_memory(previous)         # a retrain in this child later has its own needs
        if outcome == "busy":           # another attempt has it; if that worker died, the run goes stale
            raise self.retry(countdown=stale_after_s(services()) + 5, max_retries=3)
        if outcome in ("done", "failed"):      # document.extracted or document.failed waits to be sent
            app.send_task("inbound.deliver_webhooks")
        return outcome

    @app.task(name="inbound.sweep_runs", acks_late=False, ignore_result=True)
    def sweep_runs() -> dict:
        return sweep(services())

    @app.task(name="inbound.deliver_webhooks", acks_late=True, ignore_result=True)
    def deliver_webhooks() -> int:
        s = services()
        return deliver_due(s.factory, attempts=s.settings.webhook_attempts, backoff_s=s.settings.webhook_backoff_s)

    limit_s = retrain_time_limit_s(settings)

    @app.task(name="inbound.retrain_layout_model", acks_late=False, ignore_result=True, soft_time_limit=limit_s,
              time_limit=limit_s + 60)
    def retrain_layout_model(force: bool = False, who: str = "beat") -> str:
        return maybe_retrain(services(), force=force, who=who).status     # busy when another retrain runs


@task_failure.connect
def _hard_time_limit(sender=None, exception=None, args=None, **_kwargs) -> None:
    """Celery's hard time limit killed the child reading a document (signalled in the worker's main process):
    the run fails `timeout` now, not left `running` for good."""
    if type(exception).__name__ != "TimeLimitExceeded" or getattr(sender, "name", "") != "inbound.process_document":
        return
    try:
        run_id = int((args or [None])[0])
        limit = services().settings.task_time_limit_s
        fail_stopped(services(), run_id, reason="timeout", message=f"Reading this document took longer than "
                     f"{limit:g} s and was stopped; it has been kept for review.")
    except Exception:  # the sweep takes the run back when it is stale
        log.exception("could not fail the run after a hard time limit")


@worker_ready.connect
def _sweep_on_start(sender=None, **_kwargs) -> None:
    """A worker coming up sends what waited while no worker (or no broker) was there."""
    try:
        sender.app.send_task("inbound.sweep_runs")
    except Exception:
        log.warning("could not send the start-up sweep")


def services() -> Services:
    """This process's Services (built on first use; after a fork, anew)."""
    global _services
    if _services is None:
        _services = build_services(_settings)
    return _services


@worker_process_init.connect
def _fresh_services_after_fork(**_kwargs) -> None:
    """A child's own Services (the parent's engine and pool must not be used after the fork), built now; the
    pipeline's modules (the readers and the matcher) came in with this module's imports, so a document's time
    limit is spent on the document, not on start-up."""
    global _services
    _services = None
    preload()          # the readers' lazy imports, before a document's memory limit counts them
    if _settings is not None:
        services()


class CeleryDispatcher:
    """Runs and webhook deliveries sent as Celery tasks to the broker's queue (the `Dispatcher` of runtime.py)."""

    def __init__(self, settings: Settings) -> None:
        self.app = make_celery(settings)

    def submit(self, run_id: int) -> None:
        self.app.send_task("inbound.process_document", args=(run_id,))

    def wake_webhooks(self) -> None:
        self.app.send_task("inbound.deliver_webhooks")

    def send_retrain(self, *, who: str) -> None:
        """An admin's "retrain now", run by a worker (pipeline.retrain.start_retrain)."""
        self.app.send_task("inbound.retrain_layout_model", kwargs={"force": True, "who": who})

    def depth(self) -> int:
        return queue_depth(self.app)

    def reachable(self) -> bool:
        return broker_reachable(self.app)


def broker_reachable(app: Celery, timeout_s: float = 2.0) -> bool:
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=timeout_s)
        return True
    except Exception:  # any error connecting: down
        return False


class Sweeper:
    """`inbound serve`'s sweep thread with a broker: once at start, then every `every_s` seconds."""

    def __init__(self, services: Services, every_s: float = SWEEP_S) -> None:
        import threading
        self.services, self.every_s = services, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="inbound-sweeper", daemon=True)

    def start(self) -> "Sweeper":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while True:
            try:
                sweep(self.services)
            except Exception:  # the database down too: next time
                log.warning("sweep failed", exc_info=True)
            if self._stop.wait(self.every_s):
                return


def queue_depth(app: Celery) -> int:
    """Messages waiting in the pipeline queue (-1 when the broker cannot tell)."""
    from amqp.exceptions import ChannelError
    try:
        with app.connection_for_write() as connection:
            return connection.default_channel.queue_declare(queue=app.conf.task_default_queue,
                                                            passive=True).message_count
    except ChannelError as exc:   # 404: never declared (Redis keeps no empty queues), nothing waits
        if getattr(exc, "code", None) == 404 or "NOT_FOUND" in str(exc):
            return 0
        return -1
    except Exception:  # broker down: unknown, not an error of the caller
        return -1


def run_worker(settings: Settings, *, concurrency: int, loglevel: str, beat: bool = False) -> None:
    from pipeline.logs import configure
    configure()
    app = make_celery(settings)
    argv = ["worker", f"--concurrency={concurrency}", f"--loglevel={loglevel}", "-Q", settings.queue,
            "--pool=prefork", "-n", f"inbound-{settings.queue}@%h", "--without-gossip", "--without-mingle"]
    if beat:
        argv.append("--beat")
    app.worker_main(argv)
