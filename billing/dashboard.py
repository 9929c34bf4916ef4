"""Reads of the billing staff's month dashboard: the month's status and close progress, the
worklist counts of its current version, expected revenue by code, the last twelve closed
months, and, for a month still open, a live projection by the same engine the close runs.

Every selector here runs a fixed number of queries, whatever the number of patients.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q, Sum

from billing.models import ClaimLine, CloseRun, WorklistRow, WorklistStatus
from billing.rules import Decision, FactsError, Rulebook, evaluate, parse_facts
from billing.selectors import patients_month_facts, practice_rulebook
from ccm.models import BillingMonth, Practice
from ccm.periods import month_start
from patients.models import Patient

ZERO = Decimal("0.00")

#: Codes in the order billers read them: non-complex, complex, practitioner.
CODE_ORDER = ("99490", "99439", "99487", "99489", "99491", "99437")

#: The worklist statuses in the order the dashboard shows them (superseded rows are of
#: older versions, never of the one shown).
STATUS_ORDER = (
    WorklistStatus.READY,
    WorklistStatus.NEEDS_REVIEW,
    WorklistStatus.NEEDS_CORRECTION,
    WorklistStatus.NOT_BILLABLE,
    WorklistStatus.SUBMITTED,
    WorklistStatus.PAID,
    WorklistStatus.DENIED,
)


def shift_month(first: dt.date, months: int) -> dt.date:
    """The first day of the month `months` away from `first`'s."""
    index = first.year * 12 + first.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _code_key(code: str) -> tuple[int, str]:
    return (CODE_ORDER.index(code) if code in CODE_ORDER else len(CODE_ORDER), code)


@dataclass(frozen=True)
class CodeRevenue:
    """Expected revenue of one code: units, patients billed it, amount."""

    code: str
    description: str
    units: int
    patients: int
    amount: Decimal


@dataclass(frozen=True)
class StatusCount:
    status: str
    label: str
    count: int


@dataclass(frozen=True)
class CloseProgress:
    """The close run of the month's current version (a Job row) and how far it got."""

    status: str
    chunks_done: int
    chunks_total: int
    patients: int
    error: str

    @property
    def percent(self) -> int:
        if not self.chunks_total:
            return 0
        return int(100 * self.chunks_done / self.chunks_total)


@dataclass(frozen=True)
class MonthOverview:
    """The month as the dashboard heads it: status, version, and its close version's
    worklist counts and revenue (empty before the first close)."""

    month: dt.date
    status: str
    version: int
    progress: CloseProgress | None
    counts: tuple[StatusCount, ...]
    revenue: tuple[CodeRevenue, ...]
    patients: int
    total_amount: Decimal

    @property
    def month_text(self) -> str:
        return f"{self.month:%Y-%m}"

    @property
    def is_open(self) -> bool:
        return self.status == BillingMonth.Status.OPEN

    @property
    def is_closing(self) -> bool:
        return self.status == BillingMonth.Status.CLOSING

    @property
    def is_closed(self) -> bool:
        return self.status == BillingMonth.Status.CLOSED


def _status_counts(counter: dict[str, int]) -> tuple[StatusCount, ...]:
    labels = dict(WorklistStatus.choices)
    return tuple(StatusCount(s, labels[s], counter.get(s, 0)) for s in STATUS_ORDER)


def revenue_by_code(
    practice: Practice, month: dt.date, version: int, rulebook: Rulebook | None = None
) -> tuple[CodeRevenue, ...]:
    """Expected revenue of a close version by code: the sum of its claim lines (billing
    rule: each code's units × the fee the close priced it at), one query."""
    codes = rulebook.codes if rulebook is not None else {}
    lines = (
        ClaimLine.objects.filter(row__practice=practice, row__month=month, row__version=version)
        .values("code")
        .annotate(units=Sum("units"), amount=Sum("amount"), patients=Count("row", distinct=True))
    )
    revenue = [
        CodeRevenue(
            code=line["code"],
            description=codes[line["code"]].description if line["code"] in codes else "",
            units=line["units"] or 0,
            patients=line["patients"],
            amount=line["amount"] or ZERO,
        )
        for line in lines
    ]
    return tuple(sorted(revenue, key=lambda r: _code_key(r.code)))


def month_overview(
    practice: Practice, month: dt.date, rulebook: Rulebook | None = None
) -> MonthOverview:
    """The month's status (open, closing, closed) and version, the close run's progress,
    and the current version's rows by worklist status and revenue by code: five queries."""
    first = month_start(month)
    billing_month = BillingMonth.objects.filter(practice=practice, month=first).first()
    status = billing_month.status if billing_month else BillingMonth.Status.OPEN
    version = billing_month.version if billing_month else 0
    if version == 0:
        return MonthOverview(first, status, 0, None, _status_counts({}), (), 0, ZERO)
    run = (
        CloseRun.objects.filter(practice=practice, month=first, version=version)
        .annotate(chunks_done=Count("chunks", filter=Q(chunks__done=True)))
        .first()
    )
    progress = (
        CloseProgress(
            status=run.status,
            chunks_done=run.chunks_done,
            chunks_total=run.chunks_total,
            patients=run.patients,
            error=run.error,
        )
        if run is not None
        else None
    )
    rows = WorklistRow.objects.filter(practice=practice, month=first, version=version)
    counter = {r["status"]: r["n"] for r in rows.values("status").annotate(n=Count("id"))}
    total = rows.aggregate(total=Sum("total_amount"))["total"] or ZERO
    return MonthOverview(
        month=first,
        status=status,
        version=version,
        progress=progress,
        counts=_status_counts(counter),
        revenue=revenue_by_code(practice, first, version, rulebook),
        patients=sum(counter.values()),
        total_amount=total,
    )


