"""The head of the patient page: this month first (product.md: "the patient's page leads
with this month"). The minutes counted, the progress bar to the next code and the
findings that block or warn come from the live decision (the engine, through
billing.live_decisions, shown by billing.progress as the call list and the month page
show it); "Log time" and "Start timer" for those who log time; and last month's result:
its worklist row when the month is closed, else the live decision.

Who sees it: the care team, billing staff and admins. Front desk sees none of it (no
minutes, findings or money); the dollar amounts only billing staff, admins and the
patient's own billing practitioner. The patients app calls it through
patients.page_sections (registered in billing.apps): it may not import billing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from billing.live_decisions import decide_months
from billing.models import WorklistRow
from billing.progress import TIER_WORDS, MonthProgress, PlainFinding, code_text, month_progress
from billing.rules import findings as rules
from billing.selectors import practice_rulebook
from billing.views import days_left_text
from billing.worklist import current_version
from ccm.models import CARE_TEAM_ROLES, BillingMonth, Role, User
from ccm.periods import billing_month_status, month_start
from patients.models import Patient
from timelog.views import shift_month

#: Roles that see the patient's minutes, progress and findings here.
SEES_MONTH = frozenset({*CARE_TEAM_ROLES, Role.BILLING, Role.ADMIN})
#: Roles that see dollar amounts (and the patient's billing practitioner).
SEES_MONEY = frozenset({Role.BILLING, Role.ADMIN})


@dataclass(frozen=True)
class LastMonth:
    """Last month's result: the closed worklist row's, or the live decision's."""

    month: dt.date
    closed: bool
    tier_text: str
    codes: tuple[str, ...]
    billable: bool
    amount: Decimal | None
    status: str  # the worklist row's status when closed, else the month's
    error: str = ""


def may_see_money(user: User, patient: Patient) -> bool:
    return user.role in SEES_MONEY or user.pk == patient.billing_practitioner_id


def this_month_section(request: HttpRequest, patient: Patient) -> SafeString | None:
    """The section, or None for a role that may not see a patient's minutes."""
    user: User = request.user  # type: ignore[assignment]
    if user.role not in SEES_MONTH:
        return None
    today = timezone.localdate()
    first = month_start(today)
    rulebook = practice_rulebook(patient.practice, first)
    key = (patient.pk, patient.billing_practitioner_id, patient.billing_practitioner.npi)
    outcome = decide_months([key], first, rulebook)[patient.pk]
    progress = None if isinstance(outcome, str) else month_progress(outcome, rulebook)
    can_log = user.role in CARE_TEAM_ROLES
    return render_to_string(
        "billing/_patient_this_month.html",
        {
            "patient": patient,
            "month": first,
            "days_left": days_left_text(first, today),
            "progress": progress,
            "error": outcome if isinstance(outcome, str) else "",
            "findings": _findings_that_matter(progress),
            "last": last_month_result(patient, shift_month(first, -1)),
            "money": may_see_money(user, patient),
            "can_log": can_log,
            "log_url": f"{reverse('log-time')}?patient={patient.pk}" if can_log else "",
            "month_url": reverse("patient-month", args=[patient.pk, f"{first:%Y-%m}"]),
        },
        request=request,
    )


def _findings_that_matter(progress: MonthProgress | None) -> list[PlainFinding]:
    """What stands in the way, blocks first, then warnings. "Not enough time yet" is the
    progress bar's to say, and advice stays on the month page."""
    if progress is None:
        return []
    warnings = [f for f in progress.findings if f.severity == rules.WARN]
    return [*progress.blocks, *warnings]


def last_month_result(patient: Patient, first: dt.date) -> LastMonth:
    """The month's worklist row when the month is closed (what was billed), else its
    live decision (what would be)."""
    practice = patient.practice
    status = billing_month_status(practice, first)
    if status == BillingMonth.Status.CLOSED:
        row = (
            WorklistRow.objects.filter(
                patient=patient, month=first, version=current_version(practice, first)
            )
            .prefetch_related("lines")
            .first()
        )
        if row is not None:
            return LastMonth(
                month=first,
                closed=True,
                tier_text=TIER_WORDS.get(row.tier or None, row.tier),
                codes=tuple(code_text(line.code, line.units) for line in row.lines.all()),
                billable=row.billable,
                amount=row.total_amount,
                status=row.get_status_display(),
            )
    rulebook = practice_rulebook(practice, first)
    key = (patient.pk, patient.billing_practitioner_id, patient.billing_practitioner.npi)
    outcome = decide_months([key], first, rulebook)[patient.pk]
    if isinstance(outcome, str):
        return LastMonth(first, False, "", (), False, None, status, error=outcome)
    progress = month_progress(outcome, rulebook)
    return LastMonth(
        month=first,
        closed=False,
        tier_text=progress.tier_text,
        codes=progress.codes,
        billable=progress.billable,
        amount=outcome.total_amount,
        status=status,
    )
