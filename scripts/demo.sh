#!/usr/bin/env bash
# Install, then extract every demo document in fixtures/demo and print what was found.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
.venv/bin/inbound demo
