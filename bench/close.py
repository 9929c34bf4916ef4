"""A quick benchmark of the month close alone (issue 16): close seconds over the
PostgreSQL floor, in one process and with Celery workers, the facts builder's and the
engine's CPU seconds, and the time of the biggest and the smallest chunk.

It reuses `bench.run`'s helpers (build_database, setup_django, floor_seconds,
close_inline, close_with_workers) on a database of its own that it keeps between runs
(BENCH_DB=ccm_bench_close, BENCH_KEEP_DB=1 by default): the load is generated once for a
size (BENCH_PATIENTS, BENCH_ENTRIES, BENCH_SEED) and reused while that size stays the
same. Prints one JSON object per line {"name", "value", "unit"}, like `make bench`.

Environment: as bench/run.py, plus BENCH_CLOSE_WORKERS ("2": the worker counts to
measure, "" for none) and BENCH_RUNS (3). The close's chunking comes from the settings
(CCM_CLOSE_CHUNK_ENTRIES, CCM_CLOSE_CHUNK_SIZE) as in production.

    BENCH_PATIENTS=20000 BENCH_ENTRIES=400000 .venv/bin/python bench/close.py
"""

# ruff: noqa: S608 (the database name is checked by bench.run to start with ccm_bench)

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("BENCH_DB", "ccm_bench_close")
os.environ.setdefault("BENCH_KEEP_DB", "1")

from bench import run as bench  # noqa: E402


def _loaded_size() -> tuple[int, int] | None:
    """(patients, activities) of the kept database's bench practice, None when absent."""
    name = bench.CONFIG.database
    if bench.psql("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{name}'") != "1":
        return None
    try:
        out = bench.psql(
            name,
            "SELECT (SELECT count(*) FROM patients_patient),"
            " (SELECT count(*) FROM timelog_timeactivity)",
        )
    except subprocess.CalledProcessError:  # a half-built database is built again
        return None
    patients, activities = out.split("|")
    return int(patients), int(activities)


def ensure_database() -> None:
    """The kept database at this size, built when missing or of another size; migrated
    either way (a branch may add a migration)."""
    wanted = (bench.CONFIG.patients, bench.CONFIG.entries)
    if _loaded_size() != wanted:
        bench.build_database()
    else:
        bench.say(f"reusing database {bench.CONFIG.database} ({wanted[0]} patients)")
        bench.manage("migrate", "--noinput", "-v", "0")


def reset_month(practice: Any, billing_user: Any) -> None:
    """bench.run's reset_month with CASCADE: since the claims app, tables of claims refer
    to worklist rows (empty here), and a plain TRUNCATE of the rows is refused."""
    from django.db import connection

    from billing.close import reopen_month
    from ccm.models import BillingMonth

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE billing_claimline, billing_worklistrow CASCADE")
    month = BillingMonth.objects.filter(practice=practice, month=bench.CONFIG.month).first()
    if month is not None and month.status == BillingMonth.Status.CLOSED:
        reopen_month(
            practice=practice, month=bench.CONFIG.month, actor=billing_user, reason="bench"
        )


# close_inline and close_with_workers call it by its module name.
bench.reset_month = reset_month


def chunk_times(run_id: int) -> list[tuple[float, int, int]]:
    """(seconds, patients, shares) of each chunk of the run, from its claim to its end."""
    from django.db import connection

    from billing.models import CloseChunk, CloseRun

    run = CloseRun.objects.get(pk=run_id)
    out = []
    for chunk in CloseChunk.objects.filter(run=run).order_by("index"):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM timelog_timeshare"
                " WHERE patient_id = ANY(%s) AND date BETWEEN %s AND %s",
                [chunk.patient_ids, run.month, _month_end(run.month)],
            )
            shares = cursor.fetchone()[0]
        if chunk.claimed_at is None or chunk.finished_at is None:
            raise SystemExit(f"chunk {chunk.pk} of run {run_id} is not done")
        seconds = (chunk.finished_at - chunk.claimed_at).total_seconds()
        out.append((seconds, len(chunk.patient_ids), shares))
    return out


