"""The CCM billing engine: facts of one patient-month in, the billing decision out.

Pure Python (no Django, no clock, no settings): whole seconds, Decimal money. The
contract is billing-rules.md; `evaluate` applies its section 4 in order.

Where the contract leaves room, the engine does this:

- Each entry is excluded by the first time rule that applies (month, program, consent,
  non-clinical, inpatient stay) and named in one finding per rule (per program for
  ENTRY_EXCLUDED_PROGRAM). `excluded_seconds` is every credited second that did not count,
  including entries outside the month and the part removed by overlaps.
- Overlaps (same staff_id, same date, both with a start) are resolved on the full
  intervals: each overlapping second goes to one entry, the one shared by the most
  patients (the smallest credit), then the earliest; each entry is then credited
  floor(kept / shared_with). Counted time never exceeds what was logged.
- Without a consent that counts, "CCM began" is taken as the month's first day for the
  365-day initiating-visit rule, and every entry is outside the consent.
- `next_threshold` is the next code or unit the month gains if the same kind of time keeps
  counting (practitioner time in a month of practitioner time only, clinical staff time
  otherwise): usually the chosen family's next add-on, but another family's base when it
  comes first or at the same time (99487 at 60 min when MDM qualifies, 99491 at 30 min of
  practitioner-only time). Null under any block other than NO_TIME_THRESHOLD, and when
  every reachable cap is reached.
- Advice (COMPLEX_NO_MDM, COMPLEX_BELOW_60, ADDON_CAP_REACHED) is given for billable months
  only; MDM_NOT_BILLING_PRACTITIONER always (it is ignored input).
- `service_date` is the month's last day under "month_end", billable or not; under
  "threshold_met" it is the date the chosen base code's threshold was reached, or null.
- Findings list entry ids chronologically (date, start, id), so the decision does not
  depend on the order of the input; eligibility findings list none.
"""

from __future__ import annotations

from billing.rules.decision import (
    CountedSeconds,
    Decision,
    Line,
    NextThreshold,
    decision_as_json,
)
from billing.rules.engine import evaluate
from billing.rules.facts import Facts, FactsError
from billing.rules.findings import RULES, Finding
from billing.rules.parsing import parse_facts
from billing.rules.rulebooks import RULEBOOKS, BillingCode, Family, Rulebook, rulebook_for

__all__ = [
    "RULEBOOKS",
    "RULES",
    "BillingCode",
    "CountedSeconds",
    "Decision",
    "Facts",
    "FactsError",
    "Family",
    "Finding",
    "Line",
    "NextThreshold",
    "Rulebook",
    "decision_as_json",
    "evaluate",
    "evaluate_json",
    "parse_facts",
    "rulebook_for",
]


def evaluate_json(data: object) -> dict[str, object]:
    """Parse facts, evaluate them with their rulebook and return the decision's JSON.

    Raises FactsError naming the field when a fact is bad.
    """
    return decision_as_json(evaluate(parse_facts(data)))
