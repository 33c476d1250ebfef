#!/usr/bin/env bash
# Installs Billtone and serves it on http://127.0.0.1:8000 (SQLite, demo data).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export BILLTONE_DEBUG=${BILLTONE_DEBUG:-1}
.venv/bin/billtone migrate --noinput -v 0
.venv/bin/billtone demo
exec .venv/bin/billtone runserver 127.0.0.1:8000
