"""Pages that show the billing engine's live decision to the care team: the day's call
list ("My patients this month", from stored progress kept current) and one patient's
month.

Both call the same engine as the month close (billing-rules.md sections 3 and 4), through
billing.selectors: facts built in a fixed number of queries, one rulebook with the
practice's fees, `evaluate` per patient. billing.progress turns each decision into what
the pages print; billing.call_list chooses the call list's patients and prints its rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from billing.call_list import (
    active_patients,
    call_list_rows,
    call_list_summary,
    my_recent_patients,
)
from billing.call_progress import call_list_progress
from billing.live_decisions import decide_months
from billing.models import WorklistRow
from billing.progress import PlainFinding, entry_flags, month_progress
from billing.selectors import practice_rulebook
from billing.worklist import current_version
from ccm.audit import audit_read
from ccm.gc_pause import gc_paused
from ccm.models import ALL_ROLES, CARE_TEAM_ROLES, BillingMonth, User
from ccm.periods import billing_month_status, month_end, month_start, parse_month
from ccm.views import role_required
from patients.models import Patient
from timelog.models import TimeShare
from timelog.views import duration_text, month_param, shift_month

TAB_MINE, TAB_ALL = "mine", "all"


def _user(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    return user


def _url_or_none(name: str, *args: Any) -> str | None:
    """A page of another app, when it is installed (the patients pages may not be)."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def days_left_text(first: dt.date, today: dt.date) -> str:
    """How long the month still runs, counting today: minutes can still be logged then."""
    last = month_end(first)
    if today > last:
        return "Month ended"
    if today < first:
        return "Not started"
    left = (last - today).days + 1
    return f"{left} day{'s' if left != 1 else ''} left"


@role_required(CARE_TEAM_ROLES)
def my_patients(request: HttpRequest) -> HttpResponse:
    """The day's call list (billing rule `next_threshold`): each patient's counted minutes
    this month, a progress bar to the next code, the current codes and the blocking
    findings. Patients a little more time would bill come first, fewest minutes needed
    first; blocked patients last. Tab Mine (time logged by the user in this or the two
    previous months; the default, falling back to All when empty) or All (the practice's
    active patients). Each patient's progress is the stored one where it is current, else
    worked out now (billing.call_progress). A fixed number of queries however many
    patients: one when every patient's progress is current, another when some is not."""
    with gc_paused():
        return _my_patients(request)


