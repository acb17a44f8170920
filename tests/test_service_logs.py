"""Structured logs: every line written while a document is handled carries its id (structlog context)."""

from __future__ import annotations

import json
import logging

from pipeline.log_context import document_context, run_context, bind_document
from pipeline.logs import JsonFormatter


def _line(message: str) -> dict:
    record = logging.LogRecord("inbound.test", logging.WARNING, __file__, 1, message, (), None)
    return json.loads(JsonFormatter().format(record))


def test_the_document_id_is_on_every_line_and_only_while_handled():
    with document_context(42, "ab" * 32):
        line = _line("stored")
        assert line["document"] == 42 and line["msg"] == "stored"
        assert _line("x")["sha256"] == "ab" * 32
    assert "document" not in _line("after")
    with run_context(7):
        bind_document(9, "cd" * 32)
        line = _line("reading")
        assert (line["run"], line["document"]) == (7, 9)
    assert "document" not in _line("after") and "run" not in _line("after")
