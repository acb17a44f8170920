"""Which document a log line is about, on every line: structlog's context variables, bound for the time one
document is being handled (a pipeline run, an intake), merged into the JSON lines of pipeline/logs.py and into
structlog's own output alike.  Context variables follow the code into threads' own contexts, so two pipeline
threads never mix their documents up.

    with document_context(document_id, sha256):
        log.info("...")          # {"document": 12, "sha256": "...", ...}
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import structlog


@contextmanager
def document_context(document_id: int | None, sha256: str | None = None, **more) -> Iterator[None]:
    values = {"document": document_id, "sha256": sha256, **more}
    tokens = structlog.contextvars.bind_contextvars(**{k: v for k, v in values.items() if v is not None})
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)


def current_context() -> dict:
    return structlog.contextvars.get_contextvars()


def configure_structlog() -> None:
    """structlog loggers write the same JSON lines, with the bound document context."""
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, structlog.processors.add_log_level,
                    structlog.processors.TimeStamper(fmt="iso", utc=True), structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(file=__import__("sys").stderr),
        cache_logger_on_first_use=True)


@contextmanager
def run_context(run_id: int) -> Iterator[None]:
    """A pipeline run: the run id now, the document once it is known (`bind_document`), all cleared after."""
    with structlog.contextvars.bound_contextvars(run=run_id):
        try:
            yield
        finally:
            structlog.contextvars.unbind_contextvars("document", "sha256")


def bind_document(document_id: int, sha256: str) -> None:
    structlog.contextvars.bind_contextvars(document=document_id, sha256=sha256)
