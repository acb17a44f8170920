"""`stage_timer`: how long each stage of a document took, written where the stages are called.

    timings: dict[str, float] = {}
    with stage_timer(timings, "read"):
        read = read_document(data, options)

The stage's milliseconds land in `timings[name]` (added up when a stage runs twice), also when it raises.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator

__all__ = ["stage_timer"]


@contextmanager
def stage_timer(timings: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = round(timings.get(name, 0.0) + (time.perf_counter() - start) * 1000, 3)
