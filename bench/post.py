"""Only the time-entry POST part of `make bench`: POST /api/time-entries/ and the bare
Django insert (bench/bare.py) under the same load, against gunicorn with 2 workers, as
bench/run.py's measure_post does it, repeated BENCH_POST_ROUNDS times on one database.

    BENCH_DB=ccm_bench_post BENCH_PATIENTS=5000 BENCH_ENTRIES=100000 \
        .venv/bin/python bench/post.py

Prints each round's figures as JSON lines, then the median ratio of the rounds
(`post_api_over_bare_median`). With BENCH_POST_MODE=cpu it runs no server: it sends
BENCH_POST_REQUESTS bodies of each kind, one at a time, through Django's WSGI handler in
this process and prints the CPU milliseconds one request costs this process and its
PostgreSQL backend (`post_{api,bare}_cpu_ms`), which a busy shared machine disturbs far
less than a throughput. The database is built as `make bench` builds it, or reused
when BENCH_REUSE_DB=1 and it exists (a quick before/after on one data set); it is dropped
at the end unless BENCH_KEEP_DB=1. Speed is printed here, never asserted by a test.
"""

# The database name is checked to start with ccm_bench by bench.run's Config.
# ruff: noqa: S608

from __future__ import annotations

import io
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import run  # noqa: E402


def database_exists() -> bool:
    name = run.CONFIG.database
    return run.psql("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{name}'") == "1"


def backend_cpu_seconds() -> float:
    """The CPU time (user + system) of this connection's PostgreSQL backend so far."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_per_request(path: str, clients: list[dict[str, Any]], requests: int) -> dict[str, float]:
    """POST `requests` bodies to `path` through the WSGI handler, cycling through the
    clients; the CPU milliseconds per request of this process and of its backend."""
    from django.core.handlers.wsgi import WSGIHandler

    handler = WSGIHandler()
    payloads = [
        (client["token"], json.dumps(body).encode())
        for client in clients
        for body in client["bodies"]
    ]

    def post(token: str, body: bytes) -> int:
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": path,
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_AUTHORIZATION": f"Token {token}",
            "HTTP_ACCEPT": "application/json",
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
        }
        status: list[str] = []

        def start_response(code: str, headers: Any, *_: Any) -> Any:
            status.append(code)

        response = handler(environ, start_response)
        b"".join(response)
        response.close()
        return int(status[0].split()[0])

    for token, body in payloads[:50]:  # warm: imports, connections, caches
        post(token, body)
    backend, python, wall = backend_cpu_seconds(), time.process_time(), time.perf_counter()
    for index in range(requests):
        code = post(*payloads[index % len(payloads)])
        if code not in (200, 201):
            raise SystemExit(f"POST {path} answered {code}")
    wall = time.perf_counter() - wall
    python = time.process_time() - python
    backend = backend_cpu_seconds() - backend
    return {
        "python_ms": round(1000 * python / requests, 3),
        "postgres_ms": round(1000 * backend / requests, 3),
        "cpu_ms": round(1000 * (python + backend) / requests, 3),
        "wall_ms": round(1000 * wall / requests, 3),
    }


def measure_cpu(practice: Any, rounds: int) -> None:
    clients = run.post_clients(practice)
    results: dict[str, list[dict[str, float]]] = {"api": [], "bare": []}
    for _ in range(rounds):
        for name, path in (("api", "/api/time-entries/"), ("bare", "/bench/bare-time-entry/")):
            results[name].append(cpu_per_request(path, clients, run.CONFIG.post_requests))
            run.say(f"POST {name}: {results[name][-1]}")
    for name, runs in results.items():
        for key in ("python_ms", "postgres_ms", "cpu_ms", "wall_ms"):
            run.emit(f"post_{name}_{key}", statistics.median(r[key] for r in runs), "ms")
    api = statistics.median(r["cpu_ms"] for r in results["api"])
    bare = statistics.median(r["cpu_ms"] for r in results["bare"])
    run.emit("post_bare_over_api_cpu", round(bare / api, 3), "ratio")


def main() -> None:
    rounds = max(1, run.env_int("BENCH_POST_ROUNDS", 3))
    reuse = os.environ.get("BENCH_REUSE_DB", "0") not in ("", "0", "false", "no")
    run.say(f"load average before: {run.load_average()}")
    if not (reuse and database_exists()):
        run.build_database()
    run.setup_django()
    from ccm.models import Practice

    practice = Practice.objects.get(slug=run.PRACTICE)
    ratios: list[float] = []
    try:
        if os.environ.get("BENCH_POST_MODE") == "cpu":
            measure_cpu(practice, rounds)
            return
        for _ in range(rounds):
            run.measure_post(practice)
            ratios.append(float(run.FIGURES[-1]["value"]))
        run.emit("post_api_over_bare_median", round(statistics.median(ratios), 3), "ratio")
        run.say(f"load average after: {run.load_average()}")
    finally:
        if not reuse:
            run.drop_database()


if __name__ == "__main__":
    main()
