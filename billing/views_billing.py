"""Pages of the practitioner and the billing staff: the MDM queue, the month dashboard
(close, progress, reopen, export), the worklist with its status changes, and the entry of
services billed elsewhere.

Every page reads through the billing selectors (the same engine as the month close) and
every action calls one service, which validates, period-locks and audits it:
billing.services.mdm_attest, billing.services.billing_month_close_start,
billing.close.reopen_month, billing.services.worklist_row_set_status and
patients.services.other_service_create. A role that may not act gets 403; another
practice's patient or worklist row is a 404.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Sum
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from billing.close import reopen_month
from billing.dashboard import (
    history_chart,
    month_history,
    month_overview,
    month_projection,
    shift_month,
)
from billing.models import MdmAttestation, MdmLevel, WorklistRow, WorklistStatus
from billing.progress import RULE_LABELS, SEVERITY_WORDS, TIER_WORDS, PlainFinding, plain_finding
from billing.rules import Decision, FactsError, evaluate, parse_facts
from billing.rules import findings as rules
from billing.selectors import patients_month_facts, practice_rulebook
from billing.services import (
    ROW_TRANSITIONS,
    billing_month_close_start,
    mdm_attest,
    worklist_row_set_status,
)
from billing.worklist import current_version, worklist_rows, worklist_rows_any_version
from ccm.exceptions import PeriodClosed
from ccm.models import BillingMonth, Practice, Role, User
from ccm.npi import validate_npi
from ccm.periods import billing_month_status, month_start, parse_month
from ccm.views import role_required
from patients.forms import DateInput, apply_service_errors
from patients.icd10 import icd10_lookup
from patients.models import OtherService, Patient
from patients.selectors import practice_practitioners
from patients.services import other_service_create
from timelog.models import ActivityType

BILLING_STAFF = frozenset({Role.BILLING, Role.ADMIN})
#: Practitioners may look at the dashboard and the worklist; only billing staff act.
BILLING_VIEWERS = BILLING_STAFF | {Role.PRACTITIONER}
PRACTITIONERS = frozenset({Role.PRACTITIONER})
OTHER_SERVICE_ENTRY_ROLES = BILLING_STAFF
WORKLIST_PAGE_SIZE = 50
COMPLEX_SECONDS = 60 * 60


def _user(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    return user


def _practice(request: HttpRequest) -> Practice:
    practice: Practice = _user(request).practice  # type: ignore[assignment]
    return practice


def _url_or_none(name: str, *args: Any) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _previous_month(today: dt.date) -> dt.date:
    return shift_month(month_start(today), -1)


def _month_from_query(text: str | None, default: dt.date) -> dt.date:
    """?month=YYYY-MM or the default; a malformed month is a 404."""
    if not text:
        return default
    try:
        return parse_month(text)
    except ValueError as error:
        raise Http404(str(error)) from None


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


# -- the practitioner's MDM queue ------------------------------------------------------


@dataclass(frozen=True)
class CareItem:
    """One entry of the month's care-management time, as a practitioner reads it."""

    date: dt.date
    activity: str
    note: str


@dataclass(frozen=True)
class QueueRow:
    """A patient-month that may be complex CCM: 60+ counted staff minutes and no
    qualifying MDM (billing rule COMPLEX_NO_MDM), with the clinical facts the
    practitioner judges the medical decision-making from: the minutes, the chronic
    conditions active in the month and what the care team did. Never a fee, an amount or
    what attesting would change in the claim: the family follows the clinical facts,
    never the fee (billing-rules.md section 4)."""

    patient: Patient
    month: dt.date
    now: Decision
    conditions: tuple[tuple[str, str], ...]
    care: tuple[CareItem, ...]
    blocks: tuple[PlainFinding, ...]
    attested_by_other: bool

    @property
    def key(self) -> str:
        return f"{self.patient.pk}-{self.month:%Y-%m}"

    @property
    def month_text(self) -> str:
        return f"{self.month:%Y-%m}"

    @property
    def minutes(self) -> int:
        return self.now.counted_seconds.total // 60

    @property
    def staff_minutes(self) -> int:
        return self.now.counted_seconds.clinical_staff // 60

    @property
    def practitioner_minutes(self) -> int:
        return self.now.counted_seconds.practitioner // 60


