"""Structured logs: one JSON object per line on stderr (time UTC, level, logger, message, context).

Tracebacks are reduced to the exception's type and text so that a clerk never sees one on the terminal;
set INBOUND_LOG_TRACEBACKS=1 to keep them (in the `traceback` key) when debugging.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from datetime import datetime, timezone


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        from pipeline.log_context import current_context
        out.update(current_context())              # the document being handled (pipeline/log_context.py)
        for key in ("document", "sha256", "stage"):
            if hasattr(record, key):
                out[key] = getattr(record, key)
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            out["error"] = f"{type(exc).__name__}: {exc}"
            if os.environ.get("INBOUND_LOG_TRACEBACKS") == "1":
                out["traceback"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(out, ensure_ascii=False)


def configure(level: str | None = None) -> None:
    """Send every `inbound.*` log record to stderr as JSON, once per process."""
    root = logging.getLogger("inbound")
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level or os.environ.get("INBOUND_LOG_LEVEL", "WARNING").upper())
    root.propagate = False
    from pipeline.log_context import configure_structlog
    configure_structlog()
