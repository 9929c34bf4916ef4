#!/usr/bin/env bash
# `make run`: the web server on 127.0.0.1:8000 and a Celery worker, stopped together.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .run
.venv/bin/celery -A ccm worker --loglevel INFO --concurrency 1 >.run/worker.log 2>&1 &
worker=$!
trap 'kill $worker 2>/dev/null || true' EXIT INT TERM
echo "worker started (log: .run/worker.log); web at http://127.0.0.1:8000/"
.venv/bin/python manage.py runserver 127.0.0.1:8000