@dataclass(frozen=True)
class QueueMonth:
    month: dt.date
    status: str
    rows: list[QueueRow]

    @property
    def month_text(self) -> str:
        return f"{self.month:%Y-%m}"


@dataclass(frozen=True)
class SignedRow:
    attestation: MdmAttestation
    decision: Decision | None

    @property
    def minutes(self) -> int | None:
        return None if self.decision is None else self.decision.counted_seconds.total // 60


def _conditions(decision: Decision) -> tuple[tuple[str, str], ...]:
    """The chronic conditions the month counts (the decision's diagnoses), described."""
    described = []
    for code in decision.diagnoses:
        try:
            description = icd10_lookup(code).description
        except ValidationError:
            description = ""
        described.append((code, description))
    return tuple(described)


def _care(facts: Mapping[str, Any]) -> tuple[CareItem, ...]:
    """The month's CCM entries, by date: what was done."""
    labels = dict(ActivityType.choices)
    return tuple(
        CareItem(
            dt.date.fromisoformat(entry["date"]),
            labels.get(entry["activity"], entry["activity"] or ""),
            entry.get("note") or "",
        )
        for entry in facts["time_entries"]
        if entry["program"] == "ccm"
    )


def _mdm_qualifies(facts: Mapping[str, Any]) -> bool:
    mdm = facts.get("mdm")
    return mdm is not None and bool(mdm["attested_by"] == facts["billing_practitioner"])


def _queue_months(practice: Practice, today: dt.date) -> list[tuple[dt.date, str]]:
    """The current month, and the previous one while it is still open."""
    current = month_start(today)
    previous = shift_month(current, -1)
    months = [(current, billing_month_status(practice, current))]
    previous_status = billing_month_status(practice, previous)
    if previous_status == BillingMonth.Status.OPEN:
        months.insert(0, (previous, previous_status))
    return months


def mdm_queue_build(
    practitioner: User, today: dt.date
) -> tuple[list[QueueMonth], list[SignedRow], list[str]]:
    """The practitioner's queue (billing rules COMPLEX_NO_MDM and family "complex"): their
    active patients whose month counts 60+ minutes of staff and practitioner time
    (s = c + p) without moderate or high MDM attested by them, with the clinical facts
    (minutes, conditions, what was done) and never a fee or an amount; and the
    attestations they signed for those months. Per month: the facts of all their
    patients at once, one rulebook: a fixed number of queries."""
    practice: Practice = practitioner.practice  # type: ignore[assignment]
    patients = list(
        Patient.objects.filter(practice=practice, billing_practitioner=practitioner, is_active=True)
        .select_related("billing_practitioner")
        .order_by("last_name", "first_name", "pk")
    )
    queue: list[QueueMonth] = []
    decisions: dict[tuple[int, dt.date], Decision] = {}
    errors: list[str] = []
    for first, status in _queue_months(practice, today):
        rulebook = practice_rulebook(practice, first)
        facts_by_patient = patients_month_facts(patients, first) if patients else {}
        rows: list[QueueRow] = []
        for patient in patients:
            facts = facts_by_patient[patient.pk]
            try:
                now = evaluate(parse_facts(facts), rulebook)
            except FactsError as error:
                errors.append(f"{patient} {first:%Y-%m}: {error.field}: {error.message}")
                continue
            decisions[(patient.pk, first)] = now
            if now.counted_seconds.total < COMPLEX_SECONDS or _mdm_qualifies(facts):
                continue
            rows.append(
                QueueRow(
                    patient=patient,
                    month=first,
                    now=now,
                    conditions=_conditions(now),
                    care=_care(facts),
                    blocks=tuple(
                        plain_finding(f)
                        for f in now.findings
                        if f.blocks and f.rule != rules.NO_TIME_THRESHOLD
                    ),
                    attested_by_other=bool(facts.get("mdm")),
                )
            )
        queue.append(QueueMonth(first, status, rows))
    signed = [
        SignedRow(attestation, decisions.get((attestation.patient_id, attestation.month)))
        for attestation in MdmAttestation.objects.filter(
            practitioner=practitioner, month__in=[m.month for m in queue]
        )
        .select_related("patient")
        .order_by("-signed_at", "-pk")
    ]
    return queue, signed, errors


