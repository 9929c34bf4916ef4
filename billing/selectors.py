"""Reads for billing: the facts of patient-months (billing-rules.md section 2) built from
the database in a fixed number of queries, the practice's fees, and live decisions."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import operator
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from types import MappingProxyType
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    ExpressionWrapper,
    F,
    FilteredRelation,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Concat, NullIf, Trim

from billing.models import FeeScheduleEntry
from billing.rules import Decision, Facts, FactsError, Rulebook, evaluate
from billing.rules import facts as rules_facts
from billing.rules.rulebooks import rulebook_for_year
from ccm.lookups import AnyOf, bigint_array
from ccm.models import Practice, User
from ccm.periods import month_end, month_start
from patients.models import (
    CarePlan,
    ChronicCondition,
    Consent,
    InpatientStay,
    OtherService,
    Patient,
    Visit,
)
from timelog.models import TimeActivity, TimeShare

FactsDict = dict[str, Any]

# The checks parse_facts makes on what the database does not already guarantee, so that
# facts built directly are the facts parse_facts would build (or the same FactsError).
_ICD10 = re.compile(r"^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$")
_MAX_ENTRY_SECONDS = 24 * 3600


def practitioner_ref(user_id: int) -> str:
    """How the facts name a practitioner: one stable id per user."""
    return f"U{user_id}"


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def user_display_name(path: str) -> Case:
    """User.display_name of the user at `path` ("billing_practitioner",
    "activity__performer"; "" for the user's own row), worked out by the database in the
    query that reads the rows that name the user (the facts' `names`: findings say
    "Dr. Diane Doctor, MD", never "U5"); null when there is no user there."""

    def field(name: str) -> str:
        return f"{path}__{name}" if path else name

    name = Coalesce(
        NullIf(F(field("full_name")), Value("")),
        NullIf(Trim(Concat(F(field("first_name")), Value(" "), F(field("last_name")))), Value("")),
        F(field("username")),
    )
    return Case(
        When(**{f"{path}__isnull" if path else "pk__isnull": True}, then=Value(None)),
        When(**{field("credential"): ""}, then=name),
        default=Concat(name, Value(", "), F(field("credential"))),
        output_field=CharField(),
    )


#: A display name as the facts carry it (parse_facts refuses longer ones, or control
#: characters): the first 200 characters, control characters dropped.
_MAX_NAME_LENGTH = 200
_NO_CONTROL = {code: None for code in [*range(0x20), 0x7F]}


class _Shown(dict[str, str]):
    """A display name as the facts carry it, worked out once per distinct name."""

    def __missing__(self, name: str) -> str:
        shown = self[name] = name.translate(_NO_CONTROL).strip()[:_MAX_NAME_LENGTH]
        return shown


def _grouped(queryset: QuerySet[Any, Any]) -> dict[int, list[tuple[Any, ...]]]:
    """The rows of a values_list whose first column is the patient id, by patient id (the
    id dropped), each patient's in the queryset's order."""
    ordered = queryset.order_by("patient_id", *queryset.query.order_by)
    return {
        patient_id: list(map(_AFTER_PATIENT_ID, rows))
        for patient_id, rows in itertools.groupby(_fetch(ordered), _PATIENT_ID)
    }


# The patient id first, then the query's own order: each patient's rows in that order,
# grouped by C code (groupby, itemgetter) rather than a Python loop per row.
_PATIENT_ID = operator.itemgetter(0)
_AFTER_PATIENT_ID = operator.itemgetter(slice(1, None))


def _fetch(queryset: QuerySet[Any, Any]) -> list[tuple[Any, ...]]:
    """The rows of a values_list. On PostgreSQL, straight from the cursor: its dates,
    times and numbers need none of Django's per-row converters, and skipping them halves
    the cost of reading millions of rows."""
    if connection.vendor != "postgresql":
        return list(queryset)
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
        return rows


# One patient as the facts need them: (id, billing practitioner id, that practitioner's NPI).
PatientKey = tuple[int, int, str]


@dataclass(frozen=True)
class _MonthRows:
    """Every row the facts of some patients' month need, one query per kind, as tuples
    (no model instances: the close reads millions of them). A person's display name
    comes with each row that names them."""

    conditions: dict[int, list[tuple[Any, ...]]]  # icd10, onset, resolved, attested
    consents: dict[int, list[tuple[Any, ...]]]  # date, method, revoked, practitioner id, name
    visits: dict[int, list[tuple[Any, ...]]]  # _Visit fields
    care_plans: dict[int, list[tuple[Any, ...]]]  # established, reviewed, signer id, name
    other_services: dict[int, list[tuple[Any, ...]]]  # code, date, practitioner NPI
    stays: dict[int, list[tuple[Any, ...]]]  # admitted, discharged
    entries: dict[int, list[Any]]  # _ENTRY_COLUMNS, or TimeEntry objects for the engine
    #: Per patient: the billing practitioner's name, then the month's MDM attestation
    #: (level, practitioner id, signed at, practitioner's name; None when there is none).
    patients: dict[int, tuple[Any, ...]]
    #: For the engine's entries: each performer's name, by ref.
    performer_names: dict[str, str | None]


class _Visit(NamedTuple):
    date: dt.date
    code: str
    ccm_discussed: bool
    practitioner_id: int | None
    practitioner_name: str | None


#: A time entry of a patient: the activity it is a share of.
_ENTRY_COLUMNS = (
    "patient_id",
    "activity_id",
    "activity__date",
    "activity__started_at",
    "activity__duration_seconds",
    "activity__patient_count",
    "activity__performer_kind",
    "activity__performer_id",
    "activity__performer_credential",
    "activity__activity",
    "activity__program",
    "activity__note",
    "activity__logged_on",
)


def _ids_in(field: str, ids: Sequence[int]) -> AnyOf:
    """`field = ANY(ids)`: one array parameter, not thousands of literals (a chunk of the
    close has tens of thousands of patients), planned with its true size."""
    return AnyOf(F(field), ids)


def _load_month_rows(
    patient_ids: Sequence[int], first: dt.date, last: dt.date, *, engine: bool = False
) -> _MonthRows:
    """The rows of the patients' month; with `engine`, the time entries come as the
    engine's TimeEntry objects (built while the rows are read: the close's hot path)."""
    in_patients = _ids_in("patient_id", patient_ids)
    engine_entries: dict[int, list[Any]] = {}
    performer_names: dict[str, str | None] = {}
    if engine:
        engine_entries, performers = _engine_entries(_engine_entry_rows(patient_ids, first, last))
        performer_names = _performer_names(performers)
    return _MonthRows(
        conditions=_grouped(
            ChronicCondition.objects.filter(in_patients, onset__lte=last)
            .exclude(resolved__lt=first)
            .order_by("id")
            .values_list(
                "patient_id",
                "icd10",
                "onset",
                "resolved",
                ExpressionWrapper(
                    Q(attested_chronic_by__isnull=False), output_field=BooleanField()
                ),
            )
        ),
        consents=_grouped(
            Consent.objects.filter(in_patients)
            .order_by("date", "id")
            .values_list(
                "patient_id",
                "date",
                "method",
                "revoked",
                "billing_practitioner_id",
                user_display_name("billing_practitioner"),
            )
        ),
        visits=_grouped(
            Visit.objects.filter(in_patients, date__lte=last)
            .order_by("date", "id")
            .values_list(
                "patient_id",
                "date",
                "code",
                "ccm_discussed",
                "practitioner_id",
                user_display_name("practitioner"),
            )
        ),
        care_plans=_grouped(
            CarePlan.objects.filter(in_patients, established__lte=last)
            .order_by("established", "version")
            .values_list(
                "patient_id",
                "established",
                "reviewed",
                "signed_by_id",
                user_display_name("signed_by"),
            )
        ),
        other_services=_grouped(
            OtherService.objects.filter(in_patients, date__range=(first, last))
            .order_by("date", "id")
            .values_list("patient_id", "code", "date", "practitioner_npi")
        ),
        stays=_grouped(
            InpatientStay.objects.filter(in_patients, admitted__lte=last, discharged__gte=first)
            .order_by("admitted", "discharged", "id")
            .values_list("patient_id", "admitted", "discharged")
        ),
        # The engine's decision does not depend on the order of the entries (it sorts them
        # chronologically); the JSON-like facts keep the order people read.
        entries=engine_entries
        if engine
        else _grouped(
            TimeShare.objects.filter(in_patients, date__range=(first, last))
            .order_by("date", "activity_id")
            .values_list(*_ENTRY_COLUMNS, _PERFORMER_NAME)
        ),
        patients={
            row[0]: row[1:]
            for row in _fetch(
                Patient.objects.filter(_ids_in("pk", patient_ids))
                .annotate(
                    mdm=FilteredRelation(
                        "mdm_attestations", condition=Q(mdm_attestations__month=first)
                    )
                )
                .values_list(
                    "pk",
                    user_display_name("billing_practitioner"),
                    "mdm__level",
                    "mdm__practitioner_id",
                    "mdm__signed_at",
                    user_display_name("mdm__practitioner"),
                )
            )
        },
        performer_names=performer_names,
    )


def _ccm_began(
    consents: list[tuple[Any, ...]], billing_id: int, first: dt.date, last: dt.date
) -> dt.date:
    """The day CCM began for the 12-month rule: the earliest consent to the billing
    practitioner whose window (its date up to, not including, its revocation) overlaps
    the month; the month's first day when none does (billing-rules.md s. 6)."""
    counting = [
        day
        for day, _, revoked, practitioner_id, _ in consents
        if practitioner_id == billing_id
        and day <= last
        and (revoked is None or (revoked > day and revoked > first))
    ]
    return min(counting) if counting else first


