"""The 837P and FHIR writers read narrow rows and write text from precomputed fragments
(billing/claims/claims.py, x12.py, fhir.py); their files must stay byte for byte those
of the writers they replaced (tests/billing/claims/reference/, frozen copies kept only
for this comparison), whatever the values: X12 separators (* ~ : ^) and accents in
names, quotes, backslashes and non-ASCII text in JSON, corrections (a replacement and a
void), and any chunk size."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator

import pytest
from django.utils import timezone

from billing.claims import claims as new_claims
from billing.claims import fhir as new_fhir
from billing.claims import x12 as new_x12
from billing.claims.models import ClaimInterchange
from billing.claims.services import claim_interchange_create
from billing.close import reopen_month
from billing.models import WorklistRow
from billing.services import worklist_row_set_status
from ccm.models import BillingProvider, Practice, User
from patients.models import ChronicCondition, OtherService, Patient
from tests.billing.claims.conftest import ClaimsMonth, close
from tests.billing.claims.fhir_validation import fhir_problems
from tests.billing.claims.reference import claims_before as old_claims
from tests.billing.claims.reference import fhir_before as old_fhir
from tests.billing.claims.reference import x12_before as old_x12
from tests.billing.claims.x12_validation import pyx12_problems
from tests.billing.conftest import log_minutes

AWKWARD_TEXT = [
    "",
    "Smith",
    "Peña*O'Brien~",
    "Zoë:Ann^",
    "  two   spaces  ",
    "tab\tand\nnewline\r",
    'quote " and \\ backslash / slash',
    "Straße ﬁne ǅ",
    "李小龍 😀",
    "\x1c\x1d\x1e\x1f\x7f\xa0nbsp",
    "ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝ àé",
    "a" * 70,
    "WORD " * 20,
    "ok-name, jr. (#1) [x] {y} <z> $5 @ 100% ; ? = & + !",
    "ı dotless, İ dotted",
]


@pytest.mark.parametrize("value", AWKWARD_TEXT)
@pytest.mark.parametrize("length", [1, 9, 35, 60, 80])
def test_element_text_is_the_old_x12_text(value: str, length: int) -> None:
    assert new_x12.element_text(value, length) == old_x12.x12_text.__wrapped__(value, length)


@pytest.mark.parametrize("key", [1, 12345, "x", "ü/é", 10**12])
@pytest.mark.parametrize("kind", ["Patient", "Claim", "Condition"])
def test_full_url_is_the_uuid5_of_kind_and_key(kind: str, key: object) -> None:
    expected = f"urn:uuid:{uuid.uuid5(new_fhir._NAMESPACE, f'{kind}/{key}')}"
    assert new_fhir.full_url(kind, key) == expected


def export_both(
    practice: Practice, actor: User, month: dt.date, kind: str, chunk_size: int
) -> tuple[str, str]:
    """The same interchange written by the old writers and by the new ones."""
    interchange = claim_interchange_create(practice=practice, actor=actor, month=month, kind=kind)
    provider = BillingProvider.objects.get(practice_id=interchange.practice_id)
    if kind == ClaimInterchange.Kind.X12_837P:
        now = timezone.localtime(interchange.created_at)
        old: Iterator[str] = old_x12.x12_837p(
            interchange, provider, old_claims.interchange_claims(interchange.pk, chunk_size), now
        )
        new: Iterator[str] = new_x12.x12_837p(
            interchange, provider, new_claims.interchange_claims(interchange.pk, chunk_size), now
        )
    else:
        old = old_fhir.fhir_bundle(
            interchange, provider, old_claims.interchange_claims(interchange.pk, chunk_size)
        )
        new = new_fhir.fhir_bundle(
            interchange, provider, new_claims.interchange_claims(interchange.pk, chunk_size)
        )
    return "".join(old), "".join(new)


def make_awkward(claims_month: ClaimsMonth, practitioner: User) -> None:
    """Separators, quotes, backslashes, accents and non-ASCII text wherever a claim
    carries free text; a practitioner named with separators; a condition resolved in
    the month and one with a quoted description."""
    scenario = claims_month.scenario
    Patient.objects.filter(pk=scenario.complex.pk).update(
        last_name='Peña*O\'Brien~ "Jr" \\',
        first_name="Zoë:Ann^  李 😀",
        address_line='12 Main St. Apt #4 ~ "rear"',
        city="São  Paulo*",
        payer_name='Aetna "Gold" ~plan~ ü',
        payer_id="A*B:1^",
        member_id="MEM~1:2",
        mrn='M"R\\N/1 é',
        sex="U",
    )
    Patient.objects.filter(pk=scenario.non_complex.pk).update(
        first_name="", last_name="   Brown   Straße  ", payer_name="medicare part b "
    )
    Patient.objects.filter(pk=scenario.practitioner_only.pk).update(
        is_active=False, zip="121801234", last_name="X" * 100
    )
    practitioner.last_name = "O'Neil*~:^"
    practitioner.first_name = "Ünïcødé"
    practitioner.save()
    ChronicCondition.objects.create(
        patient=scenario.complex,
        icd10="I10",
        description='Hypertension "essential" \\ ü 😀',
        onset=dt.date(2020, 1, 1),
        resolved=scenario.month + dt.timedelta(days=40),  # after the month: still shown
    )
    ChronicCondition.objects.create(
        patient=scenario.non_complex, icd10="J44.9", description="", onset=dt.date(2021, 5, 6)
    )


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["837p", "fhir"])
def test_the_files_are_those_of_the_old_writers_whatever_the_values(
    claims_month: ClaimsMonth, billing_user: User, practitioner: User, practice: Practice, kind: str
) -> None:
    make_awkward(claims_month, practitioner)
    for chunk_size in (1, 2, 2000):
        month = claims_month.scenario.month
        old, new = export_both(practice, billing_user, month, kind, chunk_size)
        assert new == old
    assert new.count("CCM") >= 3
    if kind == "837p":
        assert "NM1*82*1*O'NEIL*UNIC DE****XX*1234567893" in new
        assert "NM1*IL*1*BROWN STRASSE*****MI*" in new
    else:
        assert '"abatementDateTime"' in new and "\\u00fc" in new and '"given":[]' in new


def submit(row: WorklistRow, actor: User) -> None:
    if row.status == "needs_review":
        worklist_row_set_status(row=row, actor=actor, status="ready")
    worklist_row_set_status(row=row, actor=actor, status="submitted")


@pytest.mark.django_db
def test_corrections_are_written_as_the_old_writers_wrote_them(
    claims_month: ClaimsMonth,
    billing_user: User,
    nurse: User,
    practitioner: User,
    practice: Practice,
) -> None:
    """A replacement (frequency 7, REF*F8, FHIR related) and a void (frequency 8, the
    cancelled claim's lines, diagnoses and date, FHIR status cancelled)."""
    scenario = claims_month.scenario
    month = scenario.month
    claim_interchange_create(practice=practice, actor=billing_user, month=month, kind="837p")
    for patient in (scenario.complex, scenario.non_complex, scenario.practitioner_only):
        submit(claims_month.row(patient), billing_user)
    reopen_month(practice=practice, month=month, actor=billing_user, reason="late call")
    log_minutes(nurse, [scenario.complex], 20, 30)
    OtherService.objects.create(
        patient=scenario.practitioner_only, code="G0182", date=month.replace(day=2)
    )
    close(practice, scenario)
    make_awkward(claims_month, practitioner)
    old, new = export_both(practice, billing_user, month, "837p", 1)
    assert new == old
    assert ":B:7*" in new and ":B:8*" in new and "REF*F8*" in new
    assert pyx12_problems(new) == []
    old, new = export_both(practice, billing_user, month, "fhir", 2)
    assert new == old
    assert '"status":"cancelled"' in new and '"related":' in new
    assert fhir_problems(json.loads(new)) == []


@pytest.mark.django_db
def test_transaction_sets_are_split_as_the_old_writer_split_them(
    claims_month: ClaimsMonth,
    billing_user: User,
    practitioner: User,
    practice: Practice,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two claims per ST/SE set: the SE counts and control numbers of each set."""
    monkeypatch.setattr(new_x12, "CLAIMS_PER_TRANSACTION", 2)
    monkeypatch.setattr(old_x12, "CLAIMS_PER_TRANSACTION", 2)
    make_awkward(claims_month, practitioner)
    for chunk_size in (1, 2000):
        old, new = export_both(
            practice, billing_user, claims_month.scenario.month, "837p", chunk_size
        )
        assert new == old and new.count("\nSE*") == 2