@dataclass(frozen=True)
class QueueForm:
    """A queue row with its attestation form's values and errors."""

    row: QueueRow
    errors: Mapping[str, list[str]]
    level: str
    note: str


def _render_queue(
    request: HttpRequest,
    *,
    row_errors: Mapping[str, Mapping[str, list[str]]] | None = None,
    values: Mapping[str, Mapping[str, str]] | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    user = _user(request)
    today = timezone.localdate()
    queue, signed, engine_errors = mdm_queue_build(user, today)
    row_errors = row_errors or {}
    values = values or {}
    sections = [
        {
            "block": block,
            "rows": [
                QueueForm(
                    row,
                    row_errors.get(row.key, {}),
                    values.get(row.key, {}).get("level") or MdmLevel.MODERATE,
                    values.get(row.key, {}).get("note", ""),
                )
                for row in block.rows
            ],
        }
        for block in queue
    ]
    return render(
        request,
        "billing/mdm_queue.html",
        {
            "sections": sections,
            "waiting": sum(len(m.rows) for m in queue),
            "signed": signed,
            "engine_errors": engine_errors,
            "error": error,
            "levels": MdmLevel.choices,
        },
        status=status,
    )


@role_required(PRACTITIONERS)
def mdm_queue(request: HttpRequest) -> HttpResponse:
    """The practitioner's MDM queue (billing rules COMPLEX_NO_MDM, family "complex":
    99487 needs 60+ minutes and moderate or high MDM attested by the billing practitioner
    personally), with one-click attestation per patient-month."""
    return _render_queue(request)


@role_required(PRACTITIONERS)
@require_POST
def mdm_queue_attest(request: HttpRequest) -> HttpResponse:
    """Attest moderate or high MDM for one patient-month of the queue (billing rule:
    complex CCM's MDM cannot be delegated: billing.services.mdm_attest refuses anyone but
    the patient's billing practitioner, 403). A closed month is 409, a missing note 400."""
    user = _user(request)
    patient_text = request.POST.get("patient", "")
    month_text = request.POST.get("month", "")
    if not patient_text.isdigit():
        raise Http404("No such patient.")
    patient = get_object_or_404(
        Patient.objects.filter(practice=user.practice).select_related("practice"),
        pk=int(patient_text),
    )
    key = f"{patient.pk}-{month_text}"
    level = request.POST.get("level", "")
    note = request.POST.get("note", "")
    values = {key: {"level": level, "note": note}}
    try:
        first = parse_month(month_text)
    except ValueError as error:
        return _render_queue(request, error=str(error), values=values, status=400)
    try:
        mdm_attest(practitioner=user, patient=patient, month=first, level=level, note=note)
    except ValidationError as error:
        return _render_queue(
            request, row_errors={key: error.message_dict}, values=values, status=400
        )
    except PeriodClosed as error:
        return _render_queue(
            request,
            error=f"Not attested: {error.detail} Billing staff can reopen the month; "
            "the attestation then counts at the next close.",
            values=values,
            status=409,
        )
    messages.success(
        request,
        f"{MdmLevel(level).label} MDM attested for {patient.last_name}, {patient.first_name} "
        f"in {first:%Y-%m}: the month is now judged as complex CCM.",
    )
    return redirect("mdm-queue")


# -- the month dashboard ---------------------------------------------------------------


def _render_dashboard(
    request: HttpRequest,
    first: dt.date,
    *,
    error: str = "",
    reason: str = "",
    status: int = 200,
) -> HttpResponse:
    user = _user(request)
    practice = _practice(request)
    today = timezone.localdate()
    rulebook = practice_rulebook(practice, first)
    overview = month_overview(practice, first, rulebook)
    projection = month_projection(practice, first, rulebook) if overview.is_open else None
    history = month_history(practice, first)
    month_text = f"{first:%Y-%m}"
    this_month = month_start(today)
    return render(
        request,
        "billing/dashboard.html",
        {
            "overview": overview,
            "projection": projection,
            "history": history,
            "chart": history_chart(history),
            "closed_months": sum(1 for h in history if h.total is not None),
            "month": first,
            "month_text": month_text,
            "previous_month": f"{shift_month(first, -1):%Y-%m}",
            "next_month": f"{shift_month(first, 1):%Y-%m}" if first < this_month else None,
            "month_ended": first < this_month,
            "can_act": user.role in BILLING_STAFF,
            "api_url": reverse("api-billing-month", args=[month_text]),
            "export_url": f"{reverse('api-worklist-export')}?{urlencode({'month': month_text})}",
            "worklist_url": f"{reverse('worklist')}?{urlencode({'month': month_text})}",
            "error": error,
            "reason": reason,
        },
        status=status,
    )


@role_required(BILLING_VIEWERS)
def billing_dashboard(request: HttpRequest) -> HttpResponse:
    """The month dashboard (billing-rules.md sections 1 and 3; product.md, Billing staff):
    status and version, the close's progress, the worklist by status, expected revenue
    by code (claim lines of the current version), the last twelve closed months, and a
    live projection while the month is open. Default: the previous month."""
    first = _month_from_query(request.GET.get("month"), _previous_month(timezone.localdate()))
    return _render_dashboard(request, first)


def _dashboard_url(first: dt.date) -> str:
    return f"{reverse('billing-dashboard')}?{urlencode({'month': f'{first:%Y-%m}'})}"


def _month_from_path(month: str) -> dt.date:
    try:
        return parse_month(month)
    except ValueError as error:
        raise Http404(str(error)) from None


@role_required(BILLING_STAFF)
@require_POST
def billing_month_close(request: HttpRequest, month: str) -> HttpResponse:
    """Close the month (product.md, Jobs: open → closing → closed, a new version; the
    workers write one worklist row per patient). Only a month that has ended; asking
    again while it closes, or once closed, changes nothing."""
    first = _month_from_path(month)
    if first >= month_start(timezone.localdate()):
        return _render_dashboard(
            request,
            first,
            error=f"{first:%Y-%m} has not ended yet; close it once it has.",
            status=400,
        )
    run, claimed = billing_month_close_start(
        practice=_practice(request), month=first, actor=_user(request)
    )
    if claimed and run is not None:
        messages.success(
            request,
            f"Closing {first:%Y-%m} as version {run.version}: "
            f"{run.patients} patient{'s' if run.patients != 1 else ''} in "
            f"{run.chunks_total} chunk{'s' if run.chunks_total != 1 else ''}.",
        )
    else:
        messages.info(request, f"{first:%Y-%m} is already closing or closed; nothing changed.")
    return redirect(_dashboard_url(first))


@role_required(BILLING_STAFF)
@require_POST
def billing_month_reopen(request: HttpRequest, month: str) -> HttpResponse:
    """Reopen a closed month with a reason (audited by billing.close.reopen_month); the
    closed version stays readable and the next close writes version + 1, never
    double-counting (product.md, Billing staff)."""
    first = _month_from_path(month)
    reason = request.POST.get("reason", "")
    try:
        billing_month = reopen_month(
            practice=_practice(request), month=first, actor=_user(request), reason=reason
        )
    except ValidationError as error:
        return _render_dashboard(
            request, first, error=_error_text(error), reason=reason, status=400
        )
    except PeriodClosed as error:
        return _render_dashboard(request, first, error=str(error.detail), reason=reason, status=409)
    messages.success(
        request,
        f"{first:%Y-%m} is open again; version {billing_month.version} stays readable and "
        "the next close writes a new version.",
    )
    return redirect(_dashboard_url(first))


# -- the worklist ----------------------------------------------------------------------

TIER_CHOICES = [
    ("", "Any tier"),
    ("complex", "Complex CCM"),
    ("non_complex", "Non-complex CCM"),
    ("practitioner", "Practitioner CCM"),
    ("none", "Not billable"),
]
FILTER_KEYS = ("month", "status", "tier", "practitioner", "version")
TRANSITION_LABELS = {
    WorklistStatus.READY: "Mark ready",
    WorklistStatus.NEEDS_REVIEW: "Back to review",
    WorklistStatus.SUBMITTED: "Mark submitted",
    WorklistStatus.PAID: "Mark paid",
    WorklistStatus.DENIED: "Mark denied",
}
#: Forward moves first: the usual next step is the first button.
TRANSITION_ORDER = [
    WorklistStatus.READY,
    WorklistStatus.SUBMITTED,
    WorklistStatus.PAID,
    WorklistStatus.DENIED,
    WorklistStatus.NEEDS_REVIEW,
]
SEVERITY_ORDER = {rules.BLOCK: 0, rules.WARN: 1, rules.INFO: 2}


class WorklistFilterForm(forms.Form):
    """The worklist's GET filters; version is checked against the month's closes."""

    month = forms.CharField(required=False)
    status = forms.ChoiceField(
        choices=[("", "Any status"), *WorklistStatus.choices], required=False
    )
    tier = forms.ChoiceField(choices=TIER_CHOICES, required=False)
    practitioner = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    version = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)

    def __init__(self, data: QueryDict, *, practice: Practice, default_month: dt.date) -> None:
        super().__init__(data)
        self.practice = practice
        self.default_month = default_month
        self.fields["practitioner"].choices = [  # type: ignore[attr-defined]
            ("", "Any practitioner"),
            *[(p.pk, p.display_name) for p in practice_practitioners(practice=practice)],
        ]
        first = self._month_or_none(data.get("month")) or default_month
        self.current = current_version(practice, first)
        self.fields["version"].choices = [  # type: ignore[attr-defined]
            ("", "Latest"),
            *[(v, f"Version {v}") for v in range(self.current, 0, -1)],
        ]

    @staticmethod
    def _month_or_none(text: str | None) -> dt.date | None:
        try:
            return parse_month(text or "")
        except ValueError:
            return None

    def clean_month(self) -> dt.date:
        text = self.cleaned_data.get("month") or ""
        if not text:
            return self.default_month
        first = self._month_or_none(text)
        if first is None:
            raise ValidationError(f"{text!r} is not a month in the form YYYY-MM.")
        return first


