#!/usr/bin/env bash
# The browser the review-screen tests drive (issue 8): Debian's chromium, used by Playwright through
# executable_path=/usr/bin/chromium (never `playwright install`, which downloads its own).
# Installed when missing and apt-get is there; without it those tests skip, they do not fail (CI=true: fail).
set -u
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium) \
    >/dev/null 2>&1 || echo "note: could not install chromium; the review screen browser tests will skip"
fi
exit 0