def _month_end(month: Any) -> Any:
    from ccm.periods import month_end

    return month_end(month)


def emit_chunks(prefix: str, run_id: int) -> None:
    times = chunk_times(run_id)
    biggest, smallest = max(times), min(times)
    bench.emit(f"{prefix}_chunks", len(times), "chunks")
    for name, (seconds, patients, shares) in (("slowest", biggest), ("fastest", smallest)):
        bench.emit(f"{prefix}_{name}_chunk_seconds", round(seconds, 2), "s")
        bench.emit(f"{prefix}_{name}_chunk_shares", shares, "shares")
        bench.emit(f"{prefix}_{name}_chunk_patients", patients, "patients")


def last_run_id(practice: Any) -> int:
    from billing.models import CloseRun

    return (
        CloseRun.objects.filter(practice=practice).order_by("-pk").values_list("pk", flat=True)[0]
    )


def python_cpu(run_id: int) -> None:
    """The facts builder's and the engine's CPU seconds over the chunks of the run, as
    the close cuts them (queries included in the facts)."""
    from billing.models import CloseChunk, CloseRun
    from billing.selectors import practice_rulebook

    run = CloseRun.objects.select_related("practice").get(pk=run_id)
    facts_cpu, engine_cpu, entries = bench.python_cpu(
        CloseChunk.objects.filter(run=run).order_by("index").values_list("patient_ids", flat=True),
        run.month,
        practice_rulebook(run.practice, run.month),
    )
    bench.emit("facts_build_cpu_seconds", round(facts_cpu, 2), "s")
    bench.emit("facts_build_us_per_entry", round(1e6 * facts_cpu / max(entries, 1), 2), "us")
    bench.emit("engine_evaluate_cpu_seconds", round(engine_cpu, 2), "s")


def main() -> None:
    ensure_database()
    bench.setup_django()
    from ccm.models import Practice, User

    if "CCM_CLOSE_CHUNK_ENTRIES" in os.environ:  # this process's closes (not the workers')
        from django.conf import settings

        settings.CCM_CLOSE_CHUNK_ENTRIES = int(os.environ["CCM_CLOSE_CHUNK_ENTRIES"])
    practice = Practice.objects.get(slug=bench.PRACTICE)
    billing_user = User.objects.filter(practice=practice, role="billing").order_by("pk").first()
    closes: list[float] = []
    floors: list[float] = []
    for index in range(bench.CONFIG.runs):
        floors.append(bench.floor_seconds(practice.pk))
        closes.append(bench.close_inline(practice, billing_user))
        bench.say(f"run {index + 1}: close {closes[-1]:.2f} s, floor {floors[-1]:.2f} s")
    bench.check_close(practice)
    close, floor = statistics.median(closes), statistics.median(floors)
    bench.emit("close_seconds", round(close, 2), "s")
    bench.emit("floor_seconds", round(floor, 2), "s")
    bench.emit("close_over_floor", round(close / floor, 2), "x")
    bench.emit("close_runs", ", ".join(f"{s:.2f}" for s in closes), "s")
    emit_chunks("close", last_run_id(practice))
    python_cpu(last_run_id(practice))
    for workers in [int(n) for n in os.environ.get("BENCH_CLOSE_WORKERS", "2").split(",") if n]:
        with bench.celery_worker(workers):
            runs = [
                bench.close_with_workers(practice, billing_user)
                for _ in range(bench.CONFIG.worker_runs)
            ]
        seconds = statistics.median(runs)
        bench.say(f"{workers} workers: {', '.join(f'{s:.2f}' for s in runs)} s")
        bench.emit(f"close_workers_{workers}_seconds", round(seconds, 2), "s")
        bench.emit(f"close_workers_{workers}_over_floor", round(seconds / floor, 2), "x")
        emit_chunks(f"close_workers_{workers}", last_run_id(practice))
        bench.check_close(practice)
    bench.drop_database()


if __name__ == "__main__":
    main()
