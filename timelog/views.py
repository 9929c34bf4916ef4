"""Pages of care-management time for clinical staff and practitioners: log an activity
(minutes or the start/stop timer) for one or several patients, and one's own entries of
a month, editable and deletable while the month is open.

Every write goes through timelog.services, which applies the billing rules of time
(billing-rules.md sections 2 and 4): one activity serving several patients is split
evenly; no future date, no zero or over-long duration, no overlap with one's own entry;
nothing changes in a closed month. This app never imports billing: the patient's month
page is reached by its URL name only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from ccm.exceptions import PeriodClosed
from ccm.models import CARE_TEAM_ROLES, BillingMonth, User
from ccm.periods import billing_month_status, month_end, month_start, parse_month
from ccm.views import role_required
from patients.models import Patient
from timelog.forms import (
    TimeEntryForm,
    TimerStopForm,
    apply_entry_errors,
    initial_for_activity,
    initial_for_timer,
    new_request_id,
)
from timelog.models import Program, TimeActivity, TimeShare
from timelog.selectors import default_activity
from timelog.services import time_activity_create, time_activity_delete, time_activity_update
from timelog.timer.selectors import timer_for_user, timer_state
from timelog.timer.services import NoTimer, TimerConflict, timer_stop

LOGGERS = CARE_TEAM_ROLES


def duration_text(seconds: int) -> str:
    """A duration as people read it, in whole minutes as the thresholds are: '29 min' for
    29 min 11 s (the entry keeps its exact seconds), '< 1 min' under a minute."""
    minutes = seconds // 60
    if minutes == 0 and seconds > 0:
        return "< 1 min"
    return f"{minutes} min"


def _user(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    return user


def _practice_patients(user: User) -> QuerySet[Patient]:
    """Every id a page accepts is looked up here: another practice's patient is unknown."""
    return Patient.objects.filter(practice=user.practice)


def month_param(request: HttpRequest) -> dt.date:
    """?month=YYYY-MM, else the current month; a malformed month is a 404."""
    text = request.GET.get("month")
    if not text:
        return month_start(timezone.localdate())
    try:
        return parse_month(text)
    except ValueError as error:
        raise Http404(str(error)) from None


def shift_month(first: dt.date, months: int) -> dt.date:
    """The first day of the month `months` away from `first`'s."""
    index = first.year * 12 + first.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _patient_month_url(patient_id: int, day: dt.date) -> str | None:
    try:
        return reverse("patient-month", args=[patient_id, f"{day:%Y-%m}"])
    except NoReverseMatch:
        return None


def _closed_text(day: dt.date) -> str:
    return (
        f"The billing month {day:%Y-%m} is closed: its time can no longer change. "
        "Pick a date in an open month, or ask billing staff to reopen it."
    )


