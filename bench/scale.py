"""How the month close grows with the practice (docs/scaling.md).

`python bench/scale.py`: for each size of BENCH_SCALE_SIZES ("patients:activities,...",
default "25000:500000,50000:1000000,100000:2000000"), builds the bench's database afresh
(bench/run.py), then measures, medians of BENCH_RUNS:

- the PostgreSQL floor and the close in this process (bench/run.py's own functions);
- the close with BENCH_SCALE_WORKERS Celery workers (default 2);
- the database's size on disk.

Then fits seconds = fixed + per_activity * activities (least squares over the sizes) for
each figure and prints the line and its value at BENCH_SCALE_TARGET activities (default
20,000,000: an MSO of 1,000,000 patients). Prints JSON lines {"name", "value", "unit"};
asserts nothing. The database is dropped at the end unless BENCH_KEEP_DB=1.
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("BENCH_DB", "ccm_bench_scale")

from bench import run  # noqa: E402

SIZES = [
    tuple(int(part) for part in size.split(":"))
    for size in os.environ.get(
        "BENCH_SCALE_SIZES", "25000:500000,50000:1000000,100000:2000000"
    ).split(",")
    if size
]
WORKERS = int(os.environ.get("BENCH_SCALE_WORKERS", "2") or 2)
TARGET = int(os.environ.get("BENCH_SCALE_TARGET", "20000000") or 20_000_000)


def fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least squares: (fixed, per unit) of y = fixed + per_unit * x."""
    xs, ys = [x for x, _ in points], [y for _, y in points]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / spread if spread else 0.0
    return mean_y - slope * mean_x, slope


def measure_size(patients: int, activities: int) -> dict[str, float]:
    run.CONFIG.patients, run.CONFIG.entries = patients, activities
    run.build_database()
    run.setup_django()
    from django.db import connection, connections

    from ccm.models import Practice, User

    practice = Practice.objects.get(slug=run.PRACTICE)
    billing_user = User.objects.filter(practice=practice, role="billing").order_by("pk").first()
    floors, closes = [], []
    for _ in range(run.CONFIG.runs):
        floors.append(run.floor_seconds(practice.pk))
        closes.append(run.close_inline(practice, billing_user))
    with run.celery_worker(WORKERS):
        workers = [
            run.close_with_workers(practice, billing_user) for _ in range(run.CONFIG.worker_runs)
        ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        size_bytes = cursor.fetchone()[0]
    figures = {
        "floor_seconds": statistics.median(floors),
        "close_seconds": statistics.median(closes),
        f"close_workers_{WORKERS}_seconds": statistics.median(workers),
        "database_gb": size_bytes / 1e9,
    }
    for name, value in figures.items():
        run.emit(f"scale_{activities}_{name}", round(value, 2), "GB" if "gb" in name else "s")
    connections.close_all()
    run.drop_database()
    return figures


def main() -> None:
    results = [(activities, measure_size(patients, activities)) for patients, activities in SIZES]
    for name in results[0][1]:
        fixed, per_unit = fit([(activities, figures[name]) for activities, figures in results])
        unit = "GB" if "gb" in name else "s"
        run.emit(f"scale_fit_{name}_fixed", round(fixed, 3), unit)
        run.emit(f"scale_fit_{name}_per_million_activities", round(per_unit * 1e6, 3), unit)
        run.emit(f"scale_at_{TARGET}_{name}", round(fixed + per_unit * TARGET, 1), unit)


if __name__ == "__main__":
    main()
