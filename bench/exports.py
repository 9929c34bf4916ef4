"""The exports of a closed month over HTTP, measured: the worklist CSV
(GET /api/worklist/export/), the 837P (GET /api/worklist/export/837p/) and the FHIR
Bundle (GET /api/worklist/export/fhir/), each against gunicorn with one sync worker of its
own: time to the first byte, to the first claim and to the last byte, size, and the RSS
of the worker that served it (sampled every 20 ms, and its VmHWM).

`make bench` calls `measure_exports` (bench/run.py, measure_export). Run alone it builds
(or, with BENCH_KEEP_DB=1, reuses) BENCH_DB, closes the month when it is not closed, and
measures, printing one JSON line per figure:

    BENCH_DB=ccm_bench_export BENCH_KEEP_DB=1 BENCH_PATIENTS=5000 BENCH_ENTRIES=100000 \\
        .venv/bin/python bench/exports.py

BENCH_EXPORTS (csv,837p,fhir) picks the exports measured.

The claims exports need claim data the load generator does not write (the patients'
MBI, sex and address; the practice as billing provider): `give_claim_data` fills it in,
in the bench's own database only. Each claims export opens an interchange (a new control
number); the month's claims stay not yet submitted, so every run sends the same claims.
"""

from __future__ import annotations

import http.client
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

Emit = Callable[[str, float | int | str, str], None]
Serve = Callable[[int], AbstractContextManager[tuple[int, Any]]]

#: (figure prefix, path under /api/worklist/export/, Accept)
FORMATS = (
    ("export", "", "text/csv"),
    ("export_837p", "837p/", "application/edi-x12"),
    ("export_fhir", "fhir/", "application/fhir+json"),
)


@dataclass(frozen=True)
class Download:
    first_byte: float
    first_row: float
    total: float
    lines: int
    size: int
    claims: int


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def worker_pid(master: int) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise SystemExit("no gunicorn worker")


def download(port: int, path: str, headers: dict[str, str]) -> Download:
    """GET path, read to the last byte in 64 KB blocks, counting lines as they come."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.perf_counter()
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    first = response.read(1)
    first_byte = time.perf_counter() - started
    size, lines, first_row = len(first), first.count(b"\n"), 0.0
    while block := response.read1(65536):
        size += len(block)
        lines += block.count(b"\n")
        if not first_row and lines >= 2:  # the header, then the first claim
            first_row = time.perf_counter() - started
    total = time.perf_counter() - started
    claims = int(response.getheader("X-Claims") or 0)
    connection.close()
    if response.status != 200:
        raise SystemExit(f"{path} answered {response.status}")
    return Download(first_byte, first_row, total, lines, size, claims)


class RssSampler:
    """The peak RSS of a process while a block runs (sampled every 20 ms)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = rss_mb(pid)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample)

    def _sample(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.02)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


def measure_format(
    *, serve: Serve, path: str, headers: dict[str, str], runs: int
) -> tuple[list[Download], float, float]:
    """`runs` downloads from a fresh gunicorn worker: the downloads, the worker's RSS
    before the first and its peak over all of them (MB)."""
    with serve(1) as (port, master):
        worker = worker_pid(master.pid)
        # import everything, open the database connection
        download(port, "/api/me/", {"Authorization": headers["Authorization"]})
        baseline = rss_mb(worker)
        downloads = []
        with RssSampler(worker) as sampler:
            for _ in range(runs):
                downloads.append(download(port, path, headers))
        peak = max(sampler.peak, rss_mb(worker, "VmHWM"))
    return downloads, baseline, peak


