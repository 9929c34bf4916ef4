"""Missed revenue of a month, from each active patient's decision by the engine the close
runs (billing-rules.md sections 3 and 4):

- near a code: the month ended a few minutes short of the next code or unit
  (`next_threshold`, which is null when anything but time blocks the month), at most
  NEAR_MINUTES away; what that code would have added;
- capped: units of an add-on with a monthly cap (99439: 2 by default) that the counted
  time holds beyond the cap (ADDON_CAP_REACHED); what they would pay uncapped (a payer
  may allow more; the rulebook's cap is a parameter).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from billing.live_decisions import decide_months
from billing.rules import Decision, Rulebook
from billing.rules import findings as rules
from billing.rules.families import family_seconds
from billing.selectors import active_patient_keys, practice_rulebook
from ccm.models import Practice
from patients.models import Patient

NEAR_MINUTES = 5
NEAR, CAPPED = "near_threshold", "addon_cap"
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class MissedRevenue:
    patient: Patient
    kind: str  # NEAR or CAPPED
    code: str
    units: int
    minutes: int  # NEAR: minutes that were missing; CAPPED: minutes beyond the cap
    amount: Decimal

    @property
    def kind_text(self) -> str:
        return "Short of a code" if self.kind == NEAR else "Beyond the add-on cap"


def _near(decision: Decision, rulebook: Rulebook) -> tuple[str, int, Decimal] | None:
    """(code, minutes needed, what it adds) when the month ended within NEAR_MINUTES of
    its next code. A base code of another family replaces what the month bills, so it
    adds only the difference."""
    step = decision.next_threshold
    if step is None or not 0 < step.minutes_needed <= NEAR_MINUTES:
        return None
    fee = rulebook.fee(step.code)
    is_base = rulebook.codes[step.code].base is None
    gain = max(fee - decision.total_amount, ZERO) if is_base and decision.lines else fee
    return step.code, step.minutes_needed, gain


def _capped(decision: Decision, rulebook: Rulebook) -> tuple[str, int, int, Decimal] | None:
    """(add-on code, units beyond the cap, minutes beyond the last billed unit, their
    fees) when ADDON_CAP_REACHED fired."""
    if decision.tier is None or not any(
        f.rule == rules.ADDON_CAP_REACHED for f in decision.findings
    ):
        return None
    family = rulebook.family(decision.tier)
    cap = family.addon.cap
    if cap is None:
        return None
    seconds = family_seconds(family, decision.counted_seconds)
    beyond = seconds - family.base.seconds - cap * family.addon.seconds
    units = beyond // family.addon.seconds
    if units <= 0:
        return None
    return family.addon.code, units, beyond // 60, units * rulebook.fee(family.addon.code)


def missed_revenue(practice: Practice, month: dt.date) -> list[MissedRevenue]:
    """The month's missed revenue, patient by patient, largest first: one engine run over
    the practice's active patients (billing.live_decisions: a fixed number of queries)."""
    rulebook = practice_rulebook(practice, month)
    keys = active_patient_keys(practice)
    decisions = decide_months(keys, month, rulebook)
    patients = Patient.objects.filter(pk__in=[key[0] for key in keys]).in_bulk()
    found: list[MissedRevenue] = []
    for pk, decision in decisions.items():
        if isinstance(decision, str):
            continue  # facts the engine refuses: the dashboard's projection names them
        near = _near(decision, rulebook)
        if near is not None:
            code, minutes, gain = near
            found.append(MissedRevenue(patients[pk], NEAR, code, 1, minutes, gain))
        capped = _capped(decision, rulebook)
        if capped is not None:
            code, units, minutes, amount = capped
            found.append(MissedRevenue(patients[pk], CAPPED, code, units, minutes, amount))
    return sorted(
        found, key=lambda m: (-m.amount, m.patient.last_name, m.patient.first_name, m.kind)
    )


def missed_total(found: list[MissedRevenue], kind: str) -> Decimal:
    return sum((m.amount for m in found if m.kind == kind), ZERO)
