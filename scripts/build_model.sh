#!/usr/bin/env bash
# Rebuild the layout model shipped in the package (extractors/layout_model/default) from our own generated data:
# the default set (1,500 text PDFs of the development families, fixed seed) and 160 scans/photos of development
# families read by OCR (so the model has seen OCR's words too); 14 minutes of training on 2 cores, fixed seed.
# About 35 minutes in all on 2 cores.  Needs the [train] extra (scripts/install.sh) and the CJK font (scripts/fonts.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export INBOUND_HOME=${INBOUND_HOME:-$PWD/var/model-build}
SCANS="$INBOUND_HOME/data/scans-41-160"
if [ ! -f "$SCANS/COMPLETE" ]; then
  .venv/bin/python -m fixtures.grammar "$INBOUND_HOME/data/scan-sources-41" --count 160 --seed 41 \
    --langs en,de,fr,nl,zh --scans --scan-dir "$SCANS"
  touch "$SCANS/COMPLETE"
fi
OUT=extractors/layout_model/default
.venv/bin/inbound train --count 1500 --data "$SCANS" --minutes "${MINUTES:-14}" --seed 0 --no-confirmed --out "$OUT.new"
rm -rf "$OUT" && mv "$OUT.new" "$OUT"
echo "shipped model rebuilt: $OUT ($(du -sh "$OUT" | cut -f1))"
