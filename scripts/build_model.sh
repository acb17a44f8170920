#!/usr/bin/env bash
# Rebuild the layout model shipped in the package (extractors/layout_model/default) from our own generated data:
# 1,500 documents of the development families (fixed seed), 14 minutes of training on 2 cores, fixed seed.
# Needs the [train] extra (scripts/install.sh installs it) and the CJK font (scripts/fonts.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export INBOUND_HOME=${INBOUND_HOME:-$PWD/var/model-build}
OUT=extractors/layout_model/default
.venv/bin/inbound train --count 1500 --minutes "${MINUTES:-14}" --seed 0 --no-confirmed --out "$OUT.new"
rm -rf "$OUT" && mv "$OUT.new" "$OUT"
echo "shipped model rebuilt: $OUT ($(du -sh "$OUT" | cut -f1))"
