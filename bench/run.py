"""`make bench`: the product at MSO scale on this machine, measured.

Builds a fresh PostgreSQL database (ccm_bench, its own: dropped and created again) with
`generate_load` (BENCH_PATIENTS patients, BENCH_ENTRIES activities in the previous month),
then measures, printing one JSON object per line {"name", "value", "unit"}:

- the month close of the whole practice in this process (median of BENCH_RUNS), and in
  the same run the floor: PostgreSQL's own GROUP BY of the month's shares per patient with
  the unit arithmetic, written to a table (INSERT ... SELECT); close / floor;
- the engine's share of the close: facts building and `evaluate` alone, in CPU seconds;
- the close with 1, 2 and 4 Celery workers (prefork) taking its chunks in parallel;
- the live month view (GET /api/patients/{id}/months/{YYYY-MM}/) for patients with about
  100 entries, and the "my patients" page for nurses with about 200 patients: p50, p95,
  p99 of the server time (django.test.Client in this process), after the nightly job has
  stored the month's progress (its time is printed too), and the median first request
  once every patient of the nurse has changed since;
- POST /api/time-entries/ under load from a second process (bench/http_load.py) against
  gunicorn (2 workers) on 127.0.0.1, and the same insert in a bare Django view;
- the worklist CSV export: time to first byte, total time, peak RSS of the gunicorn
  worker that served it;

and writes docs/benchmarks.md with the machine, the date and every figure. Tests never
assert times; this prints them.

Environment: BENCH_PATIENTS (100000), BENCH_ENTRIES (2000000), BENCH_SEED (1),
BENCH_RUNS (3), BENCH_WORKER_RUNS (2), BENCH_WORKERS ("1,2,4"), CCM_CLOSE_CHUNK_ENTRIES
(400000), CCM_CLOSE_CHUNK_SIZE (25000), BENCH_DB (ccm_bench; must start with ccm_bench),
BENCH_KEEP_DB (0: drop it at the end), BENCH_POST_REQUESTS (3000), BENCH_POST_SECONDS
(20), BENCH_THREADS (8).
"""

# The bench runs its own tools (psql, manage.py, celery, gunicorn) on names it makes, and
# its database name is checked to start with ccm_bench.
# ruff: noqa: S603, S607, S608

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.http_load import percentile  # noqa: E402

PRACTICE = "bench"
PG = "postgres://postgres@127.0.0.1:5432"


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


class Config:
    def __init__(self) -> None:
        self.patients = env_int("BENCH_PATIENTS", 100_000)
        self.entries = env_int("BENCH_ENTRIES", 2_000_000)
        self.seed = env_int("BENCH_SEED", 1)
        self.runs = max(1, env_int("BENCH_RUNS", 3))
        self.worker_runs = max(1, env_int("BENCH_WORKER_RUNS", 2))
        self.workers = [int(n) for n in os.environ.get("BENCH_WORKERS", "1,2,4").split(",") if n]
        self.chunk_size = env_int("CCM_CLOSE_CHUNK_SIZE", 25_000)
        self.chunk_entries = env_int("CCM_CLOSE_CHUNK_ENTRIES", 400_000)
        self.database = os.environ.get("BENCH_DB", "ccm_bench")
        if not self.database.startswith("ccm_bench"):
            raise SystemExit("BENCH_DB must start with ccm_bench (the bench drops it)")
        self.keep = os.environ.get("BENCH_KEEP_DB", "0") not in ("", "0", "false", "no")
        self.post_requests = env_int("BENCH_POST_REQUESTS", 3000)
        self.post_seconds = env_int("BENCH_POST_SECONDS", 20)
        self.threads = env_int("BENCH_THREADS", 8)
        today = dt.date.today()
        self.month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
        self.url = f"{PG}/{self.database}"
        self.queue = f"ccm-bench-{os.getpid()}"


CONFIG = Config()
FIGURES: list[dict[str, Any]] = []
NOTES: list[str] = []