@dataclass(frozen=True)
class HistoryMonth:
    """One month of the twelve-month chart: its closed version's total, or none."""

    month: dt.date
    status: str
    version: int
    total: Decimal | None

    @property
    def label(self) -> str:
        return f"{self.month:%b}"

    @property
    def month_text(self) -> str:
        return f"{self.month:%Y-%m}"


def month_history(practice: Practice, last: dt.date, months: int = 12) -> list[HistoryMonth]:
    """The `months` months up to `last`: each closed month's total amount of its current
    close version (billing rule: a re-close writes a new version and never double-counts,
    so only the current version is summed); open and closing months have no total.
    Two queries."""
    last = month_start(last)
    firsts = [shift_month(last, offset) for offset in range(1 - months, 1)]
    states = {
        m.month: m
        for m in BillingMonth.objects.filter(practice=practice, month__range=(firsts[0], last))
    }
    closed = {m.month: m.version for m in states.values() if m.status == BillingMonth.Status.CLOSED}
    totals: dict[dt.date, Decimal] = {}
    if closed:
        for row in (
            WorklistRow.objects.filter(practice=practice, month__in=list(closed))
            .values("month", "version")
            .annotate(total=Sum("total_amount"))
        ):
            if closed.get(row["month"]) == row["version"]:
                totals[row["month"]] = row["total"] or ZERO
    return [
        HistoryMonth(
            month=first,
            status=states[first].status if first in states else BillingMonth.Status.OPEN,
            version=states[first].version if first in states else 0,
            total=totals.get(first, ZERO) if first in closed else None,
        )
        for first in firsts
    ]


@dataclass(frozen=True)
class ChartBar:
    month: HistoryMonth
    x: float
    y: float
    height: float
    label_x: float

    @property
    def value_y(self) -> float:
        return round(self.y - 6, 1)


@dataclass(frozen=True)
class Chart:
    """A server-rendered SVG bar chart of the twelve months (coordinates only)."""

    width: int
    height: int
    baseline: float
    bar_width: float
    bars: tuple[ChartBar, ...]
    top: Decimal

    @property
    def label_y(self) -> float:
        return self.height - 8

    @property
    def empty_y(self) -> float:
        return self.baseline - 6


def history_chart(history: list[HistoryMonth], width: int = 720, height: int = 220) -> Chart:
    """Bar geometry for the history: one bar per month scaled to the largest total; a
    month without a closed total gets no bar (the template marks it)."""
    top = max((h.total for h in history if h.total is not None), default=ZERO)
    pad_top, pad_bottom = 24.0, 28.0
    usable = height - pad_top - pad_bottom
    slot = width / max(len(history), 1)
    bar_width = slot * 0.62
    bars = []
    for index, month in enumerate(history):
        value = month.total or ZERO
        bar_height = float(value / top) * usable if top > 0 else 0.0
        x = index * slot + (slot - bar_width) / 2
        bars.append(
            ChartBar(
                month=month,
                x=round(x, 1),
                y=round(pad_top + usable - bar_height, 1),
                height=round(bar_height, 1),
                label_x=round(index * slot + slot / 2, 1),
            )
        )
    return Chart(width, height, pad_top + usable, round(bar_width, 1), tuple(bars), top)


def projected_status(decision: Decision) -> str:
    """The worklist status the close would give this decision (billing/close.py): a
    blocked month is not billable; a billable month with a warning needs review."""
    if not decision.billable:
        return WorklistStatus.NOT_BILLABLE
    if any(finding.severity == "warn" for finding in decision.findings):
        return WorklistStatus.NEEDS_REVIEW
    return WorklistStatus.READY


@dataclass(frozen=True)
class Projection:
    """What closing the month now would produce: the engine run live over every active
    patient (billing-rules.md sections 3 and 4), nothing written."""

    patients: int
    counts: tuple[StatusCount, ...]
    revenue: tuple[CodeRevenue, ...]
    total_amount: Decimal
    errors: list[str] = field(default_factory=list)


def month_projection(
    practice: Practice, month: dt.date, rulebook: Rulebook | None = None
) -> Projection:
    """The live projection of an open month: each active patient's facts (all at once,
    billing.selectors.patients_month_facts), the engine, and the counts and revenue the
    close would write. Ten queries whatever the number of patients."""
    first = month_start(month)
    rulebook = rulebook or practice_rulebook(practice, first)
    patients = list(
        Patient.objects.filter(practice=practice, is_active=True)
        .select_related("billing_practitioner")
        .order_by("pk")
    )
    facts = patients_month_facts(patients, first) if patients else {}
    statuses: Counter[str] = Counter()
    units: dict[str, int] = defaultdict(int)
    amounts: dict[str, Decimal] = defaultdict(lambda: ZERO)
    billed: Counter[str] = Counter()
    errors: list[str] = []
    for patient in patients:
        try:
            decision = evaluate(parse_facts(facts[patient.pk]), rulebook)
        except FactsError as error:
            errors.append(f"{patient}: {error.field}: {error.message}")
            continue
        statuses[projected_status(decision)] += 1
        for line in decision.lines:
            units[line.code] += line.units
            amounts[line.code] += line.amount
            billed[line.code] += 1
    revenue = tuple(
        CodeRevenue(
            code=code,
            description=rulebook.codes[code].description if code in rulebook.codes else "",
            units=units[code],
            patients=billed[code],
            amount=amounts[code],
        )
        for code in sorted(units, key=_code_key)
    )
    return Projection(
        patients=len(patients),
        counts=_status_counts(dict(statuses)),
        revenue=revenue,
        total_amount=sum(amounts.values(), ZERO),
        errors=errors,
    )
