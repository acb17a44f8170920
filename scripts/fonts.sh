#!/usr/bin/env bash
# The CJK font the synthetic Chinese documents are drawn with (Debian's fonts-wqy-microhei).
# Installed when missing and apt-get is there; without it those tests skip, they do not fail.
set -u
FONT=/usr/share/fonts/truetype/wqy/wqy-microhei.ttc
if [ ! -f "$FONT" ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei) >/dev/null 2>&1 \
    || echo "note: could not install fonts-wqy-microhei; the synthetic Chinese document tests will skip"
fi
exit 0