def emit(name: str, value: float | int | str, unit: str) -> None:
    """One figure: printed as a JSON line and kept for docs/benchmarks.md."""
    figure = {"name": name, "value": value, "unit": unit}
    FIGURES.append(figure)
    print(json.dumps(figure), flush=True)


def say(text: str) -> None:
    print(f"[bench] {text}", file=sys.stderr, flush=True)


def child_env(**extra: str) -> dict[str, str]:
    return dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="bench.settings",
        BENCH_DATABASE_URL=CONFIG.url,
        BENCH_QUEUE=CONFIG.queue,
        CCM_CLOSE_CHUNK_SIZE=str(CONFIG.chunk_size),
        CCM_CLOSE_CHUNK_ENTRIES=str(CONFIG.chunk_entries),
        SECRET_KEY="bench-only-secret",  # noqa: S106 (the bench's own throwaway servers)
        DEBUG="false",
        PYTHONPATH=str(ROOT),
        **extra,
    )


def psql(database: str, sql: str) -> str:
    return subprocess.run(
        ["psql", f"{PG}/{database}", "-v", "ON_ERROR_STOP=1", "-Atqc", sql],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def manage(*args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=child_env(),
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


# The database.


def build_database() -> None:
    name = CONFIG.database
    say(f"fresh database {name}")
    psql(
        "postgres",
        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'",
    )
    psql("postgres", f'DROP DATABASE IF EXISTS "{name}"')
    psql("postgres", f'CREATE DATABASE "{name}"')
    seconds, _ = timed(lambda: manage("migrate", "--noinput", "-v", "0"))
    emit("migrate_seconds", round(seconds, 2), "s")
    say(f"generate_load {CONFIG.patients} patients, {CONFIG.entries} entries")
    seconds, out = timed(
        lambda: manage(
            "generate_load",
            "--practice",
            PRACTICE,
            "--patients",
            str(CONFIG.patients),
            "--entries",
            str(CONFIG.entries),
            "--month",
            f"{CONFIG.month:%Y-%m}",
            "--seed",
            str(CONFIG.seed),
        )
    )
    counts = json.loads(out.strip().splitlines()[-1])
    emit("load_seconds", round(seconds, 2), "s")
    for key in ("patients", "activities", "shares", "conditions", "mdm_attestations"):
        emit(f"load_{key}", counts[key], "rows")
    seconds, _ = timed(lambda: psql(name, "VACUUM ANALYZE"))
    emit("vacuum_analyze_seconds", round(seconds, 2), "s")


def drop_database() -> None:
    if CONFIG.keep:
        say(f"kept database {CONFIG.database}")
        return
    from django.db import connections

    connections.close_all()
    psql(
        "postgres",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        f" WHERE datname = '{CONFIG.database}'",
    )
    psql("postgres", f'DROP DATABASE IF EXISTS "{CONFIG.database}"')


def setup_django() -> None:
    os.environ.update(child_env())
    import django

    django.setup()


# The close and its floor.

FLOOR_SQL = """
INSERT INTO bench_floor (patient_id, clinical_staff_seconds, practitioner_seconds, tier,
                         base_code, base_units, addon_code, addon_units)
SELECT patient_id, c, p,
       CASE WHEN c + p >= 1200 THEN 'non_complex' ELSE '' END,
       '99490', CASE WHEN c + p >= 1200 THEN 1 ELSE 0 END,
       '99439', LEAST(2, GREATEST(0, (c + p - 1200) / 1200))
FROM (
    SELECT s.patient_id,
           sum(s.seconds) FILTER (WHERE a.performer_kind = 'clinical_staff')::int AS c,
           coalesce(sum(s.seconds) FILTER (WHERE a.performer_kind = 'practitioner'), 0)::int
               AS p
    FROM timelog_timeshare s
    JOIN timelog_timeactivity a ON a.id = s.activity_id
    JOIN patients_patient pt ON pt.id = s.patient_id
    WHERE pt.practice_id = %(practice)s AND pt.is_active
      AND s.date BETWEEN %(first)s AND %(last)s AND a.program = 'ccm'
    GROUP BY s.patient_id
) per_patient
"""


def floor_seconds(practice_id: int) -> float:
    """PostgreSQL alone: the per-patient sums and unit arithmetic in one INSERT ... SELECT
    over the same tables, committed (a lower bound for any close that writes its result)."""
    from django.db import connection, transaction

    from ccm.periods import month_end

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_floor")
        cursor.execute(
            "CREATE TABLE bench_floor (patient_id bigint, clinical_staff_seconds int,"
            " practitioner_seconds int, tier text, base_code text, base_units int,"
            " addon_code text, addon_units int)"
        )
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            FLOOR_SQL,
            {"practice": practice_id, "first": CONFIG.month, "last": month_end(CONFIG.month)},
        )
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_floor")
    return seconds


def reset_month(practice: Any, billing_user: Any) -> None:
    """Back to an open month with no worklist rows, so each close starts alike."""
    from django.db import connection

    from billing.close import reopen_month
    from ccm.models import BillingMonth

    with connection.cursor() as cursor:
        # CASCADE: the claims app's interchanges refer to rows (none in the bench's data).
        cursor.execute("TRUNCATE billing_claimline, billing_worklistrow CASCADE")
    month = BillingMonth.objects.filter(practice=practice, month=CONFIG.month).first()
    if month is not None and month.status == BillingMonth.Status.CLOSED:
        reopen_month(practice=practice, month=CONFIG.month, actor=billing_user, reason="bench")


def close_inline(practice: Any, billing_user: Any) -> float:
    from billing.close import close_request, close_run_inline

    reset_month(practice, billing_user)
    started = time.perf_counter()
    run, claimed = close_request(practice=practice, month=CONFIG.month, actor=billing_user)
    if not claimed or run is None:
        raise SystemExit("the bench could not claim the month")
    close_run_inline(run)
    return time.perf_counter() - started


def check_close(practice: Any) -> None:
    from billing.close import close_summary

    summary = close_summary(practice, CONFIG.month)
    if summary.patients != CONFIG.patients:
        raise SystemExit(f"the close wrote {summary.patients} rows for {CONFIG.patients}")
    emit("close_rows", summary.patients, "rows")
    emit("close_billable", summary.billable, "rows")
    emit("close_total_amount", float(summary.total_amount), "USD")


def python_cpu(
    chunks: Iterable[Sequence[int]], month: dt.date, rulebook: Any
) -> tuple[float, float, int]:
    """The close's Python work alone, in CPU seconds of this process, over the given
    chunks of patient ids: (building the facts, queries included; the engine's
    `evaluate`; the entries evaluated)."""
    import gc

    from billing.rules import evaluate
    from billing.selectors import patient_keys, patients_month_engine_facts

    facts_cpu = engine_cpu = 0.0
    entries = 0
    gc.disable()
    try:
        for ids in chunks:
            begin = time.process_time()
            keys = patient_keys(ids)
            facts = patients_month_engine_facts(keys, month)
            middle = time.process_time()
            for key in keys:
                evaluate(facts[key[0]], rulebook)
            facts_cpu += middle - begin
            engine_cpu += time.process_time() - middle
            entries += sum(len(f.time_entries) for f in facts.values())
            del facts
    finally:
        gc.enable()
    return facts_cpu, engine_cpu, entries


def engine_share(practice: Any) -> None:
    """The close's Python work alone (`python_cpu`), chunk by chunk."""
    from billing import rules
    from billing.selectors import practice_rulebook
    from patients.models import Patient

    ids = list(
        Patient.objects.filter(practice=practice, is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    size = CONFIG.chunk_size
    chunks = (ids[start : start + size] for start in range(0, len(ids), size))
    facts_cpu, engine_cpu, entries = python_cpu(
        chunks, CONFIG.month, practice_rulebook(practice, CONFIG.month)
    )
    emit("facts_build_cpu_seconds", round(facts_cpu, 2), "s")
    emit("engine_evaluate_cpu_seconds", round(engine_cpu, 2), "s")
    emit("engine_evaluate_us_per_entry", round(1e6 * engine_cpu / max(entries, 1), 2), "us")
    emit("engine_compiled", int(rules.COMPILED), "1 = mypyc build, 0 = pure Python")


def stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process's group (it runs in its own session), SIGKILL after 30 s."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@contextmanager
def celery_worker(concurrency: int) -> Iterator[None]:
    """A `celery -A ccm worker` (prefork, `concurrency` processes) on the bench queue."""
    from ccm.celery import app

    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("celery")),
            "-A",
            "ccm",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "WARNING",
            "--without-mingle",
            "--without-gossip",
            "-n",
            f"bench{concurrency}-{os.getpid()}@%h",
            "-Q",
            CONFIG.queue,
        ],
        cwd=ROOT,
        env=child_env(),
        stdout=sys.stderr,  # stdout carries only the figures
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(timeout=0.5):
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit("the Celery worker did not start")
        yield
    finally:
        stop_process_group(process)


def close_with_workers(practice: Any, billing_user: Any) -> float:
    from django.db import transaction

    from billing.services import billing_month_close_start
    from ccm.models import BillingMonth

    reset_month(practice, billing_user)
    started = time.perf_counter()
    with transaction.atomic():
        billing_month_close_start(practice=practice, month=CONFIG.month, actor=billing_user)
    month = BillingMonth.objects.filter(practice=practice, month=CONFIG.month)
    deadline = started + 1800
    while month.values_list("status", flat=True).first() != BillingMonth.Status.CLOSED:
        if time.perf_counter() > deadline:
            raise SystemExit("the close with workers did not finish in 30 minutes")
        time.sleep(0.05)
    return time.perf_counter() - started


def measure_close(practice: Any, billing_user: Any) -> None:
    closes: list[float] = []
    floors: list[float] = []
    for run in range(CONFIG.runs):
        floors.append(floor_seconds(practice.pk))
        closes.append(close_inline(practice, billing_user))
        say(f"run {run + 1}: close {closes[-1]:.2f} s, floor {floors[-1]:.2f} s")
    check_close(practice)
    close, floor = statistics.median(closes), statistics.median(floors)
    emit("close_seconds", round(close, 2), "s")
    emit("floor_seconds", round(floor, 2), "s")
    emit("close_over_floor", round(close / floor, 2), "x")
    emit("close_runs", ", ".join(f"{s:.2f}" for s in closes), "s")
    emit("floor_runs", ", ".join(f"{s:.2f}" for s in floors), "s")
    emit("close_patients_per_second", round(CONFIG.patients / close), "patients/s")
    engine_share(practice)
    values = {f["name"]: f["value"] for f in FIGURES}
    cores = os.cpu_count() or 1
    bound = (values["facts_build_cpu_seconds"] + values["engine_evaluate_cpu_seconds"]) / cores
    # The close can be no faster than its Python work spread over every core, whatever
    # the database does: this is that bound, beside the PostgreSQL floor.
    emit("python_bound_seconds_all_cores", round(bound, 2), "s")
    emit("python_bound_over_floor", round(bound / floor, 2), "x")
    for workers in CONFIG.workers:
        with celery_worker(workers):
            runs = [close_with_workers(practice, billing_user) for _ in range(CONFIG.worker_runs)]
        seconds = statistics.median(runs)
        say(f"{workers} workers: {', '.join(f'{s:.2f}' for s in runs)} s")
        emit(f"close_workers_{workers}_seconds", round(seconds, 2), "s")
        emit(f"close_workers_{workers}_over_floor", round(seconds / floor, 2), "x")
    check_close(practice)


# The live pages.


def latencies(
    client: Any, urls: list[str], repeat: int = 1, warmup: int = 5
) -> tuple[list[float], int]:
    for url in urls[:warmup]:
        client.get(url)
    samples: list[float] = []
    status = 200
    for _ in range(repeat):
        for url in urls:
            started = time.perf_counter()
            response = client.get(url)
            samples.append(time.perf_counter() - started)
            if response.status_code != 200:
                status = response.status_code
    return samples, status


def emit_latencies(name: str, samples: list[float]) -> None:
    for label, fraction in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        emit(f"{name}_{label}_ms", round(1000 * percentile(samples, fraction), 2), "ms")
    emit(f"{name}_requests", len(samples), "requests")


def measure_pages(practice: Any, billing_user: Any) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import NoReverseMatch, reverse

    from ccm.periods import month_end

    month = f"{CONFIG.month:%Y-%m}"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT patient_id, count(*) AS n FROM timelog_timeshare"
            " WHERE date BETWEEN %s AND %s GROUP BY patient_id"
            " ORDER BY abs(count(*) - 100), patient_id LIMIT 100",
            [CONFIG.month, month_end(CONFIG.month)],
        )
        heavy = cursor.fetchall()
    client = Client()
    client.force_login(billing_user)
    urls = [f"/api/patients/{pk}/months/{month}/" for pk, _ in heavy]
    samples, status = latencies(client, urls, repeat=max(1, 300 // max(len(urls), 1)))
    if status != 200:
        NOTES.append(f"the month view answered {status}")
    emit("month_view_entries_median", statistics.median(n for _, n in heavy), "entries")
    emit_latencies("month_view", samples)
    with CaptureQueriesContext(connection) as queries:
        client.get(urls[0])
    emit("month_view_queries", len(queries.captured_queries), "queries")

    try:
        page = reverse("my-patients")
    except NoReverseMatch:
        say("my-patients is not in the URLs yet: skipped")
        emit("my_patients", "skipped: reverse('my-patients') does not resolve", "")
        return
    from ccm.models import User

    since = (CONFIG.month - dt.timedelta(days=62)).replace(day=1)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.performer_id, count(DISTINCT s.patient_id) AS n"
            " FROM timelog_timeshare s JOIN timelog_timeactivity a ON a.id = s.activity_id"
            " JOIN ccm_user u ON u.id = a.performer_id"
            " WHERE s.date BETWEEN %s AND %s AND u.role IN ('rn', 'lpn')"
            " GROUP BY a.performer_id ORDER BY abs(count(DISTINCT s.patient_id) - 200)"
            " LIMIT 5",
            [since, month_end(CONFIG.month)],
        )
        nurses = cursor.fetchall()
    from billing.tasks import refresh_call_lists

    # The nightly job's work for the month: every patient's progress worked out and stored.
    seconds, _ = timed(lambda: refresh_call_lists(month))
    emit("call_list_refresh_seconds", round(seconds, 2), "s")
    samples, cold = [], []
    for nurse_id, _ in nurses:
        client = Client()
        client.force_login(User.objects.get(pk=nurse_id))
        some, status = latencies(client, [f"{page}?month={month}"], repeat=20, warmup=2)
        samples += some
        if status != 200:
            NOTES.append(f"my patients answered {status}")
        # Every patient of the nurse changed since the night: all worked out again.
        _bump_revisions_of_nurse(nurse_id, since)
        started = time.perf_counter()
        client.get(f"{page}?month={month}")
        cold.append((time.perf_counter() - started) * 1000)
    emit("my_patients_patients_median", statistics.median(n for _, n in nurses), "patients")
    emit_latencies("my_patients", samples)
    emit("my_patients_all_changed_median_ms", round(statistics.median(cold), 1), "ms")
    with CaptureQueriesContext(connection) as queries:
        client.get(f"{page}?month={month}")
    emit("my_patients_queries", len(queries.captured_queries), "queries")


def _bump_revisions_of_nurse(nurse_id: int, since: dt.date) -> None:
    """As if each of the nurse's patients had a new entry since their progress was stored."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT billing_bump_facts_revision(ARRAY(SELECT DISTINCT s.patient_id"
            " FROM timelog_timeshare s JOIN timelog_timeactivity a ON a.id = s.activity_id"
            " WHERE a.performer_id = %s AND a.date >= %s))",
            [nurse_id, since],
        )


# Over HTTP: gunicorn on 127.0.0.1.


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def gunicorn(workers: int) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "ccm.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--timeout",
            "300",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=child_env(),
        stdout=sys.stderr,  # stdout carries only the figures
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.2)
        yield port, process
    finally:
        stop_process_group(process)


def http_load(url: str, clients_file: str, requests: int, seconds: float) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "http_load.py"),
            "--url",
            url,
            "--clients",
            clients_file,
            "--threads",
            str(CONFIG.threads),
            "--requests",
            str(requests),
            "--seconds",
            str(seconds),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, Any] = json.loads(out)
    return result


def post_clients(practice: Any) -> list[dict[str, Any]]:
    """One nurse per thread, each with a token and bodies for 20 of their patients, dated
    today (the current month is open)."""
    from django.db import connection
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from ccm.models import User

    today = timezone.localdate().isoformat()
    nurses = list(
        User.objects.filter(practice=practice, role__in=["rn", "lpn"]).order_by("pk")[
            : CONFIG.threads
        ]
    )
    clients = []
    for nurse in nurses:
        token, _ = Token.objects.get_or_create(user=nurse)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT DISTINCT s.patient_id FROM timelog_timeshare s"
                " JOIN timelog_timeactivity a ON a.id = s.activity_id"
                " WHERE a.performer_id = %s ORDER BY s.patient_id LIMIT 20",
                [nurse.pk],
            )
            patients = [row[0] for row in cursor.fetchall()] or [
                practice.patients.order_by("pk").values_list("pk", flat=True).first()
            ]
        bodies = [
            {
                "patients": [pk],
                "date": today,
                "minutes": 5,
                "activity": "patient_call",
                "note": "Bench: called about medications.",
            }
            for pk in patients
        ]
        clients.append({"token": token.key, "bodies": bodies})
    return clients


def measure_post(practice: Any) -> None:
    clients = post_clients(practice)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(clients, handle)
        clients_file = handle.name
    try:
        with gunicorn(2) as (port, _):
            base = f"http://127.0.0.1:{port}"
            api, bare = f"{base}/api/time-entries/", f"{base}/bench/bare-time-entry/"
            for url in (api, bare):  # warm both workers and their connections
                http_load(url, clients_file, 100, 10)
            results: dict[str, list[dict[str, Any]]] = {"api": [], "bare": []}
            for _ in range(2):
                for name, url in (("api", api), ("bare", bare)):
                    results[name].append(
                        http_load(url, clients_file, CONFIG.post_requests, CONFIG.post_seconds)
                    )
                    say(f"POST {name}: {results[name][-1]}")
        for name, runs in results.items():
            best = max(runs, key=lambda r: r["rps"])
            errors = sum(r["errors"] for r in runs)
            if errors:
                NOTES.append(f"POST {name}: {errors} errors, e.g. {runs[0]['first_error']}")
            emit(f"post_{name}_rps", round(statistics.median(r["rps"] for r in runs), 1), "req/s")
            emit(f"post_{name}_p50_ms", best["p50_ms"], "ms")
            emit(
                f"post_{name}_p99_ms", round(statistics.median(r["p99_ms"] for r in runs), 2), "ms"
            )
            emit(f"post_{name}_requests", sum(r["requests"] for r in runs), "requests")
        api_rps = statistics.median(r["rps"] for r in results["api"])
        bare_rps = statistics.median(r["rps"] for r in results["bare"])
        emit("post_api_over_bare", round(api_rps / bare_rps, 3) if bare_rps else 0, "ratio")
    finally:
        os.unlink(clients_file)


def measure_export(practice: Any, billing_user: Any) -> None:
    from bench.exports import measure_exports

    measure_exports(
        practice=practice,
        billing_user=billing_user,
        month=CONFIG.month,
        serve=gunicorn,
        emit=emit,
        runs=CONFIG.runs,
    )


# The report.


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kb / 1024 / 1024:.1f} GB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "postgresql": psql("postgres", "SHOW server_version"),
        "shared_buffers": psql("postgres", "SHOW shared_buffers"),
        "work_mem": psql("postgres", "SHOW work_mem"),
    }


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


TARGETS = (
    ("close_over_floor", "<=", 5.0, "close (in-process) at most 5x the PostgreSQL floor"),
    ("close_workers_2_over_floor", "<=", 3.0, "close with 2 workers at most 3x the floor"),
    ("month_view_p95_ms", "<", 50.0, "live month view p95 under 50 ms"),
    ("my_patients_p95_ms", "<", 50.0, "my patients p95 under 50 ms"),
    ("engine_evaluate_us_per_entry", "<=", 1.5, "engine at most 1.5 us per time entry"),
    ("post_api_over_bare", ">=", 0.75, "time-entry POST at least 75% of bare Django"),
    ("export_first_byte_seconds", "<", 1.0, "CSV export first byte under 1 s"),
    ("export_total_seconds", "<=", 2.0, "CSV export to the last byte at most 2 s"),
    ("export_rss_peak_mb", "<", 150.0, "CSV export serving process under 150 MB"),
    ("export_837p_over_csv", "<=", 3.0, "837P export at most 3x the CSV"),
    ("export_837p_rss_peak_mb", "<", 150.0, "837P export serving process under 150 MB"),
    ("export_fhir_over_csv", "<=", 3.0, "FHIR export at most 3x the CSV"),
    ("export_fhir_rss_peak_mb", "<", 150.0, "FHIR export serving process under 150 MB"),
)


def write_report(started: dt.datetime, load_before: str, seconds: float) -> None:
    values = {f["name"]: f["value"] for f in FIGURES}
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (bench/run.py); every figure of the run below. Tests never",
        "assert times: this file is where they are.",
        "",
        f"- Date: {started:%Y-%m-%d %H:%M} (local), {seconds / 60:.1f} min for the whole run",
        f"- Size: {CONFIG.patients} patients, {CONFIG.entries} activities "
        f"({values.get('load_shares', '?')} shares) in {CONFIG.month:%Y-%m}, seed "
        f"{CONFIG.seed}; close chunks of about {CONFIG.chunk_entries} entries, "
        f"{CONFIG.chunk_size} patients at most",
        f"- Runs: close and floor {CONFIG.runs} times each (medians), each worker count "
        f"{CONFIG.worker_runs} times",
        f"- Load average (1, 5, 15 min) before: {load_before}; after: {load_average()} "
        "(other work on the machine slows every figure)",
        "",
        "## Machine",
        "",
    ]
    lines += [f"- {key}: {value}" for key, value in machine().items()]
    lines += [
        "",
        "## Reading the figures",
        "",
        "- The engine alone (`evaluate`,"
        f" {'compiled by mypyc' if values.get('engine_compiled') else 'pure Python'}) took"
        f" {values.get('engine_evaluate_cpu_seconds')} CPU s"
        f" ({values.get('engine_evaluate_us_per_entry')} us per entry) and building the"
        f" facts {values.get('facts_build_cpu_seconds')} CPU s; spread perfectly over"
        f" {os.cpu_count()} cores that is {values.get('python_bound_seconds_all_cores')} s,"
        f" {values.get('python_bound_over_floor')}x the PostgreSQL floor: the bound no"
        " database work can lower.",
        "- The load average shows other work on the machine during the run (a shared",
        "  machine): every figure moves with it, the close/floor ratios least.",
    ]
    lines += ["", "## Targets", "", "| target | figure | value | met |", "|---|---|---|---|"]
    for name, op, limit, text in TARGETS:
        value = values.get(name)
        if isinstance(value, int | float):
            met = {"<=": value <= limit, "<": value < limit, ">=": value >= limit}[op]
            lines.append(f"| {text} | {name} | {value} | {'yes' if met else 'no'} |")
        else:
            lines.append(f"| {text} | {name} | {value if value is not None else '-'} | - |")
    lines += ["", "## Every figure", "", "| name | value | unit |", "|---|---|---|"]
    lines += [f"| {f['name']} | {f['value']} | {f['unit']} |" for f in FIGURES]
    if NOTES:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in NOTES]
    lines += [
        "",
        "## What is measured",
        "",
        "- close_seconds: `close_request` + `close_run_inline` in one process (claim, every",
        "  chunk: facts, engine, COPY of rows and lines, chunk marked done; finalize), from an",
        "  open month with no rows. floor_seconds: one `INSERT ... SELECT` of the per-patient",
        "  sums of the month's CCM shares by performer kind and the 99490/99439 unit",
        "  arithmetic, over the same tables, committed. Both medians of the runs, interleaved.",
        "- facts_build_cpu_seconds / engine_evaluate_cpu_seconds: the same chunks built and",
        "  evaluated in one process, CPU time: the part of the close no database can remove.",
        "- close_workers_N_seconds: `billing_month_close_start` (the API's path) until the",
        "  month reads closed, with one `celery worker --pool prefork --concurrency N`.",
        "- month_view / my_patients: django.test.Client in the bench process (server time,",
        "  no network); the month view over the patients with the nearest to 100 entries,",
        "  my patients over the nurses with the nearest to 200 patients (tab Mine), after",
        "  the nightly job stored the month's progress (call_list_refresh_seconds);",
        "  my_patients_all_changed_median_ms is the first request once every patient of",
        "  the nurse has changed since (all worked out again).",
        "- post_*: bench/http_load.py in its own process, 8 threads (one nurse each), against",
        "  gunicorn with 2 sync workers; `api` is POST /api/time-entries/ (token auth), `bare`",
        "  the same insert (activity + share) in a plain Django view (bench/bare.py).",
        "- export_*: GET /api/worklist/export/ (CSV), export_837p_* and export_fhir_*: the",
        "  837P and FHIR exports of the same month (bench/exports.py), each against gunicorn",
        "  with 1 worker; RSS of that worker sampled every 20 ms (and its VmHWM).",
        "- engine_evaluate_us_per_entry: engine CPU over the month's entries;",
        "  `python bench/engine.py` measures it alone, without a database.",
        "- The close's figures at other sizes (`python bench/scale.py`) and the partition",
        "  experiment (`python bench/partitions.py`) are in docs/scaling.md.",
    ]
    path = ROOT / "docs" / "benchmarks.md"
    path.parent.mkdir(exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    say(f"wrote {path}")


def main() -> None:
    if shutil.which("psql") is None:
        raise SystemExit("psql is needed (make services installs PostgreSQL)")
    started, load_before, clock = dt.datetime.now(), load_average(), time.perf_counter()
    say(f"load average before: {load_before}")
    build_database()
    setup_django()
    from ccm.models import Practice, User

    practice = Practice.objects.get(slug=PRACTICE)
    billing_user = User.objects.filter(practice=practice, role="billing").order_by("pk").first()
    try:
        measure_close(practice, billing_user)
        # What autovacuum does after the close's bulk writes in production (it is off on
        # some machines here): the pages and exports are then planned on true counts.
        psql(CONFIG.database, "ANALYZE")
        measure_pages(practice, billing_user)
        measure_post(practice)
        measure_export(practice, billing_user)
        write_report(started, load_before, time.perf_counter() - clock)
    finally:
        drop_database()


if __name__ == "__main__":
    main()