def _visit_choice(
    visits: list[_Visit],
    began: dt.date,
    billing_id: int,
    rulebook: Rulebook,
) -> tuple[dt.date | None, _Visit | None]:
    """Billing rule INITIATING_VISIT_MISSING's facts from the visits up to the month's
    last day (in date order). prior_visit_date: the latest visit with a qualifying code
    (the rulebook's initiating_visit_codes) by the billing practitioner on or before the
    day CCM began. initiating_visit: the billing practitioner's latest visit at which CCM
    was discussed, a qualifying one first (the latest is the one that can be within 365
    days); when they have none, the latest such visit by anyone else, so the finding can
    say whose it was (the engine counts only the billing practitioner's)."""
    codes = rulebook.initiating_visit_codes
    own = [visit for visit in visits if visit.practitioner_id == billing_id]
    prior = [visit.date for visit in own if visit.code in codes and visit.date <= began]
    discussed = [visit for visit in own if visit.ccm_discussed]
    candidates = (
        [visit for visit in discussed if visit.code in codes]
        or discussed
        or [visit for visit in visits if visit.ccm_discussed]
    )
    return (prior[-1] if prior else None), (candidates[-1] if candidates else None)


def _plan_in_force(plans: list[tuple[Any, ...]], last: dt.date) -> tuple[Any, ...] | None:
    """The care plan in force in the month: the latest established on/before its last
    day, its latest version (rows in (established, version) order); billing rules
    CARE_PLAN_MISSING, CARE_PLAN_NOT_REVIEWED and CARE_PLAN_UNSIGNED.

    Its last review is the latest of the plan's reviews and revisions on or before the
    month's last day: a review dated after the month (a version entered later with an old
    established day) does not show that the plan was reviewed by then, and would hide
    CARE_PLAN_NOT_REVIEWED from a month that was stale when it was billed."""
    if not plans:
        return None
    established, _, *rest = plans[-1]
    reviewed = max(
        review if review is not None and review <= last else start for start, review, *_ in plans
    )
    return (established, reviewed, *rest)


