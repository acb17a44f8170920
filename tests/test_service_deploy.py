"""The production recipe: compose.yaml is valid (Debian's docker-compose checks it without an engine) and runs
api, worker and beat on PostgreSQL, Redis and MinIO with the settings the tests use; the Dockerfile builds the
one image they share."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from conftest import ROOT


def test_compose_file_is_valid_and_complete():
    tool = shutil.which("docker-compose")
    if tool is None:
        if os.environ.get("CI") == "true":
            pytest.fail("docker-compose is not installed (scripts/service-tools.sh)")
        pytest.skip("docker-compose not installed")
    result = subprocess.run([tool, "-f", str(ROOT / "compose.yaml"), "config"], capture_output=True, text=True,
                            timeout=60, cwd=ROOT, env={**os.environ, "INBOUND_BOOTSTRAP_API_KEY": "compose-check-key-0123456789abcdef",
                                                                   "INBOUND_SECRET_KEY": "compose-check-secret"})
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    services = config["services"]
    assert set(services) == {"api", "worker", "beat", "postgres", "redis", "minio"}
    for name in ("api", "worker", "beat"):
        env = services[name]["environment"]
        assert env["INBOUND_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert env["INBOUND_BROKER_URL"].startswith("redis://") and env["INBOUND_S3_ENDPOINT"] == "minio:9000"
        assert env["INBOUND_BOOTSTRAP_API_KEY"] == "compose-check-key-0123456789abcdef"
    assert services["worker"]["command"][:2] == ["inbound", "worker"]
    assert services["api"]["command"][:2] == ["inbound", "serve"]


def test_dockerfile_installs_the_pinned_packages_and_serves():
    text = (ROOT / "Dockerfile").read_text()
    assert "pip install -c constraints.txt ." in text
    assert 'CMD ["inbound", "serve", "--port", "8000"]' in text          # 127.0.0.1 unless told otherwise
    for package in ("api", "extractors", "matching", "models", "pipeline", "review_ui", "fixtures"):
        assert f"COPY {package} {package}" in text


def test_the_beat_module_loads():
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c",
                             "from pipeline.celery_beat import app; print(sorted(app.conf.beat_schedule))"],
                            capture_output=True, text=True, timeout=60, cwd=ROOT,
                            env={**os.environ, "INBOUND_BROKER_URL": "redis://127.0.0.1:6379/5"})
    # retrain check: issue 15; the sweep of unsent and stuck runs: issue 18
    assert result.stdout.strip() == "['layout_model', 'sweep', 'webhooks']", result.stderr
