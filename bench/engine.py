"""The billing engine alone, in process: `evaluate` per time entry, no database.

    .venv/bin/python bench/engine.py              # 20,000 patient-months, best of 3
    ENGINE_PATIENTS=5000 ENGINE_RUNS=5 .venv/bin/python bench/engine.py
    .venv/bin/python bench/engine.py --dump decisions.jsonl   # every decision's JSON

Builds N synthetic patient-months in memory, shaped like `make bench`'s load
(bench/loadgen.py; both take their shares and codes from bench/shape.py): about 20
entries per patient (1% heavy, five times that), 82% by the patient's primary nurse, 12%
by floats, 6% by the billing practitioner (a few of another practitioner), 5% shared by
2-5 patients, 6% of other programs, 10% untimed, timed ones back to back per performer
and day; 2-4 chronic conditions (2% one), 2% without consent, 6% with MDM, 1% with an
inpatient stay, a few services billed elsewhere. A little more than the load has, so
every path of the engine runs: 1% of timed entries overlap the one before, 2% are logged
late. Everything follows from the seed (ENGINE_SEED).

Each month is evaluated with a practice rulebook (2026 with a practice's fees), as the
close does, gc off as in bench/run.py's engine_share. Prints JSON lines
{"name", "value", "unit"}: the time per entry (CPU time of the best run, and the
median), also with each month's entries in the order the close reads them (by date and
start: a month in order is not sorted again), which engine ran (compiled or pure
Python), and a digest of every decision's JSON: the same
seed and size must give the same digest before and after a change to the engine, and
on the pure and the compiled engine.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import gc
import hashlib
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from types import MappingProxyType

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import billing.rules as engine
from bench.shape import (
    CHRONIC_CODES,
    DAY_END,
    DAY_START,
    HEAVY_FRACTION,
    HEAVY_WEIGHT,
    HOSPICE_FRACTION,
    MDM_FRACTION,
    NO_CONSENT_FRACTION,
    NOTES,
    ONE_CONDITION_FRACTION,
    OTHER_PROGRAMS,
    RPM_SERVICE_FRACTION,
    SHARED_FRACTION,
    STAY_FRACTION,
    UNTIMED_FRACTION,
)
from billing.rules import facts as f

MONTH = f.Month(2026, 3)
ACTIVITIES = ("phone_call", "care_coordination", "medication_review", "care_plan", "education")
PRACTICE_FEES = {"99490": "64.25", "99439": "48.10", "99487": "139.00", "99491": "86.40"}


def emit(name: str, value: float | int | str | bool, unit: str) -> None:
    print(json.dumps({"name": name, "value": value, "unit": unit}), flush=True)


class Load:
    """Synthetic patient-months of one practice, one month (see the module docstring)."""

    def __init__(self, patients: int, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 (synthetic data, not secrets)
        self.patients = patients
        self.days = (MONTH.last_day - MONTH.first_day).days + 1
        self.practitioners = [f"U{n}" for n in range(1, 31)]
        self.nurses = [f"U{n}" for n in range(31, 231)]
        self.floats = [f"U{n}" for n in range(231, 291)]
        self.names = {ref: f"Staff {ref[1:]}" for ref in self.practitioners + self.nurses}
        self.next_start: dict[tuple[str, int], int] = {}
        self.next_id = 1

    def months(self) -> list[f.Facts]:
        rng = self.rng
        weights = [
            HEAVY_WEIGHT if rng.random() < HEAVY_FRACTION else rng.uniform(0.2, 1.8)
            for _ in range(self.patients)
        ]
        mean = 20 * self.patients / sum(weights)
        billing = [rng.choice(self.practitioners) for _ in range(self.patients)]
        nurse = [rng.choice(self.nurses) for _ in range(self.patients)]
        entries: list[list[f.TimeEntry]] = [[] for _ in range(self.patients)]
        for index in range(self.patients):
            for _ in range(max(1, round(weights[index] * mean * rng.uniform(0.8, 1.2)))):
                self._activity(index, billing, nurse, entries)
        return [
            self._facts(index, billing[index], entries[index]) for index in range(self.patients)
        ]

    def _activity(
        self, index: int, billing: list[str], nurse: list[str], entries: list[list[f.TimeEntry]]
    ) -> None:
        rng = self.rng
        served = [index]
        if (
            rng.random() < SHARED_FRACTION
        ):  # shared with patients of the same nurse's panel (nearby ids)
            for _ in range(rng.randint(1, 4)):
                other = min(self.patients - 1, max(0, index + rng.randint(-50, 50)))
                if other not in served:
                    served.append(other)
        roll = rng.random()
        if roll < 0.82:
            staff, performer, credential = nurse[index], f.CLINICAL_STAFF, "RN"
        elif roll < 0.94:
            staff, performer, credential = rng.choice(self.floats), f.CLINICAL_STAFF, "CMA"
        elif roll < 0.995:
            staff, performer, credential = billing[index], f.PRACTITIONER, "MD"
        else:
            staff, performer, credential = rng.choice(self.practitioners), f.PRACTITIONER, "NP"
        seconds = int(
            rng.triangular(600, 2400, 900) if len(served) > 1 else rng.triangular(30, 360, 60)
        )
        day = rng.randrange(self.days)
        start: int | None = None
        if rng.random() >= UNTIMED_FRACTION:
            at = self.next_start.get((staff, day), DAY_START) + rng.randrange(0, 120)
            if rng.random() < 0.01:
                at = max(DAY_START, at - 300)  # overlaps the entry before
            if at + seconds <= DAY_END:
                start = at
                self.next_start[(staff, day)] = at + seconds
        program = "ccm"
        roll = rng.random()
        for name, share in OTHER_PROGRAMS:
            if roll < share:
                program = name
                break
            roll -= share
        date = MONTH.first_day + dt.timedelta(days=day)
        logged_on = date + dt.timedelta(days=rng.randrange(8, 20)) if rng.random() < 0.02 else date
        entry_id = f"a{self.next_id}"
        self.next_id += 1
        note = rng.choice(NOTES)
        activity = rng.choice(ACTIVITIES)
        for patient in served:
            entries[patient].append(
                f.TimeEntry(
                    entry_id,
                    date,
                    seconds,
                    performer,
                    start,
                    staff,
                    credential,
                    activity,
                    program,
                    len(served),
                    note,
                    logged_on,
                )
            )

    def _facts(self, index: int, billing: str, entries: list[f.TimeEntry]) -> f.Facts:
        rng = self.rng
        first = MONTH.first_day
        roll = rng.random()
        how_many = 1 if roll < ONE_CONDITION_FRACTION else rng.randint(2, 4)
        conditions = tuple(
            f.ChronicCondition(
                code, onset=dt.date(2010, 1, 1) + dt.timedelta(days=rng.randrange(4380))
            )
            for code in rng.sample(CHRONIC_CODES, how_many)
        )
        began = dt.date(2022, 1, 1) + dt.timedelta(
            days=rng.randrange((first - dt.date(2022, 1, 31)).days)
        )
        consents: tuple[f.Consent, ...] = ()
        if not ONE_CONDITION_FRACTION <= roll < ONE_CONDITION_FRACTION + NO_CONSENT_FRACTION:
            revoked = (
                first + dt.timedelta(days=rng.randrange(5, 25)) if rng.random() < 0.005 else None
            )
            consents = (f.Consent(began, billing, rng.choice(f.CONSENT_METHODS), revoked),)
        prior = began - dt.timedelta(days=rng.randrange(30, 300)) if rng.random() < 0.5 else None
        mdm = None
        if rng.random() < MDM_FRACTION:
            by = billing if rng.random() > 0.03 else rng.choice(self.practitioners)
            mdm = f.Mdm(rng.choice(("moderate", "high")), by, first.replace(day=25))
        stays: tuple[f.InpatientStay, ...] = ()
        if rng.random() < STAY_FRACTION:
            admitted = first + dt.timedelta(days=rng.randrange(self.days - 3))
            stays = (f.InpatientStay(admitted, admitted + dt.timedelta(days=rng.randrange(1, 7))),)
        services: tuple[f.OtherService, ...] = ()
        roll = rng.random()
        day = first + dt.timedelta(days=rng.randrange(self.days))
        if roll < HOSPICE_FRACTION:
            services = (f.OtherService("G0182", day, "1999999984"),)
        elif roll < HOSPICE_FRACTION + RPM_SERVICE_FRACTION:
            services = (f.OtherService("99457", day, None),)
        staff = {entry.staff_id for entry in entries if entry.staff_id is not None}
        names = {ref: self.names[ref] for ref in sorted(staff | {billing}) if ref in self.names}
        return f.Facts(
            month=MONTH,
            billing_practitioner=billing,
            patient=f.Patient(
                chronic_conditions=conditions,
                consents=consents,
                prior_visit_date=prior,
                initiating_visit=f.InitiatingVisit(
                    began, rng.choice(("99213", "G0438")), True, billing
                ),
                care_plan=f.CarePlan(
                    began + dt.timedelta(days=rng.randrange(15)), signed_by=billing
                ),
            ),
            time_entries=tuple(entries),
            mdm=mdm,
            other_services=services,
            inpatient_stays=stays,
            names=MappingProxyType(names),
        )


def read_order(facts: f.Facts) -> tuple[f.TimeEntry, ...]:
    """The entries by date, then start (untimed first), ties as generated."""
    return tuple(
        sorted(facts.time_entries, key=lambda e: (e.date, -1 if e.start is None else e.start))
    )


def decisions_digest(months: list[f.Facts], book: engine.Rulebook, dump: Path | None) -> str:
    """sha256 of every decision's JSON, one line each, in order (optionally written out)."""
    digest = hashlib.sha256()
    out = dump.open("w") if dump is not None else None
    try:
        for facts in months:
            line = json.dumps(engine.decision_as_json(engine.evaluate(facts, book)), sort_keys=True)
            digest.update(line.encode() + b"\n")
            if out is not None:
                out.write(line + "\n")
    finally:
        if out is not None:
            out.close()
    return digest.hexdigest()


