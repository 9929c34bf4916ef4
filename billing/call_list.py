"""The day's call list of "My patients this month" (product.md): one row per patient with
the minutes counted, the progress bar to the next code (billing rule `next_threshold`),
the current codes and the blocking findings, in call order.

A nurse's list is a couple of hundred rows, and the page must answer in well under 50 ms
(issue 6). Each row is therefore worked out here once, as plain values, and printed here
as one piece of escaped HTML (`CallListRow.html`); the page's template lays out the rest.
Measured on 200 rows: the row markup in the Django template cost 18 ms of CPU per request
even with every value precomputed (about 25 variable and tag nodes per row); printing the
rows here costs about 1 ms, working them out from the decisions about 3.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any, NamedTuple

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.safestring import SafeString

from billing.progress import MonthProgress
from billing.selectors import PatientKey
from ccm.models import User
from ccm.periods import month_end
from patients.models import Patient
from timelog.models import TimeShare
from timelog.views import shift_month

#: Within this many minutes of the next code, a patient counts as close (and is bold).
CLOSE_MINUTES = 5
#: "Mine": patients the user logged time for in the shown month or the two before it.
MINE_MONTHS = 3


class ListedPatient(NamedTuple):
    """What the call list needs of a patient: read as plain values, not model instances
    (building 400 instances, the patients and their practitioners, costs more than
    reading them)."""

    pk: int
    mrn: str
    first_name: str
    last_name: str
    birth_date: dt.date
    billing_practitioner_id: int
    billing_practitioner_npi: str

    @property
    def key(self) -> PatientKey:
        """As billing.selectors names a patient for the engine's facts."""
        return (self.pk, self.billing_practitioner_id, self.billing_practitioner_npi)


_LISTED_FIELDS = (
    "pk",
    "mrn",
    "first_name",
    "last_name",
    "birth_date",
    "billing_practitioner_id",
    "billing_practitioner__npi",
)


def _listed(patients: QuerySet[Patient]) -> list[ListedPatient]:
    return [ListedPatient(*row) for row in patients.values_list(*_LISTED_FIELDS)]


def active_patients(user: User) -> list[ListedPatient]:
    """Tab All: the active patients of the user's practice, by name."""
    return _listed(_active(user))


def my_recent_patients(user: User, month: dt.date) -> list[ListedPatient]:
    """Tab Mine: the active patients of the user's practice the user logged time for in
    the month or the MINE_MONTHS - 1 months before it, by name.

    Two queries, not one with `pk IN (subquery)`: for that PostgreSQL guesses thousands of
    patients and reads the whole patient table to join them (100,000 rows, 20-40 ms);
    given the few hundred ids, it reads those by primary key. Activities are chosen by
    their own date (a share's date is always its activity's, see TimeShare), so the
    (performer, date) index finds them."""
    ids = list(
        TimeShare.objects.filter(
            activity__performer=user,
            activity__date__range=(shift_month(month, 1 - MINE_MONTHS), month_end(month)),
        )
        .order_by()
        .values_list("patient_id", flat=True)
        .distinct()
    )
    return _listed(_active(user).filter(pk__in=ids)) if ids else []


def _active(user: User) -> QuerySet[Patient]:
    return Patient.objects.filter(practice=user.practice, is_active=True).order_by(
        "last_name", "first_name", "pk"
    )


@dataclass(frozen=True)
class Badge:
    """A blocking finding as the row shows it: the label, the engine's sentence on hover."""

    label: str
    message: str


