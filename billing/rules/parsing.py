"""`parse_facts`: JSON-like data -> Facts, or a FactsError naming the bad field.

Unknown keys are ignored (callers may send more than the engine reads); every key the
engine reads is checked. Booleans are never accepted as numbers.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import TypeVar

from billing.rules.facts import (
    CCM_PROGRAM,
    CONSENT_METHODS,
    MDM_LEVELS,
    PERFORMERS,
    CarePlan,
    ChronicCondition,
    Consent,
    Facts,
    FactsError,
    InitiatingVisit,
    InpatientStay,
    Mdm,
    Month,
    OtherService,
    Patient,
    TimeEntry,
)
from billing.rules.rulebooks import RULEBOOKS, unknown_rulebook

T = TypeVar("T")

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")
_ICD10 = re.compile(r"^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$")
_DAY_SECONDS = 24 * 3600
#: `names` is for messages: a few people per patient-month; bounded so a request cannot
#: make the engine carry megabytes of them.
MAX_NAMES = 1000
MAX_NAME_LENGTH = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class _Object:
    """A JSON object being read, with the path of its fields for error messages."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, Mapping):
            raise FactsError(path or "facts", f"expected an object, got {_kind(data)}")
        self.data: Mapping[object, object] = data
        self.path = path

    def field(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str, *, required: bool) -> object:
        value = self.data.get(key)
        if value is None and required:
            raise FactsError(self.field(key), "is required")
        return value

    def string(self, key: str) -> str:
        value = self.get(key, required=True)
        return _string(value, self.field(key))

    def optional_string(self, key: str) -> str | None:
        value = self.get(key, required=False)
        return None if value is None else _string(value, self.field(key))

    def optional_text(self, key: str) -> str | None:
        """A string that may be empty: stripped, None when empty or absent."""
        value = self.get(key, required=False)
        if value is None:
            return None
        if not isinstance(value, str):
            raise FactsError(self.field(key), f"must be a string, got {_kind(value)}")
        return value.strip() or None

    def identifier(self, key: str) -> str:
        """A non-empty string id; whole numbers are accepted and turned into strings."""
        value = self.get(key, required=True)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return _string(value, self.field(key))

    def optional_identifier(self, key: str) -> str | None:
        return None if self.get(key, required=False) is None else self.identifier(key)

    def date(self, key: str) -> dt.date:
        return _date(self.get(key, required=True), self.field(key))

    def optional_date(self, key: str) -> dt.date | None:
        value = self.get(key, required=False)
        return None if value is None else _date(value, self.field(key))

    def positive_int(self, key: str) -> int:
        value = self.get(key, required=True)
        if isinstance(value, bool) or not isinstance(value, int):
            raise FactsError(self.field(key), f"must be a whole number, got {_kind(value)}")
        if value <= 0:
            raise FactsError(self.field(key), f"must be greater than 0, got {value}")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.get(key, required=False)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise FactsError(self.field(key), f"must be true or false, got {_kind(value)}")
        return value

    def choice(self, key: str, choices: tuple[str, ...], *, required: bool = True) -> str | None:
        value = self.get(key, required=required)
        if value is None:
            return None
        text = _string(value, self.field(key))
        if text not in choices:
            raise FactsError(
                self.field(key), f"unknown value {text!r} (expected one of {', '.join(choices)})"
            )
        return text

    def child(self, key: str) -> _Object | None:
        value = self.get(key, required=False)
        return None if value is None else _Object(value, self.field(key))

    def items(self, key: str, *, required: bool) -> Iterator[_Object]:
        value = self.get(key, required=required)
        if value is None:
            return
        if not isinstance(value, list):
            raise FactsError(self.field(key), f"expected a list, got {_kind(value)}")
        for index, item in enumerate(value):
            yield _Object(item, f"{self.field(key)}[{index}]")

    def parse_list(
        self, key: str, parse: Callable[[_Object], T], *, required: bool = False
    ) -> tuple[T, ...]:
        return tuple(parse(item) for item in self.items(key, required=required))


