"""/healthz and /metrics (Prometheus text): documents by status, stage latencies, queue depth, webhooks.

/healthz also says which layout model the pipeline reads with: `layout_model.status` ok, rules_only (INBOUND_MODEL
=none) or unavailable (the folder does not load: `reason` says why, and the documents are read with the rules
alone); the service's own status stays ok then, as it keeps reading.

Issue 18: with a broker, /healthz checks it (a 2 s connect): unreachable -> `status` "degraded" and
`broker_status` "down" (uploads are still kept and queued; the sweep sends them when it is back); 200 all the same,
as the API still takes documents.  The database unreachable or locked -> 503 with Retry-After (api/problems.py).

The figures are read from the database at each scrape, so they hold for every process (API, Celery workers)
writing to it, not only this one.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from sqlalchemy import func, select, text

from api.deps import ServicesDep
from models.runs import ProcessingRun
from models.tables import Document
from models.webhooks import WebhookDelivery
from pipeline.layout_models import ModelResolver
from pipeline.stages import STAGES

router = APIRouter(tags=["operations"])
BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
RECENT_RUNS = 1000


@router.get("/healthz")
def healthz(services: ServicesDep):
    with services.factory() as session:
        session.execute(text("select 1"))
    layout = services.layout or ModelResolver(services.settings, services.factory)
    state = layout.state().to_json()
    status, broker_status = "ok", "ok"
    reachable = getattr(services.dispatcher, "reachable", None)
    if services.settings.broker_url and reachable is not None and not reachable():
        status, broker_status = "degraded", "down"
    return {"status": status, "database": services.engine.dialect.name,
            "broker": "celery" if services.settings.broker_url else "in-process", "broker_status": broker_status,
            "layout_model": {key: state[key] for key in ("status", "version", "path", "reason")}}


@router.get("/metrics")
def metrics(services: ServicesDep):
    registry = CollectorRegistry()
    registry.register(_DatabaseCollector(services))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class _DatabaseCollector:
    def __init__(self, services) -> None:
        self.services = services

    def collect(self):
        with self.services.factory() as session:
            by_status = dict(session.execute(select(Document.status, func.count()).group_by(Document.status)).all())
            runs = dict(session.execute(select(ProcessingRun.status, func.count()).group_by(ProcessingRun.status)).all())
            hooks = dict(session.execute(select(WebhookDelivery.status, func.count())
                                         .group_by(WebhookDelivery.status)).all())
            timings = list(session.scalars(select(ProcessingRun.timings_ms).where(ProcessingRun.status == "done")
                                           .order_by(ProcessingRun.id.desc()).limit(RECENT_RUNS)))
        documents = GaugeMetricFamily("inbound_documents", "Documents by status", labels=["status"])
        for status in ("received", "processing", "needs_review", "ready", "confirmed", "posted", "reversed",
                       "rejected", "failed"):
            documents.add_metric([status], by_status.get(status, 0))
        yield documents
        depth = GaugeMetricFamily("inbound_queue_depth", "Pipeline runs waiting or running", labels=["state"])
        for state in ("queued", "running"):
            depth.add_metric([state], runs.get(state, 0))
        yield depth
        dispatcher = self.services.dispatcher
        if dispatcher is not None:
            waiting = GaugeMetricFamily("inbound_dispatch_queue_depth",
                                        "Documents waiting in the dispatcher's queue (in-process or the broker's; "
                                        "-1 when the broker cannot tell)")
            waiting.add_metric([], dispatcher.depth())
            yield waiting
        deliveries = GaugeMetricFamily("inbound_webhook_deliveries", "Webhook deliveries by status",
                                       labels=["status"])
        for state in ("pending", "delivered", "failed"):
            deliveries.add_metric([state], hooks.get(state, 0))
        yield deliveries
        yield _stage_histogram(timings)


def _stage_histogram(timings: list[dict]) -> HistogramMetricFamily:
    family = HistogramMetricFamily("inbound_stage_seconds",
                                   f"Pipeline stage latency over the last {RECENT_RUNS} runs", labels=["stage"])
    for stage in STAGES:
        values = [t[stage] / 1000 for t in timings if isinstance(t, dict) and stage in t]
        buckets = [(str(b), sum(1 for v in values if v <= b)) for b in BUCKETS_S] + [("+Inf", len(values))]
        family.add_metric([stage], buckets, sum(values))
    return family
