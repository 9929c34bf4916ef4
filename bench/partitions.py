"""Do monthly range partitions of the time tables pay? (issue 16; docs/scaling.md)

`python bench/partitions.py`: loads one month with `generate_load` (the bench's own
database and helpers, bench/run.py), then copies its shares into two tables holding
BENCH_MONTHS months of history (the month and its copies shifted 1..N-1 months back,
the way a practice's table looks after a year):

- `exp_plain`: one table, the indexes the product has on timelog_timeshare today
  (unique (activity, patient), (patient, date));
- `exp_part`: the same rows, PARTITION BY RANGE (date), one partition per month, the same
  indexes on each (the unique one carries the date, as PostgreSQL requires).

and times, interleaved, median of BENCH_RUNS, the reads the product makes of that table:

- `close_chunk_read`: one close chunk's shares (CCM_CLOSE_CHUNK_SIZE patients, the month);
- `month_sum`: the month's per-patient sums (the floor's and the reports' shape);
- `month_view`: one patient's month (the live month view and the patient page), median
  over 300 patients;
- `drop_oldest_month`: removing the oldest month (retention): DELETE vs DETACH + DROP.

Prints JSON lines {"name", "value", "unit"}; asserts nothing. Environment as bench/run.py,
plus BENCH_MONTHS (12). The database is dropped at the end unless BENCH_KEEP_DB=1.
"""

# Statements are built from this script's own table names and integers only.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("BENCH_DB", "ccm_bench_partitions")
os.environ.setdefault("BENCH_PATIENTS", "20000")
os.environ.setdefault("BENCH_ENTRIES", "400000")

from bench.run import CONFIG, build_database, drop_database, emit, say, setup_django  # noqa: E402

MONTHS = max(2, int(os.environ.get("BENCH_MONTHS", "12") or 12))
COLUMNS = "id bigint NOT NULL, activity_id bigint NOT NULL, patient_id bigint NOT NULL, \
date date NOT NULL, seconds integer NOT NULL"


def month_back(first: dt.date, months: int) -> dt.date:
    index = first.year * 12 + first.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def build_tables(cursor: Any) -> None:
    """Both tables, the same rows: the loaded month and MONTHS-1 copies shifted back."""
    first = CONFIG.month
    cursor.execute("DROP TABLE IF EXISTS exp_plain, exp_part")
    cursor.execute(f"CREATE TABLE exp_plain ({COLUMNS})")
    cursor.execute(f"CREATE TABLE exp_part ({COLUMNS}) PARTITION BY RANGE (date)")
    for back in range(MONTHS):
        start, end = month_back(first, back), month_back(first, back - 1)
        cursor.execute(
            f"CREATE TABLE exp_part_{back} PARTITION OF exp_part"
            f" FOR VALUES FROM ('{start}') TO ('{end}')"
        )
    cursor.execute("SELECT max(id), max(activity_id) FROM timelog_timeshare")
    share_step, activity_step = (value + 1 for value in cursor.fetchone())
    for table in ("exp_plain", "exp_part"):
        for back in range(MONTHS):
            # Day of month kept (clamped to 28 so every month has it).
            cursor.execute(
                f"INSERT INTO {table} SELECT id + {back} * {share_step},"
                f" activity_id + {back} * {activity_step}, patient_id,"
                f" make_date(extract(year FROM d)::int, extract(month FROM d)::int,"
                f" least(extract(day FROM date)::int, 28)), seconds"
                f" FROM timelog_timeshare, LATERAL (SELECT (date - interval '{back} month')::date"
                f" AS d) shifted"
            )
    cursor.execute("ALTER TABLE exp_plain ADD PRIMARY KEY (id)")
    cursor.execute("CREATE UNIQUE INDEX ON exp_plain (activity_id, patient_id)")
    cursor.execute("CREATE INDEX ON exp_plain (patient_id, date)")
    cursor.execute("ALTER TABLE exp_part ADD PRIMARY KEY (id, date)")
    cursor.execute("CREATE UNIQUE INDEX ON exp_part (activity_id, patient_id, date)")
    cursor.execute("CREATE INDEX ON exp_part (patient_id, date)")
    cursor.execute("VACUUM ANALYZE exp_plain")
    cursor.execute("VACUUM ANALYZE exp_part")