def _seconds_of_day(start: dt.time | None) -> int | None:
    return None if start is None else start.hour * 3600 + start.minute * 60 + start.second


def _optional_text(value: object) -> str | None:
    """An optional string as the facts carry it: stripped, None when empty (a blank
    credential is "not known", not a bad fact)."""
    text = value.strip() if isinstance(value, str) else ""
    return text or None


def _entry_dict(row: tuple[Any, ...], staff_ref: str) -> dict[str, Any]:
    (
        activity_id,
        day,
        start,
        seconds,
        shared_with,
        kind,
        _,
        credential,
        activity,
        program,
        note,
        logged_on,
    ) = row
    entry: dict[str, Any] = {
        "id": f"a{activity_id}",
        "date": day.isoformat(),
        "seconds": seconds,
        "shared_with": shared_with,
        "performer": kind,
        "staff_id": staff_ref,
        "credential": _optional_text(credential),
        "activity": activity,
        "program": program,
        "note": _optional_text(note),
        "logged_on": _iso(logged_on),
    }
    if start is not None:
        entry["start"] = start.strftime("%H:%M:%S")
    return entry


class _Refs(dict[int, str]):
    """practitioner_ref(user id), made once per user."""

    def __missing__(self, user_id: int) -> str:
        ref = self[user_id] = practitioner_ref(user_id)
        return ref


@dataclass(frozen=True)
class _Month:
    """What the facts of every patient of a month are built with: the month's first and
    last day, its rulebook, the people's refs and display names, and the engine's Month,
    each made once."""

    first: dt.date
    last: dt.date
    rulebook: Rulebook
    refs: _Refs
    shown: _Shown
    #: The engine's Month, one (immutable) for every patient's Facts.
    facts_month: rules_facts.Month

    @classmethod
    def of(cls, month: dt.date) -> _Month:
        first = month_start(month)
        return cls(
            first,
            month_end(month),
            rulebook_for_month(first),
            _Refs(),
            _Shown(),
            rules_facts.Month(first.year, first.month),
        )


