#!/usr/bin/env bash
# Installs what Billtone needs into .venv; with --dev also the test tools, Debian's chromium,
# kamailio, kamailio-utils-modules and sip-tester.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3

apt_install() {
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    [ -n "${_apt_updated:-}" ] || { apt-get update -qq; _apt_updated=1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    echo "Please install the Debian packages: $*" >&2
    return 1
  fi
}

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv 2>/dev/null || { apt_install python3-venv && "$PYTHON" -m venv .venv; }
fi
.venv/bin/python -m pip install -q --upgrade pip
if [ "${1:-}" = "--dev" ]; then
  .venv/bin/python -m pip install -q -e ".[dev]"
  command -v chromium >/dev/null || apt_install chromium fonts-dejavu-core
  # tests/sip: Kamailio (http_client is in kamailio-utils-modules) and sipp; skipped without.
  if [ ! -x /usr/sbin/kamailio ] || ! command -v sipp >/dev/null \
    || ! dpkg -s kamailio-utils-modules >/dev/null 2>&1; then
    apt_install kamailio kamailio-utils-modules sip-tester || echo "tests/sip will be skipped" >&2
    # The tests start their own Kamailio on loopback; the package's service is not wanted.
    if [ -d /run/systemd/system ]; then systemctl disable --now kamailio >/dev/null 2>&1 || true; fi
  fi
else
  .venv/bin/python -m pip install -q -e .
fi
# WeasyPrint (invoice PDFs) lays text out with Pango, and the invoices are set in DejaVu Sans.
if ! ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0 || [ ! -d /usr/share/fonts/truetype/dejavu ]; then
  apt_install libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core
fi
