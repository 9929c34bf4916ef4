"""The facts of one patient-month: the engine's input (billing-rules.md section 2).

Frozen dataclasses only; `billing.rules.parsing.parse_facts` builds them from JSON.
Durations are whole seconds; dates are `datetime.date` (the engine never reads a clock).

Each frozen dataclass here spells out its `__init__` (object.__setattr__ per field, as the
generated one does): mypyc compiles that natively, about ten times faster than the one
`dataclasses` writes, which stays interpreted; tests/billing/rules/test_engine_build.py
checks that each `__init__` takes exactly the dataclass's fields and defaults.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, NamedTuple

CLINICAL_STAFF: Final = "clinical_staff"
PRACTITIONER: Final = "practitioner"
NON_CLINICAL: Final = "non_clinical"
PERFORMERS: Final = (CLINICAL_STAFF, PRACTITIONER, NON_CLINICAL)

CCM_PROGRAM: Final = "ccm"
MDM_LEVELS: Final = ("straightforward", "low", "moderate", "high")
CONSENT_METHODS: Final = ("verbal", "written")


class FactsError(ValueError):
    """A bad fact: `field` names it (`time_entries[2].minutes`), `message` says what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


_MONTH_NAMES: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


#: No display names (the default of Facts.names): one empty mapping, read-only, shared.
NO_NAMES: Final[Mapping[str, str]] = MappingProxyType({})


@functools.lru_cache(maxsize=256)
def _month_bounds(year: int, month: int) -> tuple[dt.date, dt.date]:
    """The first and last day of a month, worked out once (the engine asks millions of times)."""
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month, e.g. Month(2026, 3). Its first and last day and its text are
    worked out when it is made (the engine reads them many times a patient-month); they
    are not fields of its value (not compared, hashed or shown)."""

    year: int
    month: int
    _first: dt.date | None = field(init=False, repr=False, compare=False)
    _last: dt.date | None = field(init=False, repr=False, compare=False)
    _text: str = field(init=False, repr=False, compare=False)

    def __init__(self, year: int, month: int) -> None:
        object.__setattr__(self, "year", year)
        object.__setattr__(self, "month", month)
        # A month that has no days (13) fails when its days are asked for, as it always did.
        first, last = _month_bounds(year, month) if 1 <= month <= 12 else (None, None)
        object.__setattr__(self, "_first", first)
        object.__setattr__(self, "_last", last)
        object.__setattr__(self, "_text", f"{year:04d}-{month:02d}")

    @property
    def first_day(self) -> dt.date:
        first = self._first
        return first if first is not None else _month_bounds(self.year, self.month)[0]

    @property
    def last_day(self) -> dt.date:
        last = self._last
        return last if last is not None else _month_bounds(self.year, self.month)[1]

    def contains(self, day: dt.date) -> bool:
        return self.first_day <= day <= self.last_day

    def __str__(self) -> str:
        return self._text

    @property
    def name(self) -> str:
        """'March 2026', for messages."""
        return f"{_MONTH_NAMES[self.month - 1]} {self.year}"


@dataclass(frozen=True)
class ChronicCondition:
    icd10: str
    onset: dt.date | None = None
    resolved: dt.date | None = None
    #: The practitioner's judgment that the condition is expected to last 12 months or
    #: until death: it counts as chronic whatever the classification says (revision 2).
    attested_chronic: bool = False

    def __init__(
        self,
        icd10: str,
        onset: dt.date | None = None,
        resolved: dt.date | None = None,
        attested_chronic: bool = False,
    ) -> None:
        object.__setattr__(self, "icd10", icd10)
        object.__setattr__(self, "onset", onset)
        object.__setattr__(self, "resolved", resolved)
        object.__setattr__(self, "attested_chronic", attested_chronic)

    @property
    def category(self) -> str:
        """The ICD-10 category: the first three characters (E11.9 and E11.65 are both E11)."""
        return self.icd10[:3]

    def active_in(self, month: Month) -> bool:
        """Onset on/before the month's last day and not resolved before its first day."""
        started = self.onset is None or self.onset <= month.last_day
        ongoing = self.resolved is None or self.resolved >= month.first_day
        return started and ongoing


@dataclass(frozen=True)
class Consent:
    """Consent to CCM for one billing practitioner: from `date` up to, not including, `revoked`."""

    date: dt.date
    billing_practitioner: str
    method: str | None = None
    revoked: dt.date | None = None

    def __init__(
        self,
        date: dt.date,
        billing_practitioner: str,
        method: str | None = None,
        revoked: dt.date | None = None,
    ) -> None:
        object.__setattr__(self, "date", date)
        object.__setattr__(self, "billing_practitioner", billing_practitioner)
        object.__setattr__(self, "method", method)
        object.__setattr__(self, "revoked", revoked)

    def overlaps(self, month: Month) -> bool:
        return self.date <= month.last_day and (
            self.revoked is None or self.revoked > month.first_day
        )


@dataclass(frozen=True)
class InitiatingVisit:
    date: dt.date
    code: str
    ccm_discussed: bool = False
    #: Who saw the patient (a practitioner id, as `billing_practitioner`); None if unknown.
    practitioner: str | None = None

    def __init__(
        self, date: dt.date, code: str, ccm_discussed: bool = False, practitioner: str | None = None
    ) -> None:
        object.__setattr__(self, "date", date)
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "ccm_discussed", ccm_discussed)
        object.__setattr__(self, "practitioner", practitioner)


