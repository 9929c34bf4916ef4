"""The decision for one patient-month: the engine's output (billing-rules.md section 3).

Each frozen dataclass here spells out its `__init__` (object.__setattr__ per field, as the
generated one does): mypyc compiles that natively, about ten times faster than the one
`dataclasses` writes, which stays interpreted; tests/billing/rules/test_engine_build.py
checks that each `__init__` takes exactly the dataclass's fields and defaults.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from billing.rules.findings import Finding

_CENT = Decimal("0.01")


def money(amount: Decimal) -> str:
    """Money as the decision's JSON writes it: a string with two decimals."""
    return str(amount.quantize(_CENT))


@dataclass(frozen=True)
class Line:
    """One claim line: a code, its units and the fee of one unit."""

    code: str
    units: int
    unit_amount: Decimal

    def __init__(self, code: str, units: int, unit_amount: Decimal) -> None:
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "units", units)
        object.__setattr__(self, "unit_amount", unit_amount)

    @property
    def amount(self) -> Decimal:
        return (self.unit_amount * self.units).quantize(_CENT)


@dataclass(frozen=True)
class CountedSeconds:
    """Counted seconds: c (clinical staff) and p (practitioner)."""

    clinical_staff: int
    practitioner: int

    def __init__(self, clinical_staff: int, practitioner: int) -> None:
        object.__setattr__(self, "clinical_staff", clinical_staff)
        object.__setattr__(self, "practitioner", practitioner)

    @property
    def total(self) -> int:
        """s = c + p: the practitioner's own time also counts toward the staff thresholds."""
        return self.clinical_staff + self.practitioner


@dataclass(frozen=True)
class NextThreshold:
    """The next code or unit the month could reach, and the whole minutes still needed."""

    code: str
    minutes_needed: int

    def __init__(self, code: str, minutes_needed: int) -> None:
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "minutes_needed", minutes_needed)


@dataclass(frozen=True)
class Decision:
    month: str
    rulebook: str
    billable: bool
    tier: str | None
    lines: tuple[Line, ...]
    counted_seconds: CountedSeconds
    excluded_seconds: int
    service_date: dt.date | None
    diagnoses: tuple[str, ...]
    next_threshold: NextThreshold | None
    findings: tuple[Finding, ...]
    #: The rule ids that produced the decision: the family rule that set the lines
    #: (FAMILY_COMPLEX, FAMILY_NON_COMPLEX, FAMILY_PRACTITIONER) and every finding's rule.
    rules_applied: tuple[str, ...]

    def __init__(
        self,
        month: str,
        rulebook: str,
        billable: bool,
        tier: str | None,
        lines: tuple[Line, ...],
        counted_seconds: CountedSeconds,
        excluded_seconds: int,
        service_date: dt.date | None,
        diagnoses: tuple[str, ...],
        next_threshold: NextThreshold | None,
        findings: tuple[Finding, ...],
        rules_applied: tuple[str, ...],
    ) -> None:
        object.__setattr__(self, "month", month)
        object.__setattr__(self, "rulebook", rulebook)
        object.__setattr__(self, "billable", billable)
        object.__setattr__(self, "tier", tier)
        object.__setattr__(self, "lines", lines)
        object.__setattr__(self, "counted_seconds", counted_seconds)
        object.__setattr__(self, "excluded_seconds", excluded_seconds)
        object.__setattr__(self, "service_date", service_date)
        object.__setattr__(self, "diagnoses", diagnoses)
        object.__setattr__(self, "next_threshold", next_threshold)
        object.__setattr__(self, "findings", findings)
        object.__setattr__(self, "rules_applied", rules_applied)

    @property
    def total_amount(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00")).quantize(_CENT)

    @property
    def blocks(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.blocks)


def decision_as_json(decision: Decision) -> dict[str, object]:
    """The decision as the JSON of billing-rules.md section 3, plus the rulebook's name."""
    nxt = decision.next_threshold
    return {
        "month": decision.month,
        "rulebook": decision.rulebook,
        "billable": decision.billable,
        "tier": decision.tier,
        "lines": [
            {
                "code": line.code,
                "units": line.units,
                "unit_amount": money(line.unit_amount),
                "amount": money(line.amount),
            }
            for line in decision.lines
        ],
        "total_amount": money(decision.total_amount),
        "counted_seconds": {
            "clinical_staff": decision.counted_seconds.clinical_staff,
            "practitioner": decision.counted_seconds.practitioner,
        },
        "excluded_seconds": decision.excluded_seconds,
        "service_date": None
        if decision.service_date is None
        else decision.service_date.isoformat(),
        "diagnoses": list(decision.diagnoses),
        "next_threshold": None
        if nxt is None
        else {"code": nxt.code, "minutes_needed": nxt.minutes_needed},
        "findings": [
            {
                "rule": f.rule,
                "severity": f.severity,
                "message": f.message,
                "entries": list(f.entries),
            }
            for f in decision.findings
        ],
    }
