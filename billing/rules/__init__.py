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

Revision 2 (billing-rules.md s. 6), where the text leaves room, reads it so that the
practice is protected at audit:

- Findings come in the order of RULES: FEES_FROM_OTHER_YEAR first (it is about the price
  of the whole month, s. 1), then s. 4 in order, the documentation findings last.
  FEES_FROM_OTHER_YEAR fires whenever the rulebook's fees are of another year than the
  month, billable or not (the named rulebook of the facts included).
- A condition counts as chronic when attested, or when the classification (AHRQ's CCI
  2019.1, `classification.py`) marks its code, or its nearest listed parent, chronic. A
  code with no listed parent, a category such as E11 included, counts only when attested.
  CONDITION_NOT_CHRONIC: one finding per code, in input order, also for a record whose
  code counts through another record of it that is attested (that record does not count).
- CARE_PLAN_NOT_REVIEWED reads `reviewed` (default `established`) as the facts give it:
  the facts builder passes the plan in force and its last review on or before the
  month's end.
- An initiating visit after CCM began still initiates it when it meets the other
  conditions and is on/before the month's last day (as before revision 2); its message
  lists every reason it does not.
- ENTRY_OTHER_PRACTITIONER takes its place in s. 4's order: it names, in one finding,
  chronologically, the other practitioners' entries that the month, program, consent and
  non-clinical exclusions left, an entry the inpatient stay then excludes included; a
  practitioner entry without a staff_id is another practitioner's. It excludes nothing.
- CCM billed elsewhere by a practitioner not recorded stays EXCLUSIVE_SERVICE (it may be
  another practitioner's); DUPLICATE_CCM is the billing practitioner's own. Services are
  reported rule by rule (EXCLUSIVE_SERVICE, DUPLICATE_CCM, OVERLAPPING_SERVICE), each by
  (date, code, practitioner).
- The documentation findings look at the entries no exclusion removed, billable month or
  not (they are what the biller fixes before a claim goes out): ENTRY_LUMPED on the full
  logged duration (before any share), one finding naming every such entry; ENTRY_LATE
  likewise (an entry logged before the day it records is not late);
  ENTRY_NOTE_REPEATED one finding per note, in the order of each note's first entry.
- Parsing: an empty `credential` is null ("not known"); `note` is stripped, empty is null;
  `names` holds at most 1,000 refs, each name at most 200 characters, no control
  characters. Messages name people by `names`, a ref without a name as itself.
"""

from __future__ import annotations

import importlib
import sys

from billing.rules import loader as _loader


def _use_compiled() -> bool:
    """Put the compiled engine first on the package's path when its build matches the
    sources and loads (`loader`); the pure-Python sources otherwise."""
    directory = _loader.compiled_dir()
    if directory is None:
        return False
    __path__.insert(0, str(directory))
    try:
        importlib.import_module(f"{_loader.GROUP_NAME}__mypyc")
    except ImportError as error:
        __path__.remove(str(directory))
        sys.modules.pop(f"{_loader.GROUP_NAME}__mypyc", None)
        _loader.refuse(_loader.engine_mode(), f"the compiled engine does not load ({error})")
        return False
    return True


#: Whether the engine running is the compiled one (mypyc) rather than the pure sources.
COMPILED: bool = _use_compiled()

from billing.rules.classification import (
    CCI_VERSION,
    CHRONIC_CONDITIONS_SOURCE,
    chronic_indicator,
)
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
from billing.rules.rulebooks import (
    RULEBOOKS,
    BillingCode,
    Family,
    Rulebook,
    rulebook_for,
    rulebook_for_year,
)

__all__ = [
    "CCI_VERSION",
    "CHRONIC_CONDITIONS_SOURCE",
    "COMPILED",
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
    "chronic_indicator",
    "decision_as_json",
    "evaluate",
    "evaluate_json",
    "parse_facts",
    "rulebook_for",
    "rulebook_for_year",
]


def evaluate_json(data: object) -> dict[str, object]:
    """Parse facts, evaluate them with their rulebook and return the decision's JSON.

    Raises FactsError naming the field when a fact is bad.
    """
    return decision_as_json(evaluate(parse_facts(data)))
