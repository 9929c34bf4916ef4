"""Facts as JSON-like dicts for engine tests: an eligible patient-month unless told otherwise."""

from __future__ import annotations

import copy
from typing import Any

from billing.rules import evaluate_json

ELIGIBLE_PATIENT: dict[str, Any] = {
    "chronic_conditions": [
        {"icd10": "E11.9", "onset": "2019-05-01", "resolved": None},
        {"icd10": "I50.22", "onset": "2021-02-01", "resolved": None},
    ],
    "consents": [
        {"date": "2026-01-10", "billing_practitioner": "P1", "method": "verbal", "revoked": None}
    ],
    "prior_visit_date": "2025-11-03",
    "initiating_visit": None,
    # Signed by the billing practitioner: a month documented as revision 2 asks.
    "care_plan": {"established": "2026-01-10", "signed_by": "P1"},
}

_counter = iter(range(1, 1_000_000))


def entry(
    minutes: int | None = None,
    *,
    seconds: int | None = None,
    date: str = "2026-03-10",
    performer: str = "clinical_staff",
    **extra: Any,
) -> dict[str, Any]:
    """A time entry; a fresh id unless `id` is given."""
    out: dict[str, Any] = {
        "id": f"e{next(_counter)}",
        "date": date,
        "performer": performer,
        "staff_id": "P1" if performer == "practitioner" else "S1",
        "program": "ccm",
        "shared_with": 1,
    }
    if minutes is not None:
        out["minutes"] = minutes
    if seconds is not None:
        out["seconds"] = seconds
    out.update(extra)
    return out


def facts(
    *entries: dict[str, Any],
    month: str = "2026-03",
    mdm: dict[str, Any] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Facts of an eligible patient-month with these entries; `patient__x=...` sets patient.x."""
    out: dict[str, Any] = {
        "month": month,
        "billing_practitioner": "P1",
        "patient": copy.deepcopy(ELIGIBLE_PATIENT),
        "time_entries": list(entries),
        "mdm": mdm,
        "other_services": [],
    }
    for key, value in overrides.items():
        if key.startswith("patient__"):
            out["patient"][key.removeprefix("patient__")] = value
        else:
            out[key] = value
    return out


def mdm(level: str = "moderate", by: str = "P1") -> dict[str, Any]:
    return {"level": level, "attested_by": by, "date": "2026-03-28"}


def decide(data: dict[str, Any]) -> dict[str, Any]:
    return evaluate_json(data)


def rules_fired(decision: dict[str, Any]) -> list[str]:
    return [f["rule"] for f in decision["findings"]]


def the_finding(decision: dict[str, Any], rule: str) -> dict[str, Any]:
    matches = [f for f in decision["findings"] if f["rule"] == rule]
    assert len(matches) == 1, rules_fired(decision)
    return matches[0]


def lines(decision: dict[str, Any]) -> list[tuple[str, int]]:
    return sorted((line["code"], line["units"]) for line in decision["lines"])
