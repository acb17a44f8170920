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
"""

from __future__ import annotations

import logging

from billiard.exceptions import SoftTimeLimitExceeded
from celery import Celery
from celery.signals import worker_process_init
from sqlalchemy.exc import OperationalError

from pipeline.blobs import StoreUnavailable
from pipeline.config import Settings
from pipeline.processing import run_document, stale_after_s
from pipeline.retrain import BEAT_S, maybe_retrain, retrain_time_limit_s
from pipeline.runtime import Services, build_services
from pipeline.webhooks import deliver_due

log = logging.getLogger("inbound.tasks")
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
        # Redis: an unacknowledged task comes back after this long; beyond the hard time limit, so only tasks
        # whose worker died come back (RabbitMQ gives them back as soon as the worker's connection drops)
        broker_transport_options={"visibility_timeout": int(settings.task_time_limit_s) + 120},
        beat_schedule=_beat_schedule(settings),
    )
    _register(app, settings)
    return app


def _beat_schedule(settings: Settings) -> dict:
    schedule = {"webhooks": {"task": "inbound.deliver_webhooks", "schedule": 10.0}}
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
        outcome = run_document(current, run_id, take_over=redelivered)
        if outcome == "busy":           # another attempt has it; if that worker died, the run goes stale
            raise self.retry(countdown=stale_after_s(services()) + 5, max_retries=3)
        if outcome in ("done", "failed"):      # document.extracted or document.failed waits to be sent
            app.send_task("inbound.deliver_webhooks")
        return outcome

    @app.task(name="inbound.deliver_webhooks", acks_late=True, ignore_result=True)
    def deliver_webhooks() -> int:
        s = services()
        return deliver_due(s.factory, attempts=s.settings.webhook_attempts, backoff_s=s.settings.webhook_backoff_s)

    limit_s = retrain_time_limit_s(settings)

    @app.task(name="inbound.retrain_layout_model", acks_late=False, ignore_result=True, soft_time_limit=limit_s,
              time_limit=limit_s + 60)
    def retrain_layout_model(force: bool = False, who: str = "beat") -> str:
        return maybe_retrain(services(), force=force, who=who).status     # busy when another retrain runs


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
