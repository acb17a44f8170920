#!/usr/bin/env bash
# Install, then start the whole service with demo data (./var: SQLite, blobs): the demo master data and the
# documents in fixtures/demo are loaded and read; the URL, a demo login and an API key are printed.
# INBOUND_DEMO=0 starts empty; INBOUND_HOME moves ./var; arguments go to `inbound serve` (--host, --port).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/inbound serve "$@"
