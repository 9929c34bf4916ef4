"""What an enrollment file says about each patient, in either format, and the problems
found in it: each names where (a CSV line, or a Bundle entry) and which field."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError

from ccm.npi import is_valid_npi
from patients.icd10 import icd10_lookup
from patients.mbi import mbi_problem, normalise_mbi


@dataclass(frozen=True)
class Where:
    """A CSV line (1 is the header) or a Bundle entry (0-based, as in `entry[3]`)."""

    line: int | None = None
    entry: int | None = None

    def as_json(self) -> dict[str, int]:
        return {"line": self.line} if self.line is not None else {"entry": self.entry or 0}

    def __str__(self) -> str:
        return f"line {self.line}" if self.line is not None else f"entry {self.entry}"


@dataclass(frozen=True)
class Problem:
    where: Where
    field: str
    message: str

    def as_json(self) -> dict[str, Any]:
        return {**self.where.as_json(), "field": self.field, "message": self.message}

    def __str__(self) -> str:
        return f"{self.where}, {self.field}: {self.message}"


@dataclass(frozen=True)
class ConditionRecord:
    icd10: str  # dotted, a billable ICD-10-CM code
    onset: dt.date | None  # None: the import's default (the consent date, else today)
    resolved: dt.date | None
    where: Where
    field: str  # the file's field the code came from (errors name it)


@dataclass(frozen=True)
class VisitRecord:
    date: dt.date
    code: str
    practitioner_npi: str  # "" when the file names none
    where: Where


@dataclass
class PatientRecord:
    """One patient of the file. `fields` names the file's field for each of ours (a CSV
    column, or a FHIR path), so the services' errors point back into the file."""

    where: Where
    mrn: str
    first_name: str
    last_name: str
    birth_date: dt.date
    billing_practitioner_npi: str
    claim_data: dict[str, str] = field(default_factory=dict)
    conditions: list[ConditionRecord] = field(default_factory=list)
    consent: tuple[dt.date, str] | None = None
    visits: list[VisitRecord] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)

    def field_name(self, ours: str) -> str:
        return self.fields.get(ours, ours)


class Problems(list[Problem]):
    """The problems of a file, added where they are found."""

    def add(self, where: Where, field: str, message: str) -> None:
        self.append(Problem(where, field, message))


# -- value checks both formats share -----------------------------------------------------

US_DATE_FORMAT = "%m/%d/%Y"


def parse_date(text: str) -> dt.date:
    """YYYY-MM-DD (FHIR, ISO) or MM/DD/YYYY (what EHR spreadsheets often write)."""
    for reader in (dt.date.fromisoformat, _us_date):
        try:
            return reader(text)
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date (YYYY-MM-DD or MM/DD/YYYY).")


def _us_date(text: str) -> dt.date:
    return dt.datetime.strptime(text, US_DATE_FORMAT).date()


def check_date(
    problems: Problems, where: Where, field: str, text: str, *, today: dt.date, required: bool
) -> dt.date | None:
    text = text.strip()
    if not text:
        if required:
            problems.add(where, field, "Required.")
        return None
    try:
        day = parse_date(text)
    except ValueError as error:
        problems.add(where, field, str(error))
        return None
    if day > today:
        problems.add(where, field, f"{day:%Y-%m-%d} is in the future.")
        return None
    return day


def check_mbi(problems: Problems, where: Where, field: str, text: str) -> str:
    """The MBI normalised, "" when absent (the worklist flags a claim without one)."""
    value = normalise_mbi(text)
    if value:
        problem = mbi_problem(value)
        if problem:
            problems.add(where, field, problem)
            return ""
    return value


def check_npi(problems: Problems, where: Where, field: str, text: str) -> str:
    value = text.strip()
    if not value:
        problems.add(where, field, "Required: the NPI of the patient's billing practitioner.")
    elif not is_valid_npi(value):
        problems.add(where, field, f"{value!r} is not a valid NPI (10 digits, check digit).")
        return ""
    return value


def check_icd10(problems: Problems, where: Where, field: str, text: str) -> str | None:
    """The code dotted (E119 -> E11.9) when it is a billable ICD-10-CM code."""
    try:
        return icd10_lookup(text).code
    except ValidationError as error:
        problems.add(where, field, " ".join(error.messages))
        return None


SEX_WORDS = {
    "f": "F",
    "female": "F",
    "m": "M",
    "male": "M",
    "u": "U",
    "unknown": "U",
    "other": "U",
    "": "",
}


def check_sex(problems: Problems, where: Where, field: str, text: str) -> str:
    value = SEX_WORDS.get(text.strip().casefold())
    if value is None:
        problems.add(where, field, f"{text!r} is not a sex: F, M or U.")
        return ""
    return value
