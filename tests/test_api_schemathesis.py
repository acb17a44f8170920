"""Schemathesis over the service's own /openapi.json (issue 18): generated requests to every operation, as an admin,
must never get a 5xx.  Bounded in CI (a few examples per operation); INBOUND_LONG_TESTS=1 runs more.

The app is the real one (create_app on a fresh SQLite database and blob folder, the in-process pipeline) with the
electronics master loaded, so that ids in paths can hit real rows as well as missing ones."""

from __future__ import annotations

import os

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from service_support import auth, import_master, settings_for

EXAMPLES = 40 if os.environ.get("INBOUND_LONG_TESTS") == "1" else 6


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory):
    from api.app import create_app
    home = tmp_path_factory.mktemp("schemathesis")
    app = create_app(settings_for(f"sqlite:///{home / 'inbound.db'}", home))
    with TestClient(app) as client:              # start-up ran: services, migrations, the bootstrap key
        import_master(client)
        yield schemathesis.openapi.from_asgi("/openapi.json", app)
        app.state.services.dispatcher.join(60)


def test_no_operation_answers_a_server_error(api_schema):
    """Each operation of the schema with generated path, query and body values (hypothesis, through
    schemathesis's strategies; its pytest plugin is not used: it does not run under pytest 9)."""
    failures, operations = [], 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def call(case):
            response = case.call(headers=auth())
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: "
                                f"{response.text[:200]}")

        call()
    assert operations >= 25, operations
    assert failures == [], "\n".join(failures[:20])
