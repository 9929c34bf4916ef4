"""Reads of the patients app, always scoped to one practice (another practice's patient is
a 404, never a 403) and with a fixed number of queries however many rows come back."""

from __future__ import annotations

from collections.abc import Collection

from django.db import connection
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from ccm.models import Practice, Role, User
from patients.models import (
    CarePlan,
    ChronicCondition,
    Consent,
    InpatientStay,
    OtherService,
    Patient,
    Visit,
)


def patient_list(
    *,
    practice: Practice,
    search: str = "",
    billing_practitioner_id: int | None = None,
    is_active: bool | None = None,
) -> QuerySet[Patient]:
    """The practice's patients, by name, optionally searched by name or MRN (every word
    must match the first name, last name or MRN: "jane doe", "doe", "MRN-001")."""
    queryset = Patient.objects.filter(practice=practice).select_related("billing_practitioner")
    for words in name_or_mrn_matches(search):
        queryset = queryset.filter(words)
    if billing_practitioner_id is not None:
        queryset = queryset.filter(billing_practitioner_id=billing_practitioner_id)
    if is_active is not None:
        queryset = queryset.filter(is_active=is_active)
    return queryset


def name_or_mrn_matches(search: str, via: str = "") -> list[Q]:
    """One condition per word of `search`, each matching a patient's first name, last name
    or MRN ("jane doe", "doe", "MRN-001"); `via` reaches the patient from another model
    ("patient__"). Filter by each in turn: every word must match."""
    return [
        Q(**{f"{via}first_name__icontains": word})
        | Q(**{f"{via}last_name__icontains": word})
        | Q(**{f"{via}mrn__icontains": word})
        for word in search.split()
    ]


def patient_get(*, practice: Practice, patient_id: int) -> Patient:
    """One patient of the practice (Http404 when it is not one of theirs)."""
    return get_object_or_404(
        Patient.objects.select_related("practice", "billing_practitioner"),
        practice=practice,
        pk=patient_id,
    )


def practice_patients_by_id(*, practice: Practice, ids: Collection[int]) -> dict[int, Patient]:
    """Those of `ids` that are patients of `practice`, by id, with only the id loaded: how
    every patient id a client sends is scoped (another practice's patient is unknown, as
    one that does not exist). Inactive patients are included.

    One statement written out: the ORM builds and compiles the same query for several
    times the CPU of the round trip, on the path of every time-entry POST; its rows are
    made into patients as a raw queryset makes them (Model.from_db), without the raw
    queryset's own per-query set-up, most of the cost left (issue 16)."""
    if not ids:
        return {}
    marks = ", ".join(["%s"] * len(ids))  # placeholders only: the ids are parameters
    sql = f"SELECT id FROM patients_patient WHERE practice_id = %s AND id IN ({marks})"  # noqa: S608  # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(sql, [practice.pk, *ids])
        rows = cursor.fetchall()
    return {pk: Patient.from_db(connection.alias, ["id"], [pk]) for (pk,) in rows}


def patient_detail_get(*, practice: Practice, patient_id: int) -> Patient:
    """One patient with every fact the billing engine reads about them (the section 2
    facts of billing-rules.md) prefetched: conditions, consents, visits, care plan
    versions (newest first, as `care_plan_versions`), services billed elsewhere and
    inpatient stays."""
    queryset = Patient.objects.select_related("practice", "billing_practitioner").prefetch_related(
        Prefetch(
            "conditions", queryset=ChronicCondition.objects.select_related("attested_chronic_by")
        ),
        Prefetch(
            "consents",
            queryset=Consent.objects.select_related("billing_practitioner", "recorded_by"),
        ),
        Prefetch("visits", queryset=Visit.objects.select_related("practitioner")),
        Prefetch(
            "care_plans",
            queryset=CarePlan.objects.select_related("signed_by", "created_by").order_by(
                "-version"
            ),
            to_attr="care_plan_versions",
        ),
        "other_services",
        "inpatient_stays",
    )
    return get_object_or_404(queryset, practice=practice, pk=patient_id)