class _PatientMonth(NamedTuple):
    """One patient's rows of the month as both facts builders start from them."""

    pk: int
    billing_ref: str
    billing_npi: str
    consents: list[tuple[Any, ...]]
    prior_visit: dt.date | None
    initiating: _Visit | None
    plan: tuple[Any, ...] | None  # established, reviewed, signer id, signer's name
    attestation: tuple[Any, ...] | None  # level, practitioner id, signed at, name
    #: ref -> display name of every person these rows name (performers aside).
    names: dict[str, str]


def _patient_month(key: PatientKey, rows: _MonthRows, month: _Month) -> _PatientMonth:
    pk, billing_id, billing_npi = key
    refs, shown = month.refs, month.shown
    consents = rows.consents.get(pk, [])
    visits = list(map(_Visit._make, rows.visits.get(pk, ())))
    began = _ccm_began(consents, billing_id, month.first, month.last)
    prior_visit, initiating = _visit_choice(visits, began, billing_id, month.rulebook)
    plan = _plan_in_force(rows.care_plans.get(pk, []), month.last)
    billing_name, level, attester_id, signed_at, attester_name = rows.patients.get(
        pk, (None, None, None, None, None)
    )
    # Who these rows name (a name comes with its user id; null when there is no user).
    names: dict[str, str] = {}
    if billing_name:
        names[refs[billing_id]] = shown[billing_name]
    for consent in consents:
        if consent[4]:
            names[refs[consent[3]]] = shown[consent[4]]
    if initiating is not None and initiating.practitioner_id and initiating.practitioner_name:
        names[refs[initiating.practitioner_id]] = shown[initiating.practitioner_name]
    if plan is not None and plan[3]:
        names[refs[plan[2]]] = shown[plan[3]]
    if level is not None and attester_name:
        names[refs[attester_id]] = shown[attester_name]
    return _PatientMonth(
        pk,
        refs[billing_id],
        billing_npi,
        consents,
        prior_visit,
        initiating,
        plan,
        (level, attester_id, signed_at) if level is not None else None,
        names,
    )


def _other_practitioner(npi: str, billing_ref: str, billing_npi: str) -> str:
    """Who billed a service elsewhere, as the facts name them: the billing practitioner
    when the NPI is theirs (billing rule DUPLICATE_CCM), else the NPI, else "unknown"."""
    npi = (npi or "").strip()
    if billing_npi and npi == billing_npi:
        return billing_ref
    return npi or "unknown"


def _patient_facts_dict(key: PatientKey, rows: _MonthRows, month: _Month) -> FactsDict:
    patient = _patient_month(key, rows, month)
    refs, shown, first = month.refs, month.shown, month.first
    pk, billing_ref, billing_npi = patient.pk, patient.billing_ref, patient.billing_npi
    initiating, plan, attestation = patient.initiating, patient.plan, patient.attestation
    entries = rows.entries.get(pk, [])
    names = patient.names  # this patient's own dict
    for row in entries:  # _ENTRY_COLUMNS without the patient id, then the performer's name
        if row[-1]:
            names.setdefault(refs[row[6]], shown[row[-1]])
    return {
        "month": f"{first:%Y-%m}",
        "billing_practitioner": billing_ref,
        "patient": {
            "chronic_conditions": [
                {
                    "icd10": icd10,
                    "onset": onset.isoformat(),
                    "resolved": _iso(resolved),
                    "attested_chronic": attested,
                }
                for icd10, onset, resolved, attested in rows.conditions.get(pk, [])
            ],
            "consents": [
                {
                    "date": day.isoformat(),
                    "method": method,
                    "revoked": _iso(revoked),
                    "billing_practitioner": refs[practitioner_id],
                }
                for day, method, revoked, practitioner_id, _ in patient.consents
            ],
            "prior_visit_date": _iso(patient.prior_visit),
            "initiating_visit": {
                "date": initiating.date.isoformat(),
                "code": initiating.code,
                "ccm_discussed": initiating.ccm_discussed,
                "practitioner": _ref_or_none(refs, initiating.practitioner_id),
            }
            if initiating
            else None,
            "care_plan": {
                "established": plan[0].isoformat(),
                "reviewed": _iso(plan[1]),
                "signed_by": _ref_or_none(refs, plan[2]),
            }
            if plan
            else None,
        },
        "time_entries": [_entry_dict(row[:-1], refs[row[6]]) for row in entries],
        "mdm": {
            "level": attestation[0],
            "attested_by": refs[attestation[1]],
            "date": attestation[2].date().isoformat(),
        }
        if attestation
        else None,
        "other_services": [
            {
                "code": code,
                "date": day.isoformat(),
                "practitioner": _other_practitioner(npi, billing_ref, billing_npi),
            }
            for code, day, npi in rows.other_services.get(pk, [])
        ],
        "inpatient_stays": [
            {"from": admitted.isoformat(), "to": discharged.isoformat()}
            for admitted, discharged in rows.stays.get(pk, [])
        ],
        "names": names,
    }