def cases_digest() -> tuple[int, str]:
    """The public cases (tests/billing/rules/cases): their count and their decisions' digest."""
    cases = sorted(
        (Path(__file__).resolve().parent.parent / "tests/billing/rules/cases").glob("*.json")
    )
    digest = hashlib.sha256()
    for path in cases:
        decision = engine.evaluate_json(json.loads(path.read_text())["facts"])
        digest.update(json.dumps(decision, sort_keys=True).encode() + b"\n")
    return len(cases), digest.hexdigest()


def timed_runs(months: list[f.Facts], book: engine.Rulebook, runs: int) -> list[float]:
    evaluate = engine.evaluate
    seconds: list[float] = []
    gc.disable()
    try:
        for _ in range(runs):
            begin = time.process_time()
            for facts in months:
                evaluate(facts, book)
            seconds.append(time.process_time() - begin)
    finally:
        gc.enable()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--dump", type=Path, help="write each decision's JSON, one a line")
    args = parser.parse_args()
    patients = int(os.environ.get("ENGINE_PATIENTS") or 20_000)
    runs = max(1, int(os.environ.get("ENGINE_RUNS") or 3))
    seed = int(os.environ.get("ENGINE_SEED") or 1)
    book = engine.RULEBOOKS["2026"].with_fees(PRACTICE_FEES, year=2026)
    months = Load(patients, seed).months()
    entries = sum(len(facts.time_entries) for facts in months)
    timed_runs(months[: min(len(months), 500)], book, 1)  # warm up (CCI table, caches)
    seconds = timed_runs(months, book, runs)
    # The same months with their entries as the close reads them: the (patient, date)
    # index gives each patient's rows by date, and the load logs each day's by start.
    as_read = [dataclasses.replace(facts, time_entries=read_order(facts)) for facts in months]
    seconds_as_read = timed_runs(as_read, book, runs)
    emit("engine_compiled", bool(getattr(engine, "COMPILED", False)), "bool")
    emit("engine_patient_months", patients, "months")
    emit("engine_entries", entries, "entries")
    emit("engine_evaluate_us_per_entry", round(1e6 * min(seconds) / entries, 3), "us")
    emit(
        "engine_evaluate_us_per_entry_median",
        round(1e6 * statistics.median(seconds) / entries, 3),
        "us",
    )
    emit("engine_evaluate_us_per_month", round(1e6 * min(seconds) / patients, 2), "us")
    emit(
        "engine_evaluate_us_per_entry_as_read", round(1e6 * min(seconds_as_read) / entries, 3), "us"
    )
    digest = decisions_digest(months, book, args.dump)
    emit("engine_decisions_sha256", digest, "sha256")
    emit("engine_decisions_same_as_read", decisions_digest(as_read, book, None) == digest, "bool")
    count, digest = cases_digest()
    emit("engine_public_cases", count, "cases")
    emit("engine_public_cases_sha256", digest, "sha256")


if __name__ == "__main__":
    main()
