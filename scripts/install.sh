#!/usr/bin/env bash
# Install Inbound and its test tools into ./.venv, pinned by constraints.txt (what CI tested).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade "pip>=24"
.venv/bin/python -m pip install -q -c constraints.txt -e ".[test]"
echo "installed: $(.venv/bin/inbound --help >/dev/null && echo inbound CLI ready)"