def _ref_or_none(refs: _Refs, user_id: int | None) -> str | None:
    return None if user_id is None else refs[user_id]


def _text(value: object, field: str, *, upper: bool = False) -> str:
    """A required string as parse_facts reads it: stripped, not empty."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise FactsError(field, "must not be empty")
    return text.upper() if upper else text


@functools.lru_cache(maxsize=8192)
def _icd10_code(value: object) -> str | None:
    """An ICD-10 code as parse_facts reads it (stripped, upper case), None when it is not
    one; worked out once per distinct code (a practice's patients share a few hundred)."""
    code = value.strip().upper() if isinstance(value, str) else ""
    return code if code and _ICD10.match(code) else None


def _engine_conditions(rows: list[tuple[Any, ...]]) -> tuple[rules_facts.ChronicCondition, ...]:
    out = []
    for index, (icd10, onset, resolved, attested) in enumerate(rows):
        code = _icd10_code(icd10)
        if code is None:
            code = _text(icd10, f"patient.chronic_conditions[{index}].icd10", upper=True)
            raise FactsError(
                f"patient.chronic_conditions[{index}].icd10", f"not an ICD-10 code {code!r}"
            )
        if resolved is not None and resolved < onset:
            raise FactsError(f"patient.chronic_conditions[{index}].resolved", "is before the onset")
        out.append(
            rules_facts.ChronicCondition(
                icd10=code, onset=onset, resolved=resolved, attested_chronic=bool(attested)
            )
        )
    return tuple(out)


def _engine_consents(rows: list[tuple[Any, ...]], refs: _Refs) -> tuple[rules_facts.Consent, ...]:
    out = []
    for index, (day, method, revoked, practitioner_id, _) in enumerate(rows):
        if revoked is not None and revoked < day:
            raise FactsError(f"patient.consents[{index}].revoked", "is before the consent date")
        if method and method.strip() not in rules_facts.CONSENT_METHODS:
            raise FactsError(f"patient.consents[{index}].method", f"unknown value {method!r}")
        out.append(
            rules_facts.Consent(
                date=day,
                billing_practitioner=refs[practitioner_id],
                method=method.strip() if method else None,
                revoked=revoked,
            )
        )
    return tuple(out)


class _Normalised(dict[object, str | None]):
    """An optional string of the time entries as parse_facts reads it (stripped, or None
    when empty), worked out once per distinct value: a month repeats a handful of them."""

    def __missing__(self, value: object) -> str | None:
        text = _optional_text(value)
        self[value] = text
        return text


class _Programs(dict[object, str]):
    """A program as parse_facts reads it: stripped and lower-cased, never empty."""

    def __missing__(self, value: object) -> str:
        text = value.strip().lower() if isinstance(value, str) else ""
        if not text:
            raise FactsError("time_entries[].program", "must not be empty")
        self[value] = text
        return text


#: The performer's display name, read with each entry (the facts' `names`).
_PERFORMER_NAME = user_display_name("activity__performer")

#: The engine's time entries of some patients' month (PostgreSQL), one row per share, in
#: patient order (sorted by PostgreSQL in the chunk's work_mem: rows that come in the order
#: Python walks them are grouped two to three times faster than rows sorted afterwards):
#: the patient id, then TimeEntry's fields in their order, each made by the database as
#: the facts carry it (the id 'a' + activity id, the start in whole seconds after
#: midnight, the staff id as practitioner_ref makes it, blank texts as null: a note is
#: stored stripped, timelog.services), then whether the performer kind and the numbers
#: are ones parse_facts accepts. No name and no join to the users: `_performer_names`
#: reads the few performers' names once.
_ENGINE_ENTRIES_SQL = """
SELECT s.patient_id, 'a' || s.activity_id, a.date, a.duration_seconds, a.performer_kind,
       floor(extract(epoch FROM a.started_at))::int, 'U' || a.performer_id,
       NULLIF(a.performer_credential, ''), NULLIF(a.activity, ''), a.program,
       a.patient_count, NULLIF(a.note, ''), a.logged_on,
       a.performer_kind = ANY(%(kinds)s) AND a.duration_seconds BETWEEN 1 AND %(max_seconds)s
           AND a.patient_count > 0
FROM {share} s JOIN {activity} a ON a.id = s.activity_id
WHERE s.patient_id = ANY(%(patients)s::bigint[]) AND s.date BETWEEN %(first)s AND %(last)s
ORDER BY s.patient_id, a.date, a.started_at NULLS FIRST, s.activity_id
"""

#: A row of _ENGINE_ENTRIES_SQL without the patient id and the check: TimeEntry's fields.
_ENTRY_FIELDS = operator.itemgetter(*range(1, 13))
_ENTRY_ACCEPTED = operator.itemgetter(13)
#: staff id, credential, activity, program: few distinct values in a month.
_ENTRY_PEOPLE_AND_TEXTS = operator.itemgetter(6, 7, 8, 9)
_new_entry = functools.partial(tuple.__new__, rules_facts.TimeEntry)


def _engine_entry_rows(patient_ids: Sequence[int], first: dt.date, last: dt.date) -> list[Any]:
    """The patients' time entries of the month as _ENGINE_ENTRIES_SQL reads them (in
    patient order, each patient's chronologically: by date, then start, untimed first,
    the engine's order, which it then only checks instead of sorting every month: issue
    16, the engine's time in the close); elsewhere than on PostgreSQL (SQLite in
    development) the same rows from the ORM's, in patient order only."""
    if connection.vendor != "postgresql":
        shares = TimeShare.objects.filter(
            _ids_in("patient_id", patient_ids), date__range=(first, last)
        ).order_by("patient_id")
        return [_as_engine_row(row[0], row[1:]) for row in shares.values_list(*_ENTRY_COLUMNS)]
    sql = _ENGINE_ENTRIES_SQL.format(
        share=TimeShare._meta.db_table, activity=TimeActivity._meta.db_table
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "kinds": list(rules_facts.PERFORMERS),
                "max_seconds": _MAX_ENTRY_SECONDS,
                "patients": bigint_array(patient_ids),
                "first": first,
                "last": last,
            },
        )
        rows: list[Any] = cursor.fetchall()
        return rows


