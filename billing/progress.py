"""What the clinical pages show of a billing decision (billing-rules.md sections 3 and 4):
the minutes counted, the next code (`next_threshold`) and the minutes it still needs, how
far the month has come toward it, the current codes, and every finding in plain words.

Pure: a Decision and its Rulebook in, plain values out; no database, no clock. The pages
call it; the engine stays the only place that decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from billing.rules import Decision, Finding, Rulebook
from billing.rules import findings as rules

#: A few words per rule for a badge; the engine's sentence is shown beside or under it.
RULE_LABELS: dict[str, str] = {
    rules.ELIGIBILITY_CONDITIONS: "Fewer than 2 chronic conditions",
    rules.CONSENT_MISSING: "No consent",
    rules.CONSENT_PRACTITIONER_MISMATCH: "Consent to another practitioner",
    rules.INITIATING_VISIT_MISSING: "No initiating visit",
    rules.CARE_PLAN_MISSING: "No care plan",
    rules.EXCLUSIVE_SERVICE: "Excluded by another service",
    rules.OVERLAPPING_SERVICE: "PCM/APCM billed by another practitioner",
    rules.ENTRY_OUTSIDE_MONTH: "Entry outside the month",
    rules.ENTRY_EXCLUDED_PROGRAM: "Time of another program",
    rules.ENTRY_OUTSIDE_CONSENT: "Time outside the consent",
    rules.ENTRY_NON_CLINICAL: "Non-clinical time",
    rules.ENTRY_DURING_INPATIENT_STAY: "Time during an inpatient stay",
    rules.ENTRY_OVERLAP: "Overlapping entries",
    rules.NO_TIME_THRESHOLD: "Not enough time yet",
    rules.COMPLEX_NO_MDM: "Complex? Needs MDM",
    rules.COMPLEX_BELOW_60: "MDM attested, under 60 min",
    rules.MDM_NOT_BILLING_PRACTITIONER: "MDM by someone else",
    rules.ADDON_CAP_REACHED: "Add-on cap reached",
    # Billing rules revision 2.
    rules.FEES_FROM_OTHER_YEAR: "Fees of another year",
    rules.CONDITION_NOT_CHRONIC: "Condition not chronic",
    rules.DUPLICATE_CCM: "CCM already billed",
    rules.CARE_PLAN_NOT_REVIEWED: "Care plan not reviewed in a year",
    rules.CARE_PLAN_UNSIGNED: "Care plan not signed",
    rules.ENTRY_OTHER_PRACTITIONER: "Another practitioner's time",
    rules.ENTRY_LUMPED: "Time lumped in one entry",
    rules.ENTRY_NOTE_REPEATED: "Copied notes",
    rules.ENTRY_LATE: "Logged late",
}

SEVERITY_WORDS: dict[str, str] = {
    rules.BLOCK: "Blocks billing",
    rules.WARN: "Warning",
    rules.INFO: "Advice",
}

TIER_WORDS: dict[str | None, str] = {
    "non_complex": "Non-complex CCM",
    "complex": "Complex CCM",
    "practitioner": "Practitioner CCM",
    None: "Not billable",
}

#: Entry-level rules: the timeline marks the entries they name.
ENTRY_RULES = frozenset(
    {
        rules.ENTRY_OUTSIDE_MONTH,
        rules.ENTRY_EXCLUDED_PROGRAM,
        rules.ENTRY_OUTSIDE_CONSENT,
        rules.ENTRY_NON_CLINICAL,
        rules.ENTRY_DURING_INPATIENT_STAY,
        rules.ENTRY_OVERLAP,
        rules.ENTRY_OTHER_PRACTITIONER,
        rules.ENTRY_LUMPED,
        rules.ENTRY_NOTE_REPEATED,
        rules.ENTRY_LATE,
    }
)

# Sort groups of the call list: time would earn a code, nothing left to earn, blocked.
GROUP_ACT, GROUP_DONE, GROUP_BLOCKED = 0, 1, 2


@dataclass(frozen=True)
class PlainFinding:
    """One finding as a person reads it: a short label, the severity in words, and the
    engine's full sentence."""

    rule: str
    severity: str
    label: str
    severity_text: str
    message: str
    entries: tuple[str, ...]

    @property
    def blocks(self) -> bool:
        return self.severity == rules.BLOCK