def _my_patients(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    first = month_param(request)
    today = timezone.localdate()
    asked = request.GET.get("tab")
    tab = asked if asked in (TAB_MINE, TAB_ALL) else TAB_MINE
    patients = my_recent_patients(user, first) if tab == TAB_MINE else []
    fell_back = False
    if tab == TAB_MINE and not patients and asked != TAB_MINE:
        tab, fell_back = TAB_ALL, True
    if tab == TAB_ALL:
        patients = active_patients(user)
    rulebook = practice_rulebook(user.practice, first)  # type: ignore[arg-type]
    month_text = f"{first:%Y-%m}"
    progress = call_list_progress([patient.key for patient in patients], first, rulebook)
    rows = call_list_rows(patients, progress, month_text)
    this_month = month_start(today)
    return render(
        request,
        "billing/my_patients.html",
        {
            "rows": rows,
            "tab": tab,
            "fell_back": fell_back,
            "month": first,
            "month_text": month_text,
            "previous_month": f"{shift_month(first, -1):%Y-%m}",
            "next_month": f"{shift_month(first, 1):%Y-%m}" if first < this_month else None,
            "is_current_month": first == this_month,
            "days_left": days_left_text(first, today),
            "summary": call_list_summary(rows),
        },
    )


@dataclass(frozen=True)
class TimelineRow:
    """One entry of the patient's month: the activity and this patient's share of it."""

    share: TimeShare
    flags: list[PlainFinding]

    @property
    def credited(self) -> str:
        return duration_text(self.share.seconds)

    @property
    def total(self) -> str:
        return duration_text(self.share.activity.duration_seconds)

    @property
    def span(self) -> str:
        activity = self.share.activity
        if activity.started_at is None:
            return ""
        begin = dt.datetime.combine(activity.date, activity.started_at)
        end = begin + dt.timedelta(seconds=activity.duration_seconds)
        return f"{begin:%H:%M}–{end:%H:%M}"


@dataclass(frozen=True)
class LineRow:
    code: str
    description: str
    units: int
    unit_amount: str
    amount: str


def _closed_claim(patient: Patient, first: dt.date) -> WorklistRow | None:
    """The patient's row of the month's latest close, with its lines (None before the
    first close): what was billed, and after a re-close what went out before."""
    version = current_version(patient.practice, first)
    if not version:
        return None
    return (
        WorklistRow.objects.filter(patient=patient, month=first, version=version)
        .prefetch_related("lines")
        .first()
    )


@role_required(ALL_ROLES)
def patient_month(request: HttpRequest, pk: int, month: str) -> HttpResponse:
    """One patient's month: the timeline of its entries (each patient is credited its
    even share of a shared activity) and the live decision of billing-rules.md section 3:
    tier, claim lines with units and amounts, counted minutes, the next threshold, and
    every finding (section 4) in plain words with its severity; once the month is
    closed, its worklist row too (after a re-close, the lines that went out beside the
    new ones, with the reason). Everyone in the practice may look; another practice's
    patient is a 404."""
    user = _user(request)
    try:
        first = parse_month(month)
    except ValueError as error:
        raise Http404(str(error)) from None
    patient = get_object_or_404(
        Patient.objects.filter(practice=user.practice).select_related(
            "billing_practitioner", "practice"
        ),
        pk=pk,
    )
    audit_read(actor=user, instance=patient, what=f"page:patient-month {first:%Y-%m}")
    rulebook = practice_rulebook(patient.practice, first)
    key = (patient.pk, patient.billing_practitioner_id, patient.billing_practitioner.npi)
    outcome = decide_months([key], first, rulebook)[patient.pk]
    decision = outcome if not isinstance(outcome, str) else None
    progress = month_progress(decision, rulebook) if decision is not None else None
    flags = entry_flags(progress.findings) if progress is not None else {}
    shares = (
        TimeShare.objects.filter(patient=patient, date__range=(first, month_end(first)))
        .select_related("activity__performer")
        .order_by("date", "activity_id")
    )
    timeline = [TimelineRow(share, flags.get(f"a{share.activity_id}", [])) for share in shares]
    lines = [
        LineRow(
            code=line.code,
            description=rulebook.codes[line.code].description
            if line.code in rulebook.codes
            else "",
            units=line.units,
            unit_amount=f"{line.unit_amount:.2f}",
            amount=f"{line.amount:.2f}",
        )
        for line in (decision.lines if decision is not None else ())
    ]
    status = billing_month_status(patient.practice, first)
    today = timezone.localdate()
    this_month = month_start(today)
    can_log = user.role in CARE_TEAM_ROLES
    return render(
        request,
        "billing/patient_month.html",
        {
            "patient": patient,
            "month": first,
            "month_text": f"{first:%Y-%m}",
            "previous_month": f"{shift_month(first, -1):%Y-%m}",
            "next_month": f"{shift_month(first, 1):%Y-%m}" if first < this_month else None,
            "decision": decision,
            "decision_error": outcome if isinstance(outcome, str) else "",
            "progress": progress,
            "lines": lines,
            "total_amount": f"{decision.total_amount:.2f}" if decision is not None else "",
            "counted_staff": duration_text(decision.counted_seconds.clinical_staff)
            if decision is not None
            else "",
            "counted_practitioner": duration_text(decision.counted_seconds.practitioner)
            if decision is not None
            else "",
            "counted_total": duration_text(decision.counted_seconds.total)
            if decision is not None
            else "",
            "excluded": duration_text(decision.excluded_seconds)
            if decision is not None and decision.excluded_seconds
            else "",
            "timeline": timeline,
            "month_status": status,
            "month_open": status == BillingMonth.Status.OPEN,
            "days_left": days_left_text(first, today),
            "can_log": can_log and status == BillingMonth.Status.OPEN,
            "log_url": f"{reverse('log-time')}?patient={patient.pk}" if can_log else None,
            "patient_url": _url_or_none("patient-detail", patient.pk),
            "rulebook": rulebook,
            "claim": _closed_claim(patient, first),
        },
    )