def _engine_entries(rows: list[Any]) -> tuple[dict[int, list[Any]], set[str]]:
    """The patients' time entries as the engine's TimeEntry, by patient id, and the
    performers' refs: what parse_facts makes of `_entry_dict` (tests compare the two),
    without the round trip.

    The hot loop of the close (millions of entries). When every row passes parse_facts'
    checks as it stands (the database checked the numbers and the performer kind; the
    few distinct texts are checked here), each row becomes a TimeEntry as it is, with no
    Python code per entry (groupby, map and tuple.__new__ run in C); otherwise the rows
    go through `_checked_entries`, which normalises each value or raises the FactsError
    parse_facts would."""
    texts = set(map(_ENTRY_PEOPLE_AND_TEXTS, rows))
    performers = {ref for ref, _, _, _ in texts}
    if all(map(_ENTRY_ACCEPTED, rows)) and all(
        (credential is None or credential == _optional_text(credential))
        and (activity is None or activity == _optional_text(activity))
        and isinstance(program, str)
        and program == program.strip().lower()
        and program
        for _, credential, activity, program in texts
    ):
        grouped = {
            patient_id: list(map(_new_entry, map(_ENTRY_FIELDS, shares)))
            for patient_id, shares in itertools.groupby(rows, _PATIENT_ID)
        }
    else:
        grouped = _checked_entries(rows)
    return grouped, performers


def _checked_entries(rows: list[Any]) -> dict[int, list[Any]]:
    """`_engine_entries` the long way: every row checked as parse_facts checks it, its
    texts normalised (once per distinct value)."""
    make = rules_facts.TimeEntry._make
    performers = rules_facts.PERFORMERS
    credentials, activities, programs = _Normalised(), _Normalised(), _Programs()
    grouped: dict[int, list[Any]] = {}
    for row in rows:
        (
            patient_id,
            id_,
            day,
            seconds,
            kind,
            start,
            ref,
            credential,
            activity,
            program,
            shared,
            note,
            logged_on,
            _,
        ) = row
        entries = grouped.get(patient_id)
        if entries is None:
            entries = grouped[patient_id] = []
        if kind not in performers or not 0 < seconds <= _MAX_ENTRY_SECONDS or shared <= 0:
            _bad_entry(len(entries), kind, seconds, shared)
        entries.append(
            make(
                (
                    id_,
                    day,
                    seconds,
                    kind,
                    start,
                    ref,
                    credentials[credential],
                    activities[activity],
                    programs[program],
                    shared,
                    note or None,
                    logged_on,
                )
            )
        )
    return grouped


