#!/usr/bin/env bash
# Prints `export` lines pointing the tests at local PostgreSQL and Redis when they answer.
# With REQUIRE_SERVICES=1 (CI) a missing service is an error instead of a skip.
set -u
# `services_env.sh redis-demo`: only Redis (db 0), for the demo; the database stays SQLite.
mode="${1:-test}"
out=""
if [ "$mode" = test ] && [ -z "${DATABASE_URL:-}" ]; then
  if python3 - <<'PY' 2>/dev/null
import socket; socket.create_connection(("127.0.0.1", 5432), 1).close()
PY
  then out+="export DATABASE_URL=postgres://postgres@127.0.0.1:5432/test"$'\n'
  elif [ "${REQUIRE_SERVICES:-0}" = 1 ]; then echo "echo 'PostgreSQL is not answering on 127.0.0.1:5432' >&2; exit 1"; exit 0
  fi
fi
if [ -z "${REDIS_URL:-}" ]; then
  if python3 - <<'PY' 2>/dev/null
import socket; s = socket.create_connection(("127.0.0.1", 6379), 1); s.sendall(b"PING\r\n"); assert s.recv(16).startswith(b"+PONG")
PY
  then [ "$mode" = test ] && db=15 || db=0
       out+="export REDIS_URL=redis://127.0.0.1:6379/$db"$'\n'
  elif [ "${REQUIRE_SERVICES:-0}" = 1 ]; then echo "echo 'Redis is not answering on 127.0.0.1:6379' >&2; exit 1"; exit 0
  fi
fi
printf '%s' "$out"
