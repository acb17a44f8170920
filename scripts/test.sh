#!/usr/bin/env bash
# Install everything, start the local services the tests need, run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
bash scripts/services.sh
bash scripts/fonts.sh
bash scripts/service-tools.sh
bash scripts/browser.sh
.venv/bin/lint-imports pyproject.toml
export INBOUND_TEST_ARTIFACTS="${INBOUND_TEST_ARTIFACTS:-var/test-artifacts}"   # screenshots of the review screen
.venv/bin/python -m pytest -q "$@"