def _performer_names(refs: set[str]) -> dict[str, str | None]:
    """The display names of the performers (refs "U<id>"), by ref: one query, whatever
    the number of entries."""
    ids = [int(ref[1:]) for ref in refs]
    return {
        practitioner_ref(pk): name
        for pk, name in User.objects.filter(_ids_in("pk", ids)).values_list(
            "pk", user_display_name("")
        )
    }


def _bad_entry(index: int, kind: str, seconds: int, shared_with: int) -> None:
    if kind not in rules_facts.PERFORMERS:
        raise FactsError(f"time_entries[{index}].performer", f"unknown value {kind!r}")
    if shared_with <= 0:
        raise FactsError(f"time_entries[{index}].shared_with", "must be greater than 0")
    raise FactsError(f"time_entries[{index}].seconds", f"out of range: {seconds}")


_STAFF_ID = operator.itemgetter(rules_facts.TimeEntry._fields.index("staff_id"))


def _patient_engine_facts(key: PatientKey, rows: _MonthRows, month: _Month) -> Facts:
    """The Facts parse_facts would make of _patient_facts_dict, built directly."""
    patient = _patient_month(key, rows, month)
    refs, shown = month.refs, month.shown
    pk, billing_ref, billing_npi = patient.pk, patient.billing_ref, patient.billing_npi
    initiating, plan, attestation = patient.initiating, patient.plan, patient.attestation
    mdm = None
    if attestation is not None:
        level = attestation[0]
        if level not in rules_facts.MDM_LEVELS:
            raise FactsError("mdm.level", f"unknown value {level!r}")
        mdm = rules_facts.Mdm(
            level=level, attested_by=refs[attestation[1]], date=attestation[2].date()
        )
    names = patient.names  # this patient's own dict
    entries = rows.entries.get(pk, ())
    for ref in set(map(_STAFF_ID, entries)):
        name = rows.performer_names.get(ref)
        if name and ref not in names:
            names[ref] = shown[name]
    return Facts(
        month=month.facts_month,
        billing_practitioner=billing_ref,
        patient=rules_facts.Patient(
            chronic_conditions=_engine_conditions(rows.conditions.get(pk, [])),
            consents=_engine_consents(patient.consents, refs),
            prior_visit_date=patient.prior_visit,
            initiating_visit=None
            if initiating is None
            else rules_facts.InitiatingVisit(
                date=initiating.date,
                code=_text(initiating.code, "patient.initiating_visit.code", upper=True),
                ccm_discussed=bool(initiating.ccm_discussed),
                practitioner=_ref_or_none(refs, initiating.practitioner_id),
            ),
            care_plan=None
            if plan is None
            else rules_facts.CarePlan(
                established=plan[0], reviewed=plan[1], signed_by=_ref_or_none(refs, plan[2])
            ),
        ),
        time_entries=tuple(entries),
        mdm=mdm,
        other_services=tuple(
            rules_facts.OtherService(
                code=_text(code, f"other_services[{index}].code", upper=True),
                date=day,
                practitioner=_other_practitioner(npi, billing_ref, billing_npi),
            )
            for index, (code, day, npi) in enumerate(rows.other_services.get(pk, []))
        ),
        inpatient_stays=tuple(
            rules_facts.InpatientStay(start=admitted, end=discharged)
            for admitted, discharged in rows.stays.get(pk, [])
        ),
        names=MappingProxyType(names),
    )


def _patient_keys(patients: Sequence[Patient]) -> list[PatientKey]:
    return [(p.pk, p.billing_practitioner_id, p.billing_practitioner.npi) for p in patients]


def _keys(patients: QuerySet[Patient]) -> list[PatientKey]:
    """(id, billing practitioner id, NPI) of the patients, in id order: one query."""
    return _fetch(
        patients.order_by("pk").values_list(
            "pk", "billing_practitioner_id", "billing_practitioner__npi"
        )
    )


def patient_keys(patient_ids: Sequence[int]) -> list[PatientKey]:
    """The keys of the patients with these ids."""
    return _keys(Patient.objects.filter(_ids_in("pk", patient_ids)))


def active_patient_keys(practice: Practice) -> list[PatientKey]:
    """The keys of the practice's active patients."""
    return _keys(Patient.objects.filter(practice=practice, is_active=True))


def patients_month_facts(patients: Sequence[Patient], month: dt.date) -> dict[int, FactsDict]:
    """The billing-rules.md facts of each patient's month, by patient id, in eight queries
    whatever the number of patients and entries. `patients` need `billing_practitioner`
    loaded (select_related) to keep that promise."""
    built = _Month.of(month)
    keys = _patient_keys(patients)
    rows = _load_month_rows([key[0] for key in keys], built.first, built.last)
    return {key[0]: _patient_facts_dict(key, rows, built) for key in keys}


