"""The Celery app for `celery -A pipeline.celery_beat beat`: the scheduler that re-sends due webhook deliveries
every 10 s (retries with backoff come due while no event wakes the sender) and, while INBOUND_RETRAIN_EVERY > 0,
asks a worker every 5 min whether enough documents were confirmed to retrain the layout model (the task returns
at once when not, or when a retrain is running).  Settings from the environment."""

from __future__ import annotations

from pipeline.celery_app import make_celery
from pipeline.config import get_settings

app = make_celery(get_settings())
