"""`generate_load`: synthetic practice data for benchmarks, on a small size: the counts,
the same data for the same seed, and a month close over it that agrees with the engine."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from billing.close import close_request, close_run_inline, close_summary
from billing.models import ClaimLine, MdmAttestation, WorklistRow
from billing.rules import evaluate, parse_facts
from billing.selectors import patients_month_facts, practice_rulebook
from ccm.models import Practice, User
from patients.models import ChronicCondition, Consent, Patient
from tests.generated_load import generate_load
from timelog.models import TimeActivity, TimeShare

pytestmark = pytest.mark.django_db
MARCH = dt.date(2026, 3, 1)


def generate(slug: str, patients: int, entries: int, seed: int = 1) -> dict[str, int]:
    return generate_load(slug, patients=patients, entries=entries, seed=seed)


def fingerprint(slug: str) -> list[tuple[object, ...]]:
    """What a practice's generated data says, without row ids or the practice's names."""
    practice = Practice.objects.get(slug=slug)
    patients = Patient.objects.filter(practice=practice).order_by("mrn")
    usernames = dict(User.objects.filter(practice=practice).values_list("pk", "username"))
    prefix = f"{slug}-"

    def user(pk: int | None) -> str:
        return usernames[pk].removeprefix(prefix) if pk else ""

    shares: dict[int, list[tuple[object, ...]]] = {}
    for share in TimeShare.objects.filter(patient__practice=practice).select_related("activity"):
        a = share.activity
        shares.setdefault(share.patient_id, []).append(
            (
                a.date,
                a.started_at.isoformat() if a.started_at else "",
                a.duration_seconds,
                a.activity,
                a.program,
                a.patient_count,
                user(a.performer_id),
                share.seconds,
            )
        )
    return [
        (
            patient.mrn.split("-")[-1],
            patient.first_name,
            patient.last_name,
            patient.birth_date,
            user(patient.billing_practitioner_id),
            sorted(patient.conditions.values_list("icd10", "onset")),
            sorted(patient.consents.values_list("date", "method", "revoked")),
            sorted(shares.get(patient.pk, [])),
        )
        for patient in patients
    ]


def test_counts_of_a_small_practice() -> None:
    counts = generate("gen-small", patients=200, entries=2000, seed=3)
    practice = Practice.objects.get(slug="gen-small")
    assert counts["patients"] == Patient.objects.filter(practice=practice).count() == 200
    assert counts["activities"] == TimeActivity.objects.filter(practice=practice).count() == 2000
    assert counts["staff"] == User.objects.filter(practice=practice).count() == 300
    assert counts["shares"] == TimeShare.objects.filter(patient__practice=practice).count()
    shared = TimeActivity.objects.filter(practice=practice, patient_count__gt=1)
    assert 40 <= shared.count() <= 160  # 5% of 2000, by chance
    assert set(shared.values_list("patient_count", flat=True)) <= {2, 3, 4, 5}
    per_patient = Counter(
        ChronicCondition.objects.filter(patient__practice=practice).values_list(
            "patient_id", flat=True
        )
    )
    assert set(per_patient.values()) <= {1, 2, 3, 4} and len(per_patient) == 200
    assert 1 in per_patient.values()  # some blocked: one condition
    assert Consent.objects.filter(patient__practice=practice).count() < 200  # some: none
    assert MdmAttestation.objects.filter(patient__practice=practice).exists()
    # Every share is its activity's even split, on the activity's date.
    for share in TimeShare.objects.filter(patient__practice=practice).select_related("activity")[
        :200
    ]:
        assert share.seconds == share.activity.duration_seconds // share.activity.patient_count
        assert share.date == share.activity.date
    # A performer's timed entries of one day never overlap (the product refuses them).
    spans: dict[tuple[int, dt.date], list[tuple[int, int]]] = {}
    for performer, day, start, seconds in TimeActivity.objects.filter(
        practice=practice, started_at__isnull=False
    ).values_list("performer_id", "date", "started_at", "duration_seconds"):
        begin = start.hour * 3600 + start.minute * 60 + start.second
        spans.setdefault((performer, day), []).append((begin, begin + seconds))
    for intervals in spans.values():
        intervals.sort()
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(intervals))


def test_the_same_seed_gives_the_same_data() -> None:
    generate("gen-a", patients=80, entries=800, seed=7)
    generate("gen-b", patients=80, entries=800, seed=7)
    generate("gen-c", patients=80, entries=800, seed=8)
    assert fingerprint("gen-a") == fingerprint("gen-b")
    assert fingerprint("gen-a") != fingerprint("gen-c")


def test_a_practice_with_patients_is_refused() -> None:
    generate("gen-once", patients=5, entries=10)
    with pytest.raises(CommandError, match="already has patients"):
        generate("gen-once", patients=5, entries=10)


def test_a_bad_month_is_refused(db: None) -> None:
    with pytest.raises(CommandError, match="month"):
        call_command(
            "generate_load", "--practice", "x", "--patients", "1", "--entries", "1",
            "--month", "2026/03", stdout=io.StringIO(),
        )  # fmt: skip


def test_the_close_over_generated_data_agrees_with_the_engine(settings: object) -> None:
    settings.CCM_CLOSE_CHUNK_SIZE = 70  # type: ignore[attr-defined]
    generate("gen-close", patients=150, entries=3000, seed=11)
    practice = Practice.objects.get(slug="gen-close")
    run, claimed = close_request(practice=practice, month=MARCH, actor=None)
    assert claimed and run is not None and run.chunks_total == 3
    close_run_inline(run)

    rows = {row.patient_id: row for row in WorklistRow.objects.filter(run=run)}
    assert len(rows) == 150 == close_summary(practice, MARCH).patients
    tiers = Counter(row.tier for row in rows.values())
    assert tiers["non_complex"] > 0 and tiers[""] > 0  # billable and blocked months
    patients = list(
        Patient.objects.filter(practice=practice).select_related("billing_practitioner")
    )
    facts = patients_month_facts(patients, MARCH)
    rulebook = practice_rulebook(practice, MARCH)
    lines = {
        (line.row.patient_id, line.code, line.units, line.amount)
        for line in ClaimLine.objects.filter(row__run=run).select_related("row")
    }
    expected_lines = set()
    for patient in patients:
        decision = evaluate(parse_facts(facts[patient.pk]), rulebook)
        row = rows[patient.pk]
        assert (row.billable, row.tier, row.total_amount) == (
            decision.billable,
            decision.tier or "",
            decision.total_amount,
        )
        assert row.diagnoses == list(decision.diagnoses)
        assert row.findings == [
            {
                "rule": f.rule,
                "severity": f.severity,
                "message": f.message,
                "entries": list(f.entries),
            }
            for f in decision.findings
        ]
        assert row.clinical_staff_seconds == decision.counted_seconds.clinical_staff
        expected_lines |= {(patient.pk, x.code, x.units, x.amount) for x in decision.lines}
    assert lines == expected_lines


@pytest.mark.django_db(databases=[])
def test_production_settings_do_not_install_the_load_generator() -> None:
    """Synthetic patients have no place in a practice's data: `generate_load` exists under
    the development and test settings only (bench/apps.py)."""
    root = Path(__file__).resolve().parents[2]
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ccm.settings.production",
        "SECRET_KEY": "a-test-key-for-settings-only",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "help", "generate_load"],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "Unknown command: 'generate_load'" in result.stderr