@dataclass(frozen=True)
class RowFinding:
    rule: str
    severity: str
    severity_text: str
    label: str
    message: str


@dataclass(frozen=True)
class WorklistEntry:
    """One worklist row as the page prints it; after a re-close, the lines of the claim
    that went out beside the new ones (`previous_codes`, needs_correction) with the
    reason."""

    row: WorklistRow
    codes: list[str]
    findings: list[RowFinding]
    transitions: list[tuple[str, str]]
    previous_codes: list[str]

    @property
    def tier_text(self) -> str:
        return TIER_WORDS.get(self.row.tier or None, self.row.tier)

    @property
    def can_deny(self) -> bool:
        return any(status == WorklistStatus.DENIED for status, _ in self.transitions)


def _row_findings(row: WorklistRow) -> list[RowFinding]:
    """The row's findings (billing-rules.md section 4) in plain words, blocks first."""
    found = [
        RowFinding(
            rule=f["rule"],
            severity=f["severity"],
            severity_text=SEVERITY_WORDS.get(f["severity"], f["severity"]),
            label=RULE_LABELS.get(f["rule"], f["rule"].replace("_", " ").capitalize()),
            message=f["message"],
        )
        for f in row.findings
    ]
    return sorted(found, key=lambda f: SEVERITY_ORDER.get(f.severity, 3))


