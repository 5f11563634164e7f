#!/bin/sh
# Wait for PostgreSQL, optionally migrate, then exec the container's command (so it gets PID 1's
# signals and Celery/daphne shut down cleanly on `docker compose stop`).
#   DB_WAIT_SECONDS   how long to wait for the database (default 60)
#   RUN_MIGRATIONS=1  run `manage.py migrate` first; compose leaves this to its one-shot
#                     `migrate` service instead, so replicas never race each other on migrations.
set -eu

if [ -n "${DATABASE_URL:-}" ] && case "$DATABASE_URL" in postgres*) true ;; *) false ;; esac; then
    python - <<'PY'
import os
import sys
import time

import psycopg

url = os.environ["DATABASE_URL"]
deadline = time.monotonic() + float(os.environ.get("DB_WAIT_SECONDS", "60"))
while True:
    try:
        psycopg.connect(url, connect_timeout=3).close()
        break
    except psycopg.OperationalError as exc:
        if time.monotonic() > deadline:
            sys.exit(f"entrypoint: database not reachable: {exc}")
        print("entrypoint: waiting for the database...", file=sys.stderr, flush=True)
        time.sleep(1)
PY
fi

if [ "${RUN_MIGRATIONS:-0}" = "1" ]; then
    python manage.py migrate --noinput
fi

exec "$@"