def measure_exports(
    *, practice: Any, billing_user: Any, month: Any, serve: Serve, emit: Emit, runs: int = 3
) -> None:
    """The three exports of the closed month, `runs` times each (medians), each from its
    own gunicorn worker; the claims exports' time over the CSV's."""
    from rest_framework.authtoken.models import Token

    give_claim_data(practice, billing_user)
    token, _ = Token.objects.get_or_create(user=billing_user)
    csv_total = 0.0
    chosen = os.environ.get("BENCH_EXPORTS", "csv,837p,fhir").split(",")
    for prefix, tail, accept in FORMATS:
        if (prefix.removeprefix("export_") if tail else "csv") not in chosen:
            continue
        headers = {"Authorization": f"Token {token.key}", "Accept": accept}
        path = f"/api/worklist/export/{tail}?month={month:%Y-%m}"
        downloads, baseline, peak = measure_format(
            serve=serve, path=path, headers=headers, runs=runs
        )
        last = downloads[-1]
        total = statistics.median(d.total for d in downloads)
        if prefix == "export":
            csv_total = total
            emit("export_lines", last.lines - 1, "claim lines")
        else:
            emit(f"{prefix}_claims", last.claims, "claims")
            emit(f"{prefix}_lines", last.lines, "lines")
        emit(f"{prefix}_bytes", last.size, "bytes")
        emit(
            f"{prefix}_first_byte_seconds",
            round(statistics.median(d.first_byte for d in downloads), 3),
            "s",
        )
        emit(
            f"{prefix}_first_row_seconds",
            round(statistics.median(d.first_row for d in downloads), 3),
            "s",
        )
        emit(f"{prefix}_total_seconds", round(total, 2), "s")
        emit(f"{prefix}_runs", ", ".join(f"{d.total:.2f}" for d in downloads), "s")
        emit(f"{prefix}_rss_before_mb", round(baseline, 1), "MB")
        emit(f"{prefix}_rss_peak_mb", round(peak, 1), "MB")
        emit(f"{prefix}_rss_growth_mb", round(peak - baseline, 1), "MB")
        if prefix != "export" and csv_total:
            emit(f"{prefix}_over_csv", round(total / csv_total, 2), "x")


PROVIDER = {
    "name": "Bench Practice Medical Group",
    "npi": "1245319599",
    "tax_id": "123456789",
    "address_line": "1 Main Street",
    "city": "Albany",
    "state": "NY",
    "zip": "122071234",
    "taxonomy": "207Q00000X",
    "phone": "5185550100",
    "payer_id": "13202",
}


def give_claim_data(practice: Any, actor: Any) -> None:
    """What a claim needs and the load generator leaves blank: each patient's MBI, sex
    and address, and the practice as billing provider (bench database only)."""
    from django.db import connection

    from ccm.models import BillingProvider
    from ccm.services import billing_provider_save

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE patients_patient SET"
            " mbi = '1EG4TE5MK7' || (id %% 10)::text,"
            " sex = CASE WHEN id %% 2 = 0 THEN 'F' ELSE 'M' END,"
            " address_line = (10 + id %% 900)::text || ' Elm Street',"
            " city = 'Troy', state = 'NY', zip = '12180'"
            " WHERE practice_id = %s AND mbi = ''",
            [practice.pk],
        )
    if not BillingProvider.objects.filter(practice=practice).exists():
        billing_provider_save(practice=practice, actor=actor, **PROVIDER)


def month_is_closed(practice: Any, month: Any) -> bool:
    from ccm.models import BillingMonth

    return BillingMonth.objects.filter(
        practice=practice, month=month, status=BillingMonth.Status.CLOSED
    ).exists()


def close_month(practice: Any, actor: Any, month: Any) -> None:
    """Close the month in this process (a fresh database: nothing to reset)."""
    from billing.close import close_request, close_run_inline

    run, claimed = close_request(practice=practice, month=month, actor=actor)
    if not claimed or run is None:
        raise SystemExit("the bench could not claim the month")
    close_run_inline(run)


def database_has_practice(run: Any) -> bool:
    """Whether BENCH_DB exists and holds the bench's practice (then it can be reused)."""
    sql = f"SELECT count(*) FROM ccm_practice WHERE slug = '{run.PRACTICE}'"  # noqa: S608
    try:
        return bool(run.psql(run.CONFIG.database, sql) == "1")
    except subprocess.CalledProcessError:  # no such database (yet)
        return False


def main() -> None:
    import bench.run as run

    config = run.CONFIG
    if not (config.keep and database_has_practice(run)):
        run.build_database()
    run.setup_django()
    from ccm.models import Practice, User

    practice = Practice.objects.get(slug=run.PRACTICE)
    billing_user = User.objects.filter(practice=practice, role="billing").order_by("pk").first()
    try:
        if not month_is_closed(practice, config.month):
            seconds, _ = run.timed(lambda: close_month(practice, billing_user, config.month))
            run.emit("close_seconds", round(seconds, 2), "s")
            # As `make bench` does after its close: what autovacuum does after the close's
            # bulk writes in production (it is off on some machines here).
            run.psql(config.database, "ANALYZE")
        measure_exports(
            practice=practice,
            billing_user=billing_user,
            month=config.month,
            serve=run.gunicorn,
            emit=run.emit,
            runs=config.runs,
        )
    finally:
        run.drop_database()


if __name__ == "__main__":
    main()