def _transition_label(row: WorklistRow, status: str) -> str:
    if row.status == WorklistStatus.NEEDS_CORRECTION and status == WorklistStatus.SUBMITTED:
        return "Mark correction sent"
    return TRANSITION_LABELS[WorklistStatus(status)]


def _worklist_entry(row: WorklistRow, can_act: bool) -> WorklistEntry:
    transitions = (
        [
            (status, _transition_label(row, status))
            for status in sorted(
                ROW_TRANSITIONS.get(row.status, frozenset()),
                key=lambda status: TRANSITION_ORDER.index(WorklistStatus(status)),
            )
        ]
        if can_act
        else []
    )
    return WorklistEntry(
        row=row,
        codes=[
            line.code if line.units == 1 else f"{line.code} ×{line.units}"
            for line in row.lines.all()
        ],
        findings=_row_findings(row),
        transitions=transitions,
        previous_codes=[
            line["code"] if line["units"] == 1 else f"{line['code']} ×{line['units']}"
            for line in row.previous_lines or []
        ],
    )


def _query(params: Mapping[str, Any]) -> str:
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


def _render_worklist(
    request: HttpRequest, params: QueryDict, *, error: str = "", status: int = 200
) -> HttpResponse:
    user = _user(request)
    practice = _practice(request)
    today = timezone.localdate()
    form = WorklistFilterForm(params, practice=practice, default_month=_previous_month(today))
    valid = form.is_valid()
    first: dt.date = form.cleaned_data["month"] if valid else form.default_month
    current = form.current
    version = (form.cleaned_data.get("version") if valid else None) or current
    status_filter: str = form.cleaned_data.get("status", "") if valid else ""
    tier_filter: str = form.cleaned_data.get("tier", "") if valid else ""
    practitioner_filter: int | None = form.cleaned_data.get("practitioner") if valid else None
    filters: dict[str, Any] = {
        "month": f"{first:%Y-%m}",
        "status": status_filter,
        "tier": tier_filter,
        "practitioner": practitioner_filter,
        "version": version if version != current else None,
    }
    read_only = version != current
    can_act = user.role in BILLING_STAFF and not read_only
    page = None
    total = Decimal("0.00")
    if valid and current:
        rows = worklist_rows(
            practice=practice,
            month=first,
            version=version,
            status=status_filter or None,
            tier=tier_filter or None,
            practitioner_id=practitioner_filter,
        )
        total = rows.aggregate(total=Sum("total_amount"))["total"] or total
        page = Paginator(rows, WORKLIST_PAGE_SIZE).get_page(params.get("page"))
        page.object_list = [_worklist_entry(row, can_act) for row in page.object_list]  # type: ignore[misc]
    elif not valid:
        status = 400
    query = _query(filters)
    month_state = billing_month_status(practice, first)
    return render(
        request,
        "billing/worklist.html",
        {
            "form": form,
            "valid": valid,
            "page": page,
            "total": total,
            "month": first,
            "month_text": f"{first:%Y-%m}",
            "month_status": month_state,
            "version": version,
            "current_version": current,
            "read_only": read_only,
            "can_act": can_act,
            "can_export": user.role in BILLING_STAFF,
            "query": query,
            "export_url": f"{reverse('api-worklist-export')}?"
            f"{_query(dict(filters, version=version))}",
            "dashboard_url": _dashboard_url(first),
            "error": error,
        },
        status=status,
    )