def measure(cursor: Any, patient_ids: list[int]) -> None:
    first = CONFIG.month
    last = month_back(first, -1) - dt.timedelta(days=1)
    chunk = patient_ids[: CONFIG.chunk_size]
    sample = random.Random(CONFIG.seed).sample(patient_ids, min(300, len(patient_ids)))  # noqa: S311
    reads: dict[str, Callable[[str], None]] = {
        "close_chunk_read": lambda table: cursor.execute(
            f"SELECT patient_id, activity_id, date, seconds FROM {table}"
            " WHERE patient_id = ANY(%s) AND date BETWEEN %s AND %s",
            (chunk, first, last),
        ),
        "month_sum": lambda table: cursor.execute(
            f"SELECT patient_id, sum(seconds) FROM {table}"
            " WHERE date BETWEEN %s AND %s GROUP BY patient_id",
            (first, last),
        ),
    }
    for name, read in reads.items():
        times: dict[str, list[float]] = {table: [] for table in ("exp_plain", "exp_part")}
        for _ in range(CONFIG.runs):
            for table, samples in times.items():
                started = time.perf_counter()
                read(table)
                cursor.fetchall()
                samples.append(time.perf_counter() - started)
        plain, part = (statistics.median(samples) for samples in times.values())
        emit(f"{name}_plain_seconds", round(plain, 4), "s")
        emit(f"{name}_partitioned_seconds", round(part, 4), "s")
        emit(f"{name}_partitioned_over_plain", round(part / plain, 3), "x")
    views: dict[str, list[float]] = {"exp_plain": [], "exp_part": []}
    for patient in sample:
        for table, samples in views.items():
            started = time.perf_counter()
            cursor.execute(
                f"SELECT activity_id, date, seconds FROM {table}"
                " WHERE patient_id = %s AND date BETWEEN %s AND %s ORDER BY date",
                (patient, first, last),
            )
            cursor.fetchall()
            samples.append(time.perf_counter() - started)
    plain, part = (statistics.median(samples) * 1000 for samples in views.values())
    emit("month_view_plain_ms", round(plain, 3), "ms")
    emit("month_view_partitioned_ms", round(part, 3), "ms")
    emit("month_view_partitioned_over_plain", round(part / plain, 3), "x")
    oldest = month_back(first, MONTHS - 1)
    started = time.perf_counter()
    cursor.execute("DELETE FROM exp_plain WHERE date < %s", (month_back(first, MONTHS - 2),))
    emit("drop_oldest_month_plain_seconds", round(time.perf_counter() - started, 3), "s")
    started = time.perf_counter()
    cursor.execute(f"ALTER TABLE exp_part DETACH PARTITION exp_part_{MONTHS - 1}")
    cursor.execute(f"DROP TABLE exp_part_{MONTHS - 1}")
    emit("drop_oldest_month_partitioned_seconds", round(time.perf_counter() - started, 3), "s")
    say(f"dropped {oldest:%Y-%m} from both tables")


def main() -> None:
    started = time.perf_counter()
    build_database()
    setup_django()
    from django.db import connection

    from ccm.models import Practice
    from patients.models import Patient

    practice = Practice.objects.get(slug="bench")
    patient_ids = list(
        Patient.objects.filter(practice=practice).order_by("pk").values_list("pk", flat=True)
    )
    try:
        with connection.cursor() as cursor:
            say(f"building {MONTHS} months of shares, plain and partitioned")
            build_started = time.perf_counter()
            build_tables(cursor)
            cursor.execute("SELECT count(*) FROM exp_plain")
            emit("history_shares", cursor.fetchone()[0], "rows")
            emit("history_months", MONTHS, "months")
            emit("history_build_seconds", round(time.perf_counter() - build_started, 1), "s")
            measure(cursor, patient_ids)
    finally:
        drop_database()
    say(f"done in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
