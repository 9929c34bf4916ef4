"""The reports page and its CSVs (billing staff and admins: ccm.capabilities SEE_REVENUE).
?month=YYYY-MM picks the month (default the previous one): revenue covers the twelve
months to it, minutes by staff and missed revenue that month. Each CSV download is
audited (who took which report of which month), as the worklist export is."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from billing.dashboard import shift_month
from billing.reports.charts import horizontal_bars, stacked_bars
from billing.reports.missed import CAPPED, NEAR, NEAR_MINUTES, missed_revenue, missed_total
from billing.reports.revenue import revenue_by_month_and_code
from billing.reports.staff_minutes import minutes_by_staff
from billing.worklist import neutralise
from ccm.audit import audit_record
from ccm.capabilities import Capability as C
from ccm.capabilities import roles_with
from ccm.models import Practice, User
from ccm.periods import month_start, parse_month
from ccm.views import role_required

REPORT_READERS = roles_with(C.SEE_REVENUE)
REVENUE_MONTHS = 12


def _user(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    return user


def _practice(request: HttpRequest) -> Practice:
    practice: Practice = _user(request).practice  # type: ignore[assignment]
    return practice


def _month(request: HttpRequest) -> dt.date:
    """?month=YYYY-MM, else the previous month; a malformed month is a 404."""
    text = request.GET.get("month")
    if not text:
        return shift_month(month_start(timezone.localdate()), -1)
    try:
        return parse_month(text)
    except ValueError as error:
        raise Http404(str(error)) from None


@role_required(REPORT_READERS)
def reports(request: HttpRequest) -> HttpResponse:
    """Revenue by month and code (twelve months, stacked by code), minutes by staff
    member, and missed revenue (patients within NEAR_MINUTES of a code at month end, and
    add-on units beyond the cap), each with a chart and its CSV."""
    practice, month = _practice(request), _month(request)
    revenue = revenue_by_month_and_code(practice, month, REVENUE_MONTHS)
    staff = minutes_by_staff(practice, month)
    missed = missed_revenue(practice, month)
    month_text = f"{month:%Y-%m}"
    query = urlencode({"month": month_text})
    amounts = [
        [revenue.amount(m, code) if m.codes is not None else None for code in revenue.codes]
        for m in revenue.months
    ]
    this_month = month_start(timezone.localdate())
    return render(
        request,
        "billing/reports.html",
        {
            "month": month,
            "month_text": month_text,
            "previous_month": f"{shift_month(month, -1):%Y-%m}",
            "next_month": f"{shift_month(month, 1):%Y-%m}" if month < this_month else None,
            "revenue": revenue,
            # Each chart twice: wide for a laptop, narrow for a phone (CSS shows one).
            "revenue_charts": [
                stacked_bars(
                    [f"{m.month:{label}}" for m in revenue.months],
                    revenue.codes,
                    amounts,
                    width=width,
                    height=height,
                )
                for label, width, height in (("%b %y", 720, 240), ("%b", 360, 220))
            ],
            "staff": staff,
            "staff_charts": [
                horizontal_bars(
                    [(s.user.display_name, s.ccm_seconds, f"{s.ccm_minutes} min") for s in staff],
                    width=width,
                    label_width=label_width,
                )
                for width, label_width in ((720, 200), (360, 150))
            ],
            "missed": missed,
            "missed_near": missed_total(missed, NEAR),
            "missed_capped": missed_total(missed, CAPPED),
            "near_minutes": NEAR_MINUTES,
            "csv": {
                name: f"{reverse(f'report-{name}-csv')}?{query}"
                for name in ("revenue", "minutes", "missed")
            },
        },
    )


def _csv(
    request: HttpRequest,
    name: str,
    month: dt.date,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([[neutralise(cell) for cell in row] for row in rows])
    audit_record(
        actor=_user(request),
        action="report.export",
        object_type="report",
        object_id=f"{name} {month:%Y-%m}",
        after={"report": name, "month": f"{month:%Y-%m}"},
    )
    response = HttpResponse(buffer.getvalue(), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{name}-{month:%Y-%m}.csv"'
    return response


@role_required(REPORT_READERS)
def revenue_csv(request: HttpRequest) -> HttpResponse:
    """month,status,version,code,units,patients,amount: one row per closed month and code
    of the twelve months to ?month (a month not closed: one row, no code)."""
    month = _month(request)
    report = revenue_by_month_and_code(_practice(request), month, REVENUE_MONTHS)
    rows: list[list[object]] = []
    for entry in report.months:
        if entry.codes is None:
            rows.append([entry.month_text, "not closed", "", "", "", "", ""])
            continue
        rows += [
            [
                entry.month_text,
                "closed",
                entry.version,
                c.code,
                c.units,
                c.patients,
                f"{c.amount:.2f}",
            ]
            for c in entry.codes
        ]
    header = ("month", "status", "version", "code", "units", "patients", "amount")
    return _csv(request, "revenue", month, header, rows)


@role_required(REPORT_READERS)
def minutes_csv(request: HttpRequest) -> HttpResponse:
    """staff,username,role,credential,entries,patients,ccm_minutes,other_minutes."""
    month = _month(request)
    rows = [
        [
            s.user.full_name or s.user.username,
            s.user.username,
            s.user.role,
            s.user.credential,
            s.entries,
            s.patients,
            s.ccm_minutes,
            s.other_minutes,
        ]
        for s in minutes_by_staff(_practice(request), month)
    ]
    header = (
        "staff",
        "username",
        "role",
        "credential",
        "entries",
        "patients",
        "ccm_minutes",
        "other_minutes",
    )
    return _csv(request, "minutes-by-staff", month, header, rows)


@role_required(REPORT_READERS)
def missed_csv(request: HttpRequest) -> HttpResponse:
    """mrn,patient_name,kind,code,units,minutes,amount: one row per missed code or units."""
    month = _month(request)
    rows = [
        [
            m.patient.mrn,
            f"{m.patient.last_name}, {m.patient.first_name}",
            m.kind,
            m.code,
            m.units,
            m.minutes,
            f"{m.amount:.2f}",
        ]
        for m in missed_revenue(_practice(request), month)
    ]
    header = ("mrn", "patient_name", "kind", "code", "units", "minutes", "amount")
    return _csv(request, "missed-revenue", month, header, rows)