@dataclass(frozen=True)
class CallListRow:
    """One patient of the call list, ready to print. `error` is set (and the progress
    fields are empty) when the engine refused the patient's facts."""

    patient_id: int
    name: str  # "Last, First"
    full_name: str  # "First Last"
    details: str  # "MRN · birth date"
    month_url: str
    log_url: str
    sort_key: tuple[Any, ...]
    error: str = ""
    counted_minutes: int = 0
    # "next": a bar toward `next_code`; "done": every code reached; "": no bar.
    bar: str = ""
    next_code: str = ""
    step_start_minutes: int = 0
    target_minutes: int = 0
    percent: int = 0
    next_text: str = ""
    close: bool = False
    billable: bool = False
    blocked: bool = False
    codes: tuple[str, ...] = ()
    blocks: tuple[Badge, ...] = ()

    @property
    def html(self) -> SafeString:
        """The row's <tr>: the markup is put together from the constant pieces below, and
        every value is escaped into its {}."""
        markup = [_ROW_START]
        values: list[object] = [
            self.patient_id,
            self.month_url,
            self.name,
            self.details,
        ]
        if self.blocked:
            markup[0] = _ROW_START_BLOCKED
        if self.error:
            markup.append(_ERROR_CELL)
            values.append(self.error)
        else:
            markup.append(_MINUTES_CELL)
            values.append(self.counted_minutes)
            if self.bar == "next":
                markup.append(_NEXT_BAR)
                values += [
                    self.next_code,
                    self.step_start_minutes,
                    self.target_minutes,
                    self.counted_minutes,
                    self.percent,
                ]
            elif self.bar == "done":
                markup.append(_DONE_BAR)
            markup.append(_NEXT_CLOSE if self.close else _NEXT)
            values.append(self.next_text)
            markup.append(_CODES_START)
            markup.append(_CODE * len(self.codes) if self.codes else _NO_CODE)
            values += self.codes
            markup.append(_BLOCKS_START)
            markup.append(_BLOCK * len(self.blocks) if self.blocks else "")
            for badge in self.blocks:
                values += [badge.message, badge.label]
            if not self.blocks and self.billable:
                markup.append(_READY)
            markup.append(_CELL_END)
        markup.append(_ROW_END)
        values += [self.log_url, self.full_name, self.patient_id, self.full_name]
        return _format_escaped("".join(markup), values)


def _format_escaped(markup: str, values: list[object]) -> SafeString:
    """format_html(markup, *values) for plain values, five times cheaper (7 µs a row, not
    35: format_html checks every argument for lazy and already-safe strings). Each value
    is escaped as django.utils.html.escape does (it is html.escape); none of them is HTML
    already, so none is escaped twice."""
    escaped = [escape(str(value)) for value in values]
    # Safe: the markup is the constants of this module, every value is escaped.
    return SafeString(markup.format(*escaped))  # nosec B703


# The pieces of a row's markup: constants, each {} an escaped value. The bar's width comes
# from data-percent in progress.css (no inline style under the content security policy).
_PATIENT_CELL = (
    '<th scope="row" class="patient-cell"><a href="{}">{}</a><div class="muted small">{}</div></th>'
)
_ROW_START = '<tr data-testid="patient-row" data-patient="{}">' + _PATIENT_CELL
_ROW_START_BLOCKED = (
    '<tr data-testid="patient-row" data-patient="{}" class="is-blocked">' + _PATIENT_CELL
)
_ERROR_CELL = (
    '<td colspan="4" class="error">The engine could not read this patient\'s facts: {}</td>'
)
_MINUTES_CELL = (
    '<td class="num" data-label="Minutes" data-testid="minutes">{}</td>'
    '<td class="progress-cell" data-label="Progress">'
)
_NEXT_BAR = (
    '<div class="progress" role="progressbar" aria-label="Progress to {}"'
    ' aria-valuemin="{}" aria-valuemax="{}" aria-valuenow="{}"'
    ' data-testid="progress" data-percent="{}"><span></span></div>'
)
_DONE_BAR = (
    '<div class="progress done" role="progressbar" aria-label="Every code reached"'
    ' aria-valuemin="0" aria-valuemax="100" aria-valuenow="100"'
    ' data-testid="progress" data-percent="100"><span></span></div>'
)
_NEXT = '<div class="next" data-testid="next">{}</div></td>'
_NEXT_CLOSE = '<div class="next close" data-testid="next">{}</div></td>'
_CODES_START = '<td data-label="Codes now" data-testid="codes">'
_CODE = '<span class="badge code">{}</span> '
_NO_CODE = '<span class="muted">—</span>'
_BLOCKS_START = '</td><td data-label="Needs attention" data-testid="blocks">'
_BLOCK = '<span class="badge block" title="{}">{}</span> '
_READY = '<span class="badge ok">Ready</span>'
_CELL_END = "</td>"
# "Start timer" submits the page's one #timer-start form with this patient (no form, and
# no CSRF token, per row).
_ROW_END = (
    '<td class="actions-cell"><a class="button small" href="{}"'
    ' aria-label="Log time for {}">Log time</a> <button type="submit" form="timer-start"'
    ' name="patients" value="{}" class="small" data-timer-step="start"'
    ' aria-label="Start timer for {}">Start timer</button></td></tr>'
)


