#!/usr/bin/env bash
# Installs what the tests need, runs lint, then the whole suite on SQLite and on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --dev

echo "== lint (ruff)"
.venv/bin/ruff check .
.venv/bin/ruff format --check .

PYTEST=(.venv/bin/python -m pytest -n "${BILLTONE_TEST_WORKERS:-2}" -q "$@")

echo "== tests on SQLite"
env -u DATABASE_URL "${PYTEST[@]}"

echo "== tests on PostgreSQL"
source scripts/postgres.sh
source scripts/redis.sh
postgres_use  # sets POSTGRES_URL; a throwaway server lives as long as this shell
redis_use  # the bill run through a real Celery worker (billing, PostgreSQL only)
DATABASE_URL="$POSTGRES_URL" "${PYTEST[@]}"
