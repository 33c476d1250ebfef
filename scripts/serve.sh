#!/usr/bin/env bash
# Installs Billtone and serves it on http://127.0.0.1:8000 (SQLite, demo data), with the
# Celery worker that does the background work (emails, statement uploads) beside it: without
# BILLTONE_BROKER_URL its queue is a folder, var/queue (docs/decisions/0011-*).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export BILLTONE_DEBUG=${BILLTONE_DEBUG:-1}
.venv/bin/billtone migrate --noinput -v 0
.venv/bin/billtone demo
mkdir -p var
.venv/bin/celery -A config worker --beat --schedule var/celerybeat-schedule \
    --pool threads --concurrency 2 --loglevel WARNING &
worker=$!
trap 'kill "$worker" 2>/dev/null; wait "$worker" 2>/dev/null' EXIT INT TERM
.venv/bin/billtone runserver 127.0.0.1:8000
