"""Revenue by month and code: the claim lines of each closed month's current close
version (billing rule: a re-close writes a new version and never double-counts, so only
the current version is summed)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Sum

from billing.dashboard import CODE_ORDER, shift_month
from billing.models import ClaimLine
from ccm.models import BillingMonth, Practice

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class CodeMonth:
    code: str
    units: int
    patients: int
    amount: Decimal


@dataclass(frozen=True)
class RevenueMonth:
    """One month of the report: its codes when closed, None when it is not."""

    month: dt.date
    version: int
    codes: tuple[CodeMonth, ...] | None

    @property
    def month_text(self) -> str:
        return f"{self.month:%Y-%m}"

    @property
    def total(self) -> Decimal:
        return sum((code.amount for code in self.codes or ()), ZERO)


@dataclass(frozen=True)
class RevenueReport:
    months: tuple[RevenueMonth, ...]
    codes: tuple[str, ...]  # every code billed in the range, in billing order

    @property
    def total(self) -> Decimal:
        return sum((month.total for month in self.months), ZERO)

    def amount(self, month: RevenueMonth, code: str) -> Decimal:
        return next((c.amount for c in month.codes or () if c.code == code), ZERO)


def _code_order(code: str) -> tuple[int, str]:
    return (CODE_ORDER.index(code) if code in CODE_ORDER else len(CODE_ORDER), code)


def revenue_by_month_and_code(practice: Practice, last: dt.date, months: int = 12) -> RevenueReport:
    """The `months` months up to `last`: for each closed one, its current version's claim
    lines summed by code (units, patients billed, amount). Two queries."""
    firsts = [shift_month(last, offset) for offset in range(1 - months, 1)]
    closed = dict(
        BillingMonth.objects.filter(
            practice=practice,
            month__range=(firsts[0], firsts[-1]),
            status=BillingMonth.Status.CLOSED,
        ).values_list("month", "version")
    )
    by_month: dict[dt.date, list[CodeMonth]] = defaultdict(list)
    if closed:
        lines = (
            ClaimLine.objects.filter(row__practice=practice, row__month__in=list(closed))
            .values("row__month", "row__version", "code")
            .annotate(units=Sum("units"), amount=Sum("amount"), patients=Count("row"))
            .order_by()
        )
        for line in lines:
            if closed.get(line["row__month"]) == line["row__version"]:
                by_month[line["row__month"]].append(
                    CodeMonth(line["code"], line["units"], line["patients"], line["amount"])
                )
    codes = sorted({c.code for month in by_month.values() for c in month}, key=_code_order)
    return RevenueReport(
        months=tuple(
            RevenueMonth(
                month=first,
                version=closed.get(first, 0),
                codes=tuple(sorted(by_month[first], key=lambda c: _code_order(c.code)))
                if first in closed
                else None,
            )
            for first in firsts
        ),
        codes=tuple(codes),
    )