@dataclass(frozen=True)
class MonthProgress:
    """A patient-month on its way to the next code (billing rule `next_threshold`).

    `percent` measures the current step: from the previous threshold of the next code's
    increment (0 for a base code, the last unit for an add-on) up to its threshold.
    """

    counted_seconds: int
    billable: bool
    tier: str | None
    codes: tuple[str, ...]
    next_code: str | None
    minutes_needed: int | None
    step_start_minutes: int
    target_minutes: int | None
    percent: int
    findings: tuple[PlainFinding, ...]

    @property
    def counted_minutes(self) -> int:
        """Whole minutes counted: partial minutes never reach a threshold on their own."""
        return self.counted_seconds // 60

    @property
    def blocks(self) -> tuple[PlainFinding, ...]:
        """Blocks other than NO_TIME_THRESHOLD: more minutes would not make it billable."""
        return tuple(f for f in self.findings if f.blocks and f.rule != rules.NO_TIME_THRESHOLD)

    @property
    def blocked(self) -> bool:
        return bool(self.blocks)

    @property
    def tier_text(self) -> str:
        return TIER_WORDS.get(self.tier, self.tier or "Not billable")

    @property
    def next_text(self) -> str:
        """'1 min to 99490'; 'Every code reached' at the cap; 'Blocked' when time can't help."""
        if self.next_code is not None and self.minutes_needed is not None:
            return f"{self.minutes_needed} min to {self.next_code}"
        if self.blocked:
            return "Blocked"
        return "Every code reached" if self.billable else "No code reachable"

    @property
    def group(self) -> int:
        if self.next_code is not None:
            return GROUP_ACT
        return GROUP_BLOCKED if self.blocked else GROUP_DONE

    @property
    def sort_key(self) -> tuple[int, int, int]:
        """The call list: those a little more time would bill first, fewest minutes needed
        first (a first code before another add-on at a tie); then finished months; the
        blocked last."""
        return (self.group, self.minutes_needed or 0, 1 if self.billable else 0)


def plain_finding(finding: Finding) -> PlainFinding:
    """One engine finding (billing-rules.md section 4) in plain words."""
    return PlainFinding(
        rule=finding.rule,
        severity=finding.severity,
        label=RULE_LABELS.get(finding.rule, finding.rule.replace("_", " ").capitalize()),
        severity_text=SEVERITY_WORDS.get(finding.severity, finding.severity),
        message=finding.message,
        entries=tuple(finding.entries),
    )


def code_text(code: str, units: int) -> str:
    """A claim line as the pages print it: '99490' or '99439 ×2'."""
    return code if units == 1 else f"{code} ×{units}"


def _step(decision: Decision, rulebook: Rulebook) -> tuple[int, int | None, int]:
    """(step start, target, percent) toward the next threshold, in minutes.

    Thresholds are whole minutes, and `minutes_needed` is rounded up, so the target is the
    whole minutes counted plus the minutes needed."""
    nxt = decision.next_threshold
    if nxt is None:
        return 0, None, 100 if decision.billable else 0
    counted = decision.counted_seconds.total
    target = counted // 60 + nxt.minutes_needed
    code = rulebook.codes.get(nxt.code)
    increment = code.seconds // 60 if code is not None else target
    # A base code is reached from zero (99487 from non-complex minutes too); an add-on from
    # the unit before it.
    start = target - increment if code is not None and code.base is not None else 0
    span = max(target - start, 1) * 60
    percent = int(100 * (counted - start * 60) / span)
    return start, target, max(0, min(percent, 99))


def month_progress(decision: Decision, rulebook: Rulebook) -> MonthProgress:
    """The decision of a patient-month as the call list and the month page show it.

    `rulebook` must be the one the decision was made with: it says which codes are
    add-ons and their increments (billing-rules.md section 1)."""
    start, target, percent = _step(decision, rulebook)
    nxt = decision.next_threshold
    return MonthProgress(
        counted_seconds=decision.counted_seconds.total,
        billable=decision.billable,
        tier=decision.tier,
        codes=tuple(code_text(line.code, line.units) for line in decision.lines),
        next_code=nxt.code if nxt is not None else None,
        minutes_needed=nxt.minutes_needed if nxt is not None else None,
        step_start_minutes=start,
        target_minutes=target,
        percent=percent,
        findings=tuple(plain_finding(f) for f in decision.findings),
    )


def entry_flags(findings: Iterable[PlainFinding]) -> dict[str, list[PlainFinding]]:
    """Entry-level findings (ENTRY_* rules) by the entry id they name ('a<activity id>')."""
    flags: dict[str, list[PlainFinding]] = {}
    for finding in findings:
        if finding.rule in ENTRY_RULES:
            for entry in finding.entries:
                flags.setdefault(entry, []).append(finding)
    return flags