@dataclass(frozen=True)
class CallListSummary:
    patients: int
    billable: int
    close: int
    blocked: int


class _PatientUrls:
    """Each patient's month page and log form. The month page's URL is reversed once with
    a stand-in id that is then replaced: reversing per row costs more than the rest of it."""

    _STAND_IN = 987654321

    def __init__(self, month_text: str) -> None:
        url = reverse("patient-month", args=[self._STAND_IN, month_text])
        self._before, self._after = url.split(str(self._STAND_IN))
        self._log = reverse("log-time")

    def month(self, patient_id: int) -> str:
        return f"{self._before}{patient_id}{self._after}"

    def log(self, patient_id: int) -> str:
        return f"{self._log}?patient={patient_id}"


def call_list_rows(
    patients: Sequence[ListedPatient],
    progress: Mapping[int, MonthProgress | str],
    month_text: str,
) -> list[CallListRow]:
    """The rows of the call list in call order (billing rule `next_threshold`): patients a
    little more time would bill first, fewest minutes needed first (a first code before
    another add-on at a tie); then finished months; the blocked last; the patients whose
    facts the engine refused at the very end. Ties by name, then id.

    `progress` is each patient's progress (billing.call_progress), or the engine's error
    text, by patient id."""
    urls = _PatientUrls(month_text)
    rows = []
    for patient in patients:
        pk = patient.pk
        last, first = patient.last_name, patient.first_name
        common: dict[str, Any] = {
            "patient_id": pk,
            "name": f"{last}, {first}",
            "full_name": f"{first} {last}",
            "details": f"{patient.mrn} · {patient.birth_date:%Y-%m-%d}",
            "month_url": urls.month(pk),
            "log_url": urls.log(pk),
        }
        outcome = progress[pk]
        if isinstance(outcome, str):
            rows.append(CallListRow(**common, sort_key=(3, 0, 0, last, first, pk), error=outcome))
            continue
        needed = outcome.minutes_needed
        blocks = outcome.blocks
        bar = "done" if outcome.billable else ""
        if outcome.next_code is not None:
            bar = "next"
        rows.append(
            CallListRow(
                **common,
                sort_key=(*outcome.sort_key, last, first, pk),
                counted_minutes=outcome.counted_minutes,
                bar=bar,
                next_code=outcome.next_code or "",
                step_start_minutes=outcome.step_start_minutes,
                target_minutes=outcome.target_minutes or 0,
                percent=outcome.percent,
                next_text=outcome.next_text,
                close=needed is not None and needed <= CLOSE_MINUTES,
                billable=outcome.billable,
                blocked=bool(blocks),
                codes=outcome.codes,
                blocks=tuple(Badge(f.label, f.message) for f in blocks),
            )
        )
    rows.sort(key=lambda row: row.sort_key)
    return rows


def call_list_summary(rows: Sequence[CallListRow]) -> CallListSummary:
    """The counts above the list: patients, billable now, within CLOSE_MINUTES of a code,
    blocked (patients whose facts the engine refused count only as patients)."""
    decided = [row for row in rows if not row.error]
    return CallListSummary(
        patients=len(rows),
        billable=sum(1 for row in decided if row.billable),
        close=sum(1 for row in decided if row.close),
        blocked=sum(1 for row in decided if row.blocked),
    )