@role_required(BILLING_VIEWERS)
def worklist(request: HttpRequest) -> HttpResponse:
    """The worklist of a month's close (billing-rules.md sections 3 and 4): one row per
    patient with its tier, codes × units, amount, counted minutes, status and every
    finding in plain words; filters by status, tier and practitioner; 50 rows a page; an
    older close version is shown read-only."""
    return _render_worklist(request, request.GET)


def _back_params(text: str, row: WorklistRow) -> QueryDict:
    """The worklist filters the status form came from (only the known keys)."""
    given = QueryDict(text)
    kept = QueryDict(mutable=True)
    for key in (*FILTER_KEYS, "page"):
        if given.get(key):
            kept[key] = given[key]
    if not kept.get("month"):
        kept["month"] = f"{row.month:%Y-%m}"
    return kept


@role_required(BILLING_STAFF)
@require_POST
def worklist_row_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Move one claim on (billing.services.worklist_row_set_status: needs review → ready
    → submitted → paid, or denied with the payer's reason; only rows of the month's
    current version; audited). Errors come back on the worklist: 400, or 409 for an old
    version."""
    user = _user(request)
    row = get_object_or_404(worklist_rows_any_version(_practice(request)), pk=pk)
    back = _back_params(request.POST.get("back", ""), row)
    before = row.get_status_display()
    name = f"{row.patient.last_name}, {row.patient.first_name}"
    try:
        row = worklist_row_set_status(
            row=row,
            actor=user,
            status=request.POST.get("status", ""),
            denial_reason=request.POST.get("denial_reason", ""),
        )
    except ValidationError as error:
        return _render_worklist(request, back, error=f"{name}: {_error_text(error)}", status=400)
    except PeriodClosed as error:
        return _render_worklist(request, back, error=f"{name}: {error.detail}", status=409)
    messages.success(request, f"{name}: {before} → {row.get_status_display()}.")
    return redirect(f"{reverse('worklist')}?{back.urlencode()}#row-{row.pk}")


# -- services billed elsewhere ---------------------------------------------------------

#: Codes billed elsewhere that exclude or overlap CCM (billing rules EXCLUSIVE_SERVICE and
#: OVERLAPPING_SERVICE), offered as suggestions; any code may be typed.
EXCLUDES_ANY = "excludes CCM, whoever bills it"
EXCLUDES_SAME = "excludes CCM by the same practitioner; a warning by another"
OTHER_CCM = "only one practitioner bills CCM per patient-month"
OTHER_SERVICE_SUGGESTIONS: list[tuple[str, str, str]] = [
    ("G0181", "Home health care plan oversight (supervision)", EXCLUDES_ANY),
    ("G0182", "Hospice care plan oversight (supervision)", EXCLUDES_ANY),
    *[(str(code), "ESRD-related services", EXCLUDES_ANY) for code in range(90951, 90971)],
    ("99424", "PCM by the practitioner, first 30 min", EXCLUDES_SAME),
    ("99425", "PCM by the practitioner, each further 30 min", EXCLUDES_SAME),
    ("99426", "PCM by clinical staff, first 30 min", EXCLUDES_SAME),
    ("99427", "PCM by clinical staff, each further 30 min", EXCLUDES_SAME),
    ("G0556", "Advanced Primary Care Management, level 1", EXCLUDES_SAME),
    ("G0557", "Advanced Primary Care Management, level 2", EXCLUDES_SAME),
    ("G0558", "Advanced Primary Care Management, level 3", EXCLUDES_SAME),
    ("99490", "CCM by another practitioner, first 20 min", OTHER_CCM),
    ("99439", "CCM by another practitioner, each further 20 min", OTHER_CCM),
    ("99487", "Complex CCM by another practitioner", OTHER_CCM),
    ("99489", "Complex CCM add-on by another practitioner", OTHER_CCM),
    ("99491", "CCM by another practitioner personally, 30 min", OTHER_CCM),
    ("99437", "CCM add-on by another practitioner personally", OTHER_CCM),
]


class PatientChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        patient: Patient = obj
        return (
            f"{patient.last_name}, {patient.first_name} · {patient.mrn} · "
            f"born {patient.birth_date:%Y-%m-%d}"
        )


class OtherServiceEntryForm(forms.Form):
    """A service billed elsewhere; the patients service validates and saves it."""

    patient = PatientChoiceField(
        queryset=Patient.objects.none(),
        empty_label=None,
        widget=forms.Select(attrs={"size": 8}),
    )
    code = forms.CharField(
        max_length=10,
        widget=forms.TextInput(
            attrs={
                "list": "other-service-codes",
                "autocomplete": "off",
                "placeholder": "e.g. G0182",
            }
        ),
    )
    date = forms.DateField(widget=DateInput())
    practitioner_npi = forms.CharField(
        label="Practitioner NPI (optional)",
        max_length=10,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    note = forms.CharField(max_length=255, required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, practice: Practice, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["patient"].queryset = Patient.objects.filter(  # type: ignore[attr-defined]
            practice=practice, is_active=True
        ).order_by("last_name", "first_name", "pk")

    def clean_practitioner_npi(self) -> str:
        npi = str(self.cleaned_data.get("practitioner_npi", "")).strip()
        if npi:
            validate_npi(npi)
        return npi

    def clean_code(self) -> str:
        return "".join(str(self.cleaned_data.get("code", "")).split()).upper()


@role_required(OTHER_SERVICE_ENTRY_ROLES)
def other_service_add(request: HttpRequest) -> HttpResponse:
    """Record a service billed elsewhere (billing rules EXCLUSIVE_SERVICE: home health
    G0181, hospice G0182, ESRD 90951-90970 by anyone, PCM/APCM by the same practitioner,
    another practitioner's CCM; OVERLAPPING_SERVICE: PCM/APCM by another practitioner)
    through patients.services.other_service_create (validated, period-locked: 409 for a
    closed month, audited). ?patient= preselects a patient of the practice (else 404)."""
    practice = _practice(request)
    status = 200
    initial: dict[str, Any] = {"date": timezone.localdate()}
    preselected = request.GET.get("patient", "")
    if preselected:
        if not preselected.isdigit():
            raise Http404("No such patient.")
        initial["patient"] = get_object_or_404(
            Patient.objects.filter(practice=practice), pk=int(preselected)
        )
    if request.method == "POST":
        form = OtherServiceEntryForm(request.POST, practice=practice)
        if form.is_valid():
            data = form.cleaned_data
            patient: Patient = data["patient"]
            try:
                service = other_service_create(
                    patient=patient,
                    actor=_user(request),
                    code=data["code"],
                    date=data["date"],
                    practitioner_npi=data["practitioner_npi"],
                    note=data["note"],
                )
            except ValidationError as error:
                apply_service_errors(form, error)
                status = 400
            except PeriodClosed as error:
                form.add_error(
                    None,
                    f"Not recorded: {error.detail} Reopen the month on the dashboard first "
                    "if this service must change its claims.",
                )
                status = 409
            else:
                messages.success(
                    request,
                    f"{service.code} on {service.date:%Y-%m-%d} recorded for "
                    f"{patient.last_name}, {patient.first_name}: the decision of "
                    f"{service.date:%Y-%m} now takes it into account.",
                )
                query = urlencode({"patient": patient.pk, "recorded": service.pk})
                return redirect(f"{reverse('other-service-add')}?{query}")
        else:
            status = 400
    else:
        form = OtherServiceEntryForm(initial=initial, practice=practice)
    recent = (
        OtherService.objects.filter(patient__practice=practice)
        .select_related("patient")
        .order_by("-created_at", "-pk")[:15]
    )
    recorded = request.GET.get("recorded", "")
    return render(
        request,
        "billing/other_service_form.html",
        {
            "form": form,
            "suggestions": OTHER_SERVICE_SUGGESTIONS,
            "recent": [_recent_service(service) for service in recent],
            "recorded": int(recorded) if recorded.isdigit() else None,
        },
        status=status,
    )


@dataclass(frozen=True)
class RecentService:
    service: OtherService
    month_url: str | None


def _recent_service(service: OtherService) -> RecentService:
    """A recorded service with a link to the patient-month it affects."""
    return RecentService(
        service, _url_or_none("patient-month", service.patient_id, f"{service.date:%Y-%m}")
    )