@dataclass(frozen=True)
class CarePlan:
    established: dt.date
    #: The last review or revision; None means `established` (revision 2).
    reviewed: dt.date | None = None
    #: The practitioner id who signed the plan; None when unsigned.
    signed_by: str | None = None

    def __init__(
        self, established: dt.date, reviewed: dt.date | None = None, signed_by: str | None = None
    ) -> None:
        object.__setattr__(self, "established", established)
        object.__setattr__(self, "reviewed", reviewed)
        object.__setattr__(self, "signed_by", signed_by)


@dataclass(frozen=True)
class Patient:
    chronic_conditions: tuple[ChronicCondition, ...] = ()
    consents: tuple[Consent, ...] = ()
    prior_visit_date: dt.date | None = None
    initiating_visit: InitiatingVisit | None = None
    care_plan: CarePlan | None = None

    def __init__(
        self,
        chronic_conditions: tuple[ChronicCondition, ...] = (),
        consents: tuple[Consent, ...] = (),
        prior_visit_date: dt.date | None = None,
        initiating_visit: InitiatingVisit | None = None,
        care_plan: CarePlan | None = None,
    ) -> None:
        object.__setattr__(self, "chronic_conditions", chronic_conditions)
        object.__setattr__(self, "consents", consents)
        object.__setattr__(self, "prior_visit_date", prior_visit_date)
        object.__setattr__(self, "initiating_visit", initiating_visit)
        object.__setattr__(self, "care_plan", care_plan)


class TimeEntry(NamedTuple):
    """One logged activity as it concerns this patient.

    `seconds` is the whole activity; when it served `shared_with` patients this patient is
    credited floor(seconds / shared_with). `start` is seconds after midnight, if known.

    A named tuple, not a dataclass like the other facts: immutable all the same, and the
    month close makes millions of them, straight from database rows in this field order
    (`TimeEntry._make(row)`), several times faster than a frozen dataclass's __init__.
    """

    id: str
    date: dt.date
    seconds: int
    performer: str
    start: int | None = None
    staff_id: str | None = None
    credential: str | None = None
    activity: str | None = None
    program: str = CCM_PROGRAM
    shared_with: int = 1
    #: What was done (revision 2: ENTRY_NOTE_REPEATED compares notes).
    note: str | None = None
    #: The day the entry was entered (revision 2: ENTRY_LATE).
    logged_on: dt.date | None = None

    @property
    def credited_seconds(self) -> int:
        return self.seconds // self.shared_with


@dataclass(frozen=True)
class Mdm:
    """An attestation of medical decision-making for the month."""

    level: str
    attested_by: str
    date: dt.date | None = None

    def __init__(self, level: str, attested_by: str, date: dt.date | None = None) -> None:
        object.__setattr__(self, "level", level)
        object.__setattr__(self, "attested_by", attested_by)
        object.__setattr__(self, "date", date)


@dataclass(frozen=True)
class OtherService:
    """A service billed for the patient outside this CCM claim."""

    code: str
    date: dt.date
    practitioner: str | None = None

    def __init__(self, code: str, date: dt.date, practitioner: str | None = None) -> None:
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "date", date)
        object.__setattr__(self, "practitioner", practitioner)


@dataclass(frozen=True)
class InpatientStay:
    """An inpatient hospital or skilled nursing stay, both days included."""

    start: dt.date
    end: dt.date

    def __init__(self, start: dt.date, end: dt.date) -> None:
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)

    def covers(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class Facts:
    month: Month
    billing_practitioner: str
    patient: Patient
    time_entries: tuple[TimeEntry, ...] = ()
    rulebook: str | None = None
    mdm: Mdm | None = None
    other_services: tuple[OtherService, ...] = ()
    inpatient_stays: tuple[InpatientStay, ...] = ()
    #: Display names of the people the ids stand for ({"U5": "Dr. Diane Doctor"}): used in
    #: messages only, never to decide; an id without a name is shown as itself.
    names: Mapping[str, str] = field(default_factory=lambda: NO_NAMES)

    def __init__(
        self,
        month: Month,
        billing_practitioner: str,
        patient: Patient,
        time_entries: tuple[TimeEntry, ...] = (),
        rulebook: str | None = None,
        mdm: Mdm | None = None,
        other_services: tuple[OtherService, ...] = (),
        inpatient_stays: tuple[InpatientStay, ...] = (),
        names: Mapping[str, str] = NO_NAMES,
    ) -> None:
        object.__setattr__(self, "month", month)
        object.__setattr__(self, "billing_practitioner", billing_practitioner)
        object.__setattr__(self, "patient", patient)
        object.__setattr__(self, "time_entries", time_entries)
        object.__setattr__(self, "rulebook", rulebook)
        object.__setattr__(self, "mdm", mdm)
        object.__setattr__(self, "other_services", other_services)
        object.__setattr__(self, "inpatient_stays", inpatient_stays)
        object.__setattr__(self, "names", names)

    def name(self, ref: str) -> str:
        """The person `ref` stands for as a message names them: the display name the facts
        give ("Dr. Diane Doctor, MD"), else the ref itself ("U5")."""
        return self.names.get(ref, ref)
