"""A web server's many request threads share a bounded PostgreSQL pool (DB_POOL, config/asgi.py)."""

from __future__ import annotations

import pytest

from tests.conftest import database_url_for_subprocess
from tests.python_process import run_python

# As Daphne runs Django views: many threads, each request ending with close_old_connections().
PROBE = """
import os
from concurrent.futures import ThreadPoolExecutor

import config.asgi  # noqa: F401  (sets DB_POOL before Django loads settings)
from django.conf import settings
from django.db import close_old_connections, connection


def one_request(_):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    close_old_connections()  # what Django does when a request finishes
    return pid


with ThreadPoolExecutor(max_workers=32) as pool:
    pids = set(pool.map(one_request, range(400)))
print(settings.DATABASES["default"]["CONN_MAX_AGE"], "pids", len(pids))
"""


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_web_process_threads_reuse_a_bounded_pool() -> None:
    result = run_python(
        PROBE,
        DATABASE_URL=database_url_for_subprocess(),
        DB_POOL_MAX_SIZE="4",
        ML_PRELOAD="0",
    )
    max_age, _, backends = result.stdout.strip().splitlines()[-1].split()
    assert max_age == "0"
    # 400 requests on 32 threads were served by at most the pool's 4 backends.
    assert 1 <= int(backends) <= 4


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_pool_can_be_turned_off_for_a_web_process() -> None:
    result = run_python(
        PROBE,
        DATABASE_URL=database_url_for_subprocess(),
        DB_POOL="0",
        DB_CONN_MAX_AGE="60",
        ML_PRELOAD="0",
    )
    max_age, _, backends = result.stdout.strip().splitlines()[-1].split()
    assert max_age == "60"
    assert int(backends) > 4  # a persistent connection per thread: what the pool prevents
