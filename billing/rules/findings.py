"""Rule ids, their severities, and the Finding every fired rule produces (billing-rules.md s. 4).

Each frozen dataclass here spells out its `__init__` (object.__setattr__ per field, as the
generated one does): mypyc compiles that natively, about ten times faster than the one
`dataclasses` writes, which stays interpreted; tests/billing/rules/test_engine_build.py
checks that each `__init__` takes exactly the dataclass's fields and defaults.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

BLOCK: Final = "block"
WARN: Final = "warn"
INFO: Final = "info"

# Pricing (s. 1).
FEES_FROM_OTHER_YEAR: Final = "FEES_FROM_OTHER_YEAR"
# Eligibility.
ELIGIBILITY_CONDITIONS: Final = "ELIGIBILITY_CONDITIONS"
CONDITION_NOT_CHRONIC: Final = "CONDITION_NOT_CHRONIC"
CONSENT_MISSING: Final = "CONSENT_MISSING"
CONSENT_PRACTITIONER_MISMATCH: Final = "CONSENT_PRACTITIONER_MISMATCH"
INITIATING_VISIT_MISSING: Final = "INITIATING_VISIT_MISSING"
CARE_PLAN_MISSING: Final = "CARE_PLAN_MISSING"
CARE_PLAN_NOT_REVIEWED: Final = "CARE_PLAN_NOT_REVIEWED"
CARE_PLAN_UNSIGNED: Final = "CARE_PLAN_UNSIGNED"
EXCLUSIVE_SERVICE: Final = "EXCLUSIVE_SERVICE"
DUPLICATE_CCM: Final = "DUPLICATE_CCM"
OVERLAPPING_SERVICE: Final = "OVERLAPPING_SERVICE"
# Which time counts.
ENTRY_OUTSIDE_MONTH: Final = "ENTRY_OUTSIDE_MONTH"
ENTRY_EXCLUDED_PROGRAM: Final = "ENTRY_EXCLUDED_PROGRAM"
ENTRY_OUTSIDE_CONSENT: Final = "ENTRY_OUTSIDE_CONSENT"
ENTRY_NON_CLINICAL: Final = "ENTRY_NON_CLINICAL"
ENTRY_OTHER_PRACTITIONER: Final = "ENTRY_OTHER_PRACTITIONER"
ENTRY_DURING_INPATIENT_STAY: Final = "ENTRY_DURING_INPATIENT_STAY"
ENTRY_OVERLAP: Final = "ENTRY_OVERLAP"
# Family.
NO_TIME_THRESHOLD: Final = "NO_TIME_THRESHOLD"
# Advice.
COMPLEX_NO_MDM: Final = "COMPLEX_NO_MDM"
COMPLEX_BELOW_60: Final = "COMPLEX_BELOW_60"
MDM_NOT_BILLING_PRACTITIONER: Final = "MDM_NOT_BILLING_PRACTITIONER"
ADDON_CAP_REACHED: Final = "ADDON_CAP_REACHED"
# Documentation.
ENTRY_LUMPED: Final = "ENTRY_LUMPED"
ENTRY_NOTE_REPEATED: Final = "ENTRY_NOTE_REPEATED"
ENTRY_LATE: Final = "ENTRY_LATE"

#: Every rule that can fire, in the order the engine applies them (and lists their
#: findings), with its severity: the price's year, then billing-rules.md s. 4 in order.
RULES: Final[Mapping[str, str]] = MappingProxyType(
    {
        FEES_FROM_OTHER_YEAR: WARN,
        ELIGIBILITY_CONDITIONS: BLOCK,
        CONDITION_NOT_CHRONIC: WARN,
        CONSENT_MISSING: BLOCK,
        CONSENT_PRACTITIONER_MISMATCH: BLOCK,
        INITIATING_VISIT_MISSING: BLOCK,
        CARE_PLAN_MISSING: BLOCK,
        CARE_PLAN_NOT_REVIEWED: WARN,
        CARE_PLAN_UNSIGNED: WARN,
        EXCLUSIVE_SERVICE: BLOCK,
        DUPLICATE_CCM: BLOCK,
        OVERLAPPING_SERVICE: WARN,
        ENTRY_OUTSIDE_MONTH: WARN,
        ENTRY_EXCLUDED_PROGRAM: INFO,
        ENTRY_OUTSIDE_CONSENT: WARN,
        ENTRY_NON_CLINICAL: WARN,
        ENTRY_OTHER_PRACTITIONER: INFO,
        ENTRY_DURING_INPATIENT_STAY: WARN,
        ENTRY_OVERLAP: WARN,
        NO_TIME_THRESHOLD: BLOCK,
        COMPLEX_NO_MDM: INFO,
        COMPLEX_BELOW_60: INFO,
        MDM_NOT_BILLING_PRACTITIONER: WARN,
        ADDON_CAP_REACHED: INFO,
        ENTRY_LUMPED: WARN,
        ENTRY_NOTE_REPEATED: WARN,
        ENTRY_LATE: WARN,
    }
)


@dataclass(frozen=True)
class Finding:
    """One fired rule: its stable id, severity, a sentence for the biller, the entries involved."""

    rule: str
    severity: str
    message: str
    entries: tuple[str, ...] = ()

    def __init__(
        self, rule: str, severity: str, message: str, entries: tuple[str, ...] = ()
    ) -> None:
        object.__setattr__(self, "rule", rule)
        object.__setattr__(self, "severity", severity)
        object.__setattr__(self, "message", message)
        object.__setattr__(self, "entries", entries)

    @property
    def blocks(self) -> bool:
        return self.severity == BLOCK


#: RULES as a plain dict, for `finding` (the close makes millions of findings).
_SEVERITIES: Final[dict[str, str]] = dict(RULES)


def finding(rule: str, message: str, entries: Iterable[str] = ()) -> Finding:
    """A Finding of `rule` with the severity the catalogue gives it."""
    return Finding(rule, _SEVERITIES[rule], message, tuple(entries))


def duration_text(seconds: int) -> str:
    """Seconds as a biller reads them: '12 min', '12 min 30 s', '45 s'."""
    minutes, rest = divmod(seconds, 60)
    if rest == 0:
        return f"{minutes} min"
    if minutes == 0:
        return f"{rest} s"
    return f"{minutes} min {rest} s"