def patients_month_engine_facts(keys: Sequence[PatientKey], month: dt.date) -> dict[int, Facts]:
    """The engine's Facts of each patient's month, by patient id, in nine queries: what
    parse_facts(patients_month_facts(...)) gives (or a FactsError naming the field), built
    straight from database rows without the JSON-like round trip (the close's hot path).
    `keys` are (patient id, billing practitioner id, NPI), as `patient_keys` reads them."""
    built = _Month.of(month)
    rows = _load_month_rows([key[0] for key in keys], built.first, built.last, engine=True)
    return {key[0]: _patient_engine_facts(key, rows, built) for key in keys}


def rulebook_for_month(month: dt.date) -> Rulebook:
    """The shipped rulebook of the month's year, else the nearest (billing-rules.md s. 2)."""
    return rulebook_for_year(month.year)


def patient_month_facts(*, patient: Patient, month: dt.date) -> FactsDict:
    """The facts of one patient-month (billing-rules.md section 2)."""
    return patients_month_facts([patient], month)[patient.pk]


def practice_fees(practice: Practice, year: int) -> dict[str, Decimal]:
    """The practice's fees for `year`: its locality's where loaded, else its national
    (blank-locality) ones; codes with neither keep the rulebook's shipped default."""
    fees: dict[str, Decimal] = {}
    entries = FeeScheduleEntry.objects.filter(
        practice=practice, year=year, locality__in={"", practice.fee_locality}
    ).order_by("locality")  # blank first, so the practice's own locality wins
    for entry in entries:
        fees[entry.code] = entry.amount
    return fees


def practice_rulebook(practice: Practice, month: dt.date) -> Rulebook:
    """The month's rulebook priced for the month's own year (billing-rules.md section 1):
    the shipped rulebook of that year, or the nearest, with the practice's fee schedule
    loaded for that year."""
    return with_practice_fees(practice, rulebook_for_month(month), month.year)


def with_practice_fees(practice: Practice, rulebook: Rulebook, year: int) -> Rulebook:
    """The rulebook with the practice's fees loaded for `year` (the month's calendar
    year, not the rulebook's: a schedule loaded for 2027 prices 2027 months whatever
    rulebook they fall back to). A schedule that covers every code prices the month at
    that year; one that covers some codes keeps the rulebook's year for the others, so
    the engine still says the month is priced with another year's fees
    (FEES_FROM_OTHER_YEAR)."""
    fees = practice_fees(practice, year)
    known = {code: amount for code, amount in fees.items() if code in rulebook.codes}
    if not known:
        return rulebook
    covers_all = set(known) == set(rulebook.codes)
    return rulebook.with_fees(known, year=year if covers_all else None)


def _as_engine_row(patient_id: int, row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row of `_ENTRY_COLUMNS` (without the patient id; a performer's name after it is
    ignored) as _ENGINE_ENTRIES_SQL reads it."""
    (
        activity_id,
        day,
        start,
        seconds,
        shared_with,
        kind,
        staff,
        credential,
        activity,
        program,
        note,
        logged_on,
    ) = row[:12]
    return (
        patient_id,
        f"a{activity_id}",
        day,
        seconds,
        kind,
        _seconds_of_day(start),
        practitioner_ref(staff),
        credential or None,
        activity or None,
        program,
        shared_with,
        note or None,
        logged_on,
        kind in rules_facts.PERFORMERS and 0 < seconds <= _MAX_ENTRY_SECONDS and shared_with > 0,
    )


def patient_month_decision(*, patient: Patient, month: dt.date) -> tuple[FactsDict, Decision]:
    """The live decision of one patient-month: the same engine the month close runs, on
    the same facts (built once from the rows, as JSON-like facts and as engine Facts)."""
    built = _Month.of(month)
    key = _patient_keys([patient])[0]
    rows = _load_month_rows([patient.pk], built.first, built.last)
    facts = _patient_facts_dict(key, rows, built)
    json_rows = rows.entries.get(patient.pk, [])
    entries, _ = _engine_entries([_as_engine_row(patient.pk, row) for row in json_rows])
    performer_names = {practitioner_ref(row[6]): row[-1] for row in json_rows}
    rows = replace(rows, entries=entries, performer_names=performer_names)
    engine_facts = _patient_engine_facts(key, rows, built)
    return facts, evaluate(engine_facts, practice_rulebook(patient.practice, month))
