#!/usr/bin/env bash
# Tools the service tests start or call themselves (issue 7): Debian's dovecot-imapd (a real IMAP server on
# loopback for the IMAP polling test) and docker-compose (checks compose.yaml without a Docker engine).
# Installed when missing and apt-get is there; without them those tests skip, they do not fail (CI=true: fail).
set -u
missing=()
command -v /usr/sbin/dovecot >/dev/null 2>&1 || missing+=(dovecot-imapd)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}") \
    >/dev/null 2>&1 || echo "note: could not install ${missing[*]}; the IMAP and compose tests will skip"
fi
exit 0
