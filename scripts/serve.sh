#!/usr/bin/env bash
# Installs Billtone and serves it on http://127.0.0.1:8000 (SQLite, demo data), with the
# Celery worker that does the background work (emails, statement uploads) beside it: without
# BILLTONE_BROKER_URL its queue is a folder, var/queue (docs/decisions/0011-*).
# The installer's and the worker's output go to var/*.log; the demo logins come last, in a box.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p var
echo "Installing Billtone into .venv (log: var/install.log) ..."
if ! bash scripts/install.sh >var/install.log 2>&1; then
  tail -n 40 var/install.log
  echo "The install failed; the whole log is in var/install.log." >&2
  exit 1
fi
export BILLTONE_DEBUG=${BILLTONE_DEBUG:-1}
echo "Preparing the database and the demo data ..."
.venv/bin/billtone migrate --noinput -v 0
.venv/bin/billtone demo >var/demo-logins.txt
echo "Starting the background worker (log, with the demo's emails: var/worker.log) ..."
.venv/bin/celery -A config worker --beat --schedule var/celerybeat-schedule \
    --pool threads --concurrency 2 --loglevel WARNING >var/worker.log 2>&1 &
worker=$!
# Once the web server answers, the logins, after its own start-up lines.
(
  for _ in $(seq 1 240); do
    if (exec 3<>/dev/tcp/127.0.0.1/8000) 2>/dev/null; then
      sleep 1
      echo
      cat var/demo-logins.txt
      echo
      break
    fi
    sleep 0.5
  done
) &
announcer=$!
trap 'kill "$worker" "$announcer" 2>/dev/null; wait "$worker" 2>/dev/null' EXIT INT TERM
.venv/bin/billtone runserver 127.0.0.1:8000
