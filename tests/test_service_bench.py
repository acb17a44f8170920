"""`inbound bench service` at a tiny size: the real serve + worker processes on PostgreSQL and Redis, and the
proof figures (every document final, each processed once)."""

from __future__ import annotations

import pytest

from db_support import require_pg


def test_the_mixed_corpus_is_distinct():
    from pipeline.bench.service import corpus
    docs = corpus(10)
    assert len({data for _, data in docs}) == 10
    assert {name.rsplit(".", 1)[1] for name, _ in docs} == {"pdf", "jpg"}


def test_bench_service_tiny():
    require_pg()
    from pipeline.bench.service import run
    try:
        figures = run(count=6, requests_each=2)
    except Exception as exc:  # the broker is down outside CI
        if "redis" in str(exc).lower():
            pytest.skip(str(exc))
        raise
    assert figures["all_final"] and figures["each_processed_once"] and figures["distinct_documents"] == 6
    assert figures["documents_per_minute"] > 0 and figures["get_requests"] == 100