def _kind(value: object) -> str:
    if value is None:
        return "null"
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string"}
    names |= {list: "a list", dict: "an object"}
    return names.get(type(value), type(value).__name__)


def _string(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise FactsError(field, f"must be a string, got {_kind(value)}")
    text = value.strip()
    if not text:
        raise FactsError(field, "must not be empty")
    return text


def _date(value: object, field: str) -> dt.date:
    text = _string(value, field)
    if _DATE.match(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    raise FactsError(field, f"not a valid date {text!r} (expected YYYY-MM-DD)")


def _month(value: object) -> Month:
    if value is None:
        raise FactsError("month", "is required")
    text = _string(value, "month")
    match = _MONTH.match(text)
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1:
        raise FactsError("month", f"not a valid month {text!r} (expected YYYY-MM)")
    return Month(int(match.group(1)), int(match.group(2)))


def _start(o: _Object) -> int | None:
    text = o.optional_string("start")
    if text is None:
        return None
    match = _TIME.match(text)
    if not match:
        raise FactsError(
            o.field("start"), f"not a valid time {text!r} (expected HH:MM or HH:MM:SS)"
        )
    hours, minutes, seconds = [int(part or 0) for part in match.groups()]
    return hours * 3600 + minutes * 60 + seconds


def _duration(o: _Object) -> int:
    has_minutes = o.get("minutes", required=False) is not None
    has_seconds = o.get("seconds", required=False) is not None
    if has_minutes and has_seconds:
        raise FactsError(o.field("seconds"), "give minutes or seconds, not both")
    if not has_minutes and not has_seconds:
        raise FactsError(o.field("minutes"), "is required (or seconds)")
    key = "minutes" if has_minutes else "seconds"
    seconds = o.positive_int(key) * (60 if has_minutes else 1)
    if seconds > _DAY_SECONDS:
        raise FactsError(o.field(key), "is longer than a day")
    return seconds


def _time_entry(o: _Object) -> TimeEntry:
    shared_with = (
        1 if o.get("shared_with", required=False) is None else o.positive_int("shared_with")
    )
    program = o.optional_string("program")
    return TimeEntry(
        id=o.identifier("id"),
        date=o.date("date"),
        seconds=_duration(o),
        performer=str(o.choice("performer", PERFORMERS)),
        start=_start(o),
        staff_id=o.optional_identifier("staff_id"),
        # Empty for non-clinical staff (front desk, billing): "not known", like null.
        credential=o.optional_text("credential"),
        activity=o.optional_string("activity"),
        program=CCM_PROGRAM if program is None else program.lower(),
        shared_with=shared_with,
        note=o.optional_text("note"),
        logged_on=o.optional_date("logged_on"),
    )


def _condition(o: _Object) -> ChronicCondition:
    code = o.string("icd10").upper()
    if not _ICD10.match(code):
        raise FactsError(o.field("icd10"), f"not an ICD-10 code {code!r}")
    onset, resolved = o.optional_date("onset"), o.optional_date("resolved")
    if onset is not None and resolved is not None and resolved < onset:
        raise FactsError(o.field("resolved"), "is before the onset")
    return ChronicCondition(
        icd10=code,
        onset=onset,
        resolved=resolved,
        attested_chronic=o.boolean("attested_chronic", default=False),
    )


def _consent(o: _Object) -> Consent:
    date, revoked = o.date("date"), o.optional_date("revoked")
    if revoked is not None and revoked < date:
        raise FactsError(o.field("revoked"), "is before the consent date")
    return Consent(
        date=date,
        billing_practitioner=o.identifier("billing_practitioner"),
        method=o.choice("method", CONSENT_METHODS, required=False),
        revoked=revoked,
    )


def _patient(o: _Object) -> Patient:
    visit = o.child("initiating_visit")
    plan = o.child("care_plan")
    return Patient(
        chronic_conditions=o.parse_list("chronic_conditions", _condition, required=True),
        consents=o.parse_list("consents", _consent, required=True),
        prior_visit_date=o.optional_date("prior_visit_date"),
        initiating_visit=None
        if visit is None
        else InitiatingVisit(
            date=visit.date("date"),
            code=visit.string("code").upper(),
            ccm_discussed=visit.boolean("ccm_discussed", default=False),
            practitioner=visit.optional_identifier("practitioner"),
        ),
        care_plan=None
        if plan is None
        else CarePlan(
            established=plan.date("established"),
            reviewed=plan.optional_date("reviewed"),
            signed_by=plan.optional_identifier("signed_by"),
        ),
    )


def _mdm(o: _Object) -> Mdm:
    return Mdm(
        level=str(o.choice("level", MDM_LEVELS)),
        attested_by=o.identifier("attested_by"),
        date=o.optional_date("date"),
    )


def _other_service(o: _Object) -> OtherService:
    return OtherService(
        code=o.string("code").upper(),
        date=o.date("date"),
        practitioner=o.optional_identifier("practitioner"),
    )


def _inpatient_stay(o: _Object) -> InpatientStay:
    start, end = o.date("from"), o.date("to")
    if end < start:
        raise FactsError(o.field("to"), "is before from")
    return InpatientStay(start=start, end=end)


def _names(value: object) -> Mapping[str, str]:
    """`names`: ref -> display name, both non-empty strings without control characters,
    at most MAX_NAMES of them, each at most MAX_NAME_LENGTH characters."""
    if value is None:
        return MappingProxyType({})
    if not isinstance(value, Mapping):
        raise FactsError("names", f"expected an object, got {_kind(value)}")
    if len(value) > MAX_NAMES:
        raise FactsError("names", f"at most {MAX_NAMES} names, got {len(value)}")
    out: dict[str, str] = {}
    for key, name in value.items():
        ref = key.strip() if isinstance(key, str) else ""
        if not ref or len(ref) > MAX_NAME_LENGTH or _CONTROL.search(ref):
            raise FactsError("names", f"not a ref {key!r}"[: MAX_NAME_LENGTH + 20])
        field = f"names.{ref}"
        text = _string(name, field)
        if len(text) > MAX_NAME_LENGTH:
            raise FactsError(field, f"is longer than {MAX_NAME_LENGTH} characters")
        if _CONTROL.search(text):
            raise FactsError(field, "must not contain control characters")
        out[ref] = text
    return MappingProxyType(out)


def _unique_ids(entries: tuple[TimeEntry, ...]) -> None:
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        if entry.id in seen:
            raise FactsError(
                f"time_entries[{index}].id",
                f"duplicate id {entry.id!r} (also time_entries[{seen[entry.id]}])",
            )
        seen[entry.id] = index


def parse_facts(data: object) -> Facts:
    """Validate the facts of one patient-month (billing-rules.md s. 2) and build Facts."""
    root = _Object(data, "")
    month = _month(root.get("month", required=False))
    rulebook = root.optional_string("rulebook")
    if rulebook is not None and rulebook not in RULEBOOKS:
        raise unknown_rulebook(rulebook)
    patient = root.child("patient")
    if patient is None:
        raise FactsError("patient", "is required")
    entries = root.parse_list("time_entries", _time_entry, required=True)
    _unique_ids(entries)
    mdm = root.child("mdm")
    return Facts(
        month=month,
        rulebook=rulebook,
        billing_practitioner=root.identifier("billing_practitioner"),
        patient=_patient(patient),
        time_entries=entries,
        mdm=None if mdm is None else _mdm(mdm),
        other_services=root.parse_list("other_services", _other_service),
        inpatient_stays=root.parse_list("inpatient_stays", _inpatient_stay),
        names=_names(root.get("names", required=False)),
    )