def patient_current_care_plan(patient: Patient) -> CarePlan | None:
    """The newest care plan version of a patient from `patient_detail_get` (no query)."""
    versions: list[CarePlan] = getattr(patient, "care_plan_versions", None) or []
    return versions[0] if versions else None


def practice_practitioners(*, practice: Practice) -> QuerySet[User]:
    """The active practitioners of the practice: who can be a billing practitioner."""
    return User.objects.filter(practice=practice, role=Role.PRACTITIONER, is_active=True).order_by(
        "full_name", "username"
    )


def condition_list(*, patient: Patient) -> QuerySet[ChronicCondition]:
    """The patient's chronic conditions (rule ELIGIBILITY_CONDITIONS), in entry order."""
    return (
        ChronicCondition.objects.filter(patient=patient)
        .select_related("attested_chronic_by")
        .order_by("id")
    )


def condition_get(*, patient: Patient, condition_id: int) -> ChronicCondition:
    """One of the patient's conditions (Http404 otherwise)."""
    return get_object_or_404(
        ChronicCondition.objects.select_related("patient__practice", "attested_chronic_by"),
        patient=patient,
        pk=condition_id,
    )


def consent_list(*, patient: Patient) -> QuerySet[Consent]:
    """The patient's consents (rule CONSENT_MISSING), oldest first."""
    return (
        Consent.objects.filter(patient=patient)
        .select_related("billing_practitioner", "recorded_by")
        .order_by("date", "id")
    )


def consent_get(*, patient: Patient, consent_id: int) -> Consent:
    """One of the patient's consents (Http404 otherwise)."""
    return get_object_or_404(
        Consent.objects.select_related("patient__practice", "billing_practitioner", "recorded_by"),
        patient=patient,
        pk=consent_id,
    )


def visit_list(*, patient: Patient) -> QuerySet[Visit]:
    """The patient's visits (rule INITIATING_VISIT_MISSING), oldest first."""
    return (
        Visit.objects.filter(patient=patient).select_related("practitioner").order_by("date", "id")
    )


def care_plan_versions(*, patient: Patient) -> QuerySet[CarePlan]:
    """Every version of the patient's care plan (rule CARE_PLAN_MISSING), newest first."""
    return (
        CarePlan.objects.filter(patient=patient)
        .select_related("signed_by", "created_by")
        .order_by("-version")
    )


def care_plan_current(*, patient: Patient) -> CarePlan:
    """The current (newest) care plan version; Http404 when there is none yet."""
    plan = care_plan_versions(patient=patient).first()
    if plan is None:
        raise Http404("This patient has no care plan yet.")
    return plan


def other_service_list(*, patient: Patient) -> QuerySet[OtherService]:
    """The patient's services billed elsewhere (rule EXCLUSIVE_SERVICE), oldest first."""
    return OtherService.objects.filter(patient=patient).order_by("date", "id")


def other_service_get(*, patient: Patient, service_id: int) -> OtherService:
    """One of the patient's services billed elsewhere (Http404 otherwise)."""
    return get_object_or_404(
        OtherService.objects.select_related("patient__practice"), patient=patient, pk=service_id
    )


def inpatient_stay_list(*, patient: Patient) -> QuerySet[InpatientStay]:
    """The patient's inpatient stays (rule ENTRY_DURING_INPATIENT_STAY), oldest first."""
    return InpatientStay.objects.filter(patient=patient).order_by("admitted", "id")


def inpatient_stay_get(*, patient: Patient, stay_id: int) -> InpatientStay:
    """One of the patient's inpatient stays (Http404 otherwise)."""
    return get_object_or_404(
        InpatientStay.objects.select_related("patient__practice"), patient=patient, pk=stay_id
    )