def _saved_text(activity: TimeActivity, patients: list[Patient], created: bool) -> str:
    if not created:
        return "This entry was already logged (the form was sent twice); it was not counted again."
    total = duration_text(activity.duration_seconds)
    if len(patients) == 1:
        return f"Logged {total} for {patients[0].full_name} on {activity.date:%b %-d}."
    share = duration_text(activity.duration_seconds // len(patients))
    return (
        f"Logged {total} for {len(patients)} patients as one shared activity: "
        f"each is credited {share}."
    )


def _form_context(form: TimeEntryForm, **extra: Any) -> dict[str, Any]:
    return {
        "form": form,
        "patient_options": form.patient_options(),
        "duration_errors": form.duration_errors(),
        **extra,
    }


@role_required(LOGGERS)
def log_time(request: HttpRequest) -> HttpResponse:
    """Log one activity for its patients (billing rule: a shared activity is split
    evenly). ?patient=ID preselects a patient. A hidden request id makes a double submit
    log once. Success: to the patient's month (one patient) or back to a fresh form.

    With a session timer, the form is the timer's: its patients and what was typed while
    it ran, its days and times shown; saving stops it (_log_timer). Not with ?manual=1,
    nor for a patient the timer is not for ("Log time" on another patient's row): those
    log minutes while the timer runs on."""
    user = _user(request)
    if request.method == "POST" and request.POST.get("timer"):
        return _log_timer(request, user)
    timer = None if request.GET.get("manual") else timer_for_user(user)
    wanted = request.GET.get("patient", "")
    timer_patients = {patient.pk for patient in timer.patients.all()} if timer else set()
    if wanted.isdigit() and int(wanted) not in timer_patients:
        timer = None
    if timer is not None:
        timer_form = TimerStopForm(
            initial=initial_for_timer(timer),
            practice=user.practice,
            extra_patient_ids=[patient.pk for patient in timer.patients.all()],
        )
        return render(
            request, "timelog/log_time.html", _form_context(timer_form, timer=timer_state(timer))
        )
    patients = _practice_patients(user)
    status = 200
    if request.method == "POST":
        form = TimeEntryForm(request.POST, practice=user.practice)
        if form.is_valid() and form.entry is not None:
            entry = form.entry
            try:
                activity, created = time_activity_create(
                    performer=user, entry=entry, request_id=form.cleaned_data.get("request_id")
                )
            except ValidationError as error:
                apply_entry_errors(form, error)
                status = 400
            except PeriodClosed:
                form.add_error("date", _closed_text(entry.date))
                status = 409
            else:
                chosen = list(entry.patients)
                messages.success(request, _saved_text(activity, chosen, created))
                return _after_saving(chosen, activity.date)
        else:
            status = 400
    else:
        initial: dict[str, Any] = {
            "date": timezone.localdate(),
            "program": Program.CCM,
            "activity": default_activity(user),
            "request_id": new_request_id(),
        }
        if wanted.isdigit() and patients.filter(pk=int(wanted), is_active=True).exists():
            initial["patients"] = [int(wanted)]
        form = TimeEntryForm(initial=initial, practice=user.practice)
    return render(request, "timelog/log_time.html", _form_context(form), status=status)


def _after_saving(patients: list[Patient], day: dt.date) -> HttpResponse:
    """To the patient's month when the time was for one patient, else a fresh form."""
    target = _patient_month_url(patients[0].pk, day) if len(patients) == 1 else None
    return HttpResponseRedirect(target or reverse("log-time"))


def _log_timer(request: HttpRequest, user: User) -> HttpResponse:
    """Save the session timer's work as entries, one per day (timer_stop), with the
    patients and what was done as the form says; errors come back next to their field,
    the timer kept."""
    timer = timer_for_user(user)
    form = TimerStopForm(
        request.POST,
        practice=user.practice,
        extra_patient_ids=[patient.pk for patient in timer.patients.all()] if timer else (),
    )
    status = 400
    if form.is_valid():
        draft = form.draft()
        try:
            stopped = timer_stop(user=user, timer_id=form.cleaned_data["timer"], draft=draft)
        except ValidationError as error:
            apply_entry_errors(form, error)
        except PeriodClosed as error:
            form.add_error(None, f"{error.detail} Discard the timer, or ask billing staff.")
            status = 409
        except (NoTimer, TimerConflict) as error:
            messages.error(request, str(error.detail))
            return redirect("log-time")
        else:
            messages.success(request, _timer_saved_text(stopped.entries, stopped.created))
            return _after_saving(list(draft.patients or []), stopped.entries[-1].date)
    if timer is None:  # stopped elsewhere while this form was open
        messages.error(request, "The timer was stopped in another tab or device.")
        return redirect("log-time")
    return render(
        request,
        "timelog/log_time.html",
        _form_context(form, timer=timer_state(timer)),
        status=status,
    )


def _timer_saved_text(entries: list[TimeActivity], created: bool) -> str:
    if not created:
        return (
            "The timer was already saved (from another tab or a second click): "
            "nothing was counted twice."
        )
    total = duration_text(sum(entry.duration_seconds for entry in entries))
    if len(entries) == 1:
        return f"Logged {total} from the timer on {entries[0].date:%b %-d}."
    days = ", ".join(
        f"{entry.date:%b %-d} {duration_text(entry.duration_seconds)}" for entry in entries
    )
    return f"Logged {total} from the timer as {len(entries)} entries, one per day: {days}."


@dataclass(frozen=True)
class EntryRow:
    """One of the performer's activities as My entries lists it."""

    activity: TimeActivity
    patients: list[Patient]

    @property
    def duration(self) -> str:
        return duration_text(self.activity.duration_seconds)

    @property
    def share(self) -> str:
        """What each patient is credited (floor of the even split)."""
        count = max(self.activity.patient_count, 1)
        return duration_text(self.activity.duration_seconds // count)

    @property
    def span(self) -> str:
        start = self.activity.started_at
        if start is None:
            return ""
        begin = dt.datetime.combine(self.activity.date, start)
        end = begin + dt.timedelta(seconds=self.activity.duration_seconds)
        return f"{begin:%H:%M}–{end:%H:%M}"


def _own_activities(user: User) -> QuerySet[TimeActivity]:
    return TimeActivity.objects.filter(practice=user.practice, performer=user)


@role_required(LOGGERS)
def my_entries(request: HttpRequest) -> HttpResponse:
    """The signed-in person's entries of a month (?month=YYYY-MM, default this month),
    newest first, each editable and deletable while the month is open (billing rule: a
    closed month's time is final until billing reopens it)."""
    user = _user(request)
    first = month_param(request)
    activities = (
        _own_activities(user)
        .filter(date__range=(first, month_end(first)))
        .prefetch_related(
            Prefetch(
                "shares",
                queryset=TimeShare.objects.select_related("patient").order_by(
                    "patient__last_name", "patient__first_name", "patient_id"
                ),
            )
        )
        .order_by("-date", "-id")  # within a day, the latest logged first
    )
    rows = [
        EntryRow(activity, [share.patient for share in activity.shares.all()])
        for activity in activities
    ]
    status = billing_month_status(user.practice, first)  # type: ignore[arg-type]
    this_month = month_start(timezone.localdate())
    return render(
        request,
        "timelog/my_entries.html",
        {
            "rows": rows,
            "month": first,
            "month_text": f"{first:%Y-%m}",
            "previous_month": f"{shift_month(first, -1):%Y-%m}",
            "next_month": f"{shift_month(first, 1):%Y-%m}" if first < this_month else None,
            "month_open": status == BillingMonth.Status.OPEN,
            "month_status": status,
            "total": duration_text(sum(row.activity.duration_seconds for row in rows)),
        },
    )


def _my_entries_url(day: dt.date) -> str:
    return f"{reverse('my-entries')}?month={day:%Y-%m}"


@role_required(LOGGERS)
def my_entry_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change one's own entry while its month (old and new) is open; its shares are
    re-split evenly and the change is audited (timelog.services.time_activity_update)."""
    user = _user(request)
    activity = get_object_or_404(_own_activities(user).prefetch_related("shares"), pk=pk)
    current_ids = [share.patient_id for share in activity.shares.all()]
    status = 200
    if request.method == "POST":
        form = TimeEntryForm(request.POST, practice=user.practice, extra_patient_ids=current_ids)
        if form.is_valid() and form.entry is not None:
            try:
                time_activity_update(activity=activity, actor=user, entry=form.entry)
            except ValidationError as error:
                apply_entry_errors(form, error)
                status = 400
            except PeriodClosed as error:
                form.add_error(None, f"{error.detail} This entry can no longer be changed.")
                status = 409
            else:
                messages.success(request, f"Entry #{activity.pk} updated.")
                return redirect(_my_entries_url(form.entry.date))
        else:
            status = 400
    else:
        form = TimeEntryForm(
            initial=initial_for_activity(activity),
            practice=user.practice,
            extra_patient_ids=current_ids,
        )
    return render(
        request, "timelog/log_time.html", _form_context(form, editing=activity), status=status
    )


@role_required(LOGGERS)
def my_entry_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete one's own entry after a confirmation, while its month is open; the audit log
    keeps the whole entry (timelog.services.time_activity_delete)."""
    user = _user(request)
    activity = get_object_or_404(
        _own_activities(user).prefetch_related(
            Prefetch("shares", queryset=TimeShare.objects.select_related("patient"))
        ),
        pk=pk,
    )
    if request.method == "POST":
        try:
            time_activity_delete(activity=activity, actor=user)
        except PeriodClosed as error:
            messages.error(request, f"{error.detail} The entry was not deleted.")
        else:
            messages.success(request, f"Entry #{pk} of {activity.date:%b %-d} deleted.")
        return redirect(_my_entries_url(activity.date))
    row = EntryRow(activity, [share.patient for share in activity.shares.all()])
    return render(request, "timelog/confirm_delete.html", {"row": row})
