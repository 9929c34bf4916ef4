"""The shared engine cases (copied from ../shared/cases/public), compared as check_cases.py does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from billing.rules import evaluate_json

CASES = sorted((Path(__file__).parent / "cases").glob("*.json"))
COMPARED = ("billable", "tier", "total_amount", "service_date", "counted_seconds", "next_threshold")


def mismatches(expect: dict[str, Any], got: dict[str, Any]) -> list[str]:
    out = [
        f"{key}: expected {expect[key]!r}, got {got.get(key)!r}"
        for key in COMPARED
        if key in expect and got.get(key) != expect[key]
    ]
    if "lines" in expect:
        want = sorted((line["code"], line["units"]) for line in expect["lines"])
        have = sorted((line["code"], line["units"]) for line in got["lines"])
        if want != have:
            out.append(f"lines: expected {want}, got {have}")
    fired = {f["rule"] for f in got["findings"]}
    out += [f"finding {r} missing" for r in expect.get("findings", []) if r not in fired]
    out += [f"finding {r} should not fire" for r in expect.get("absent_findings", []) if r in fired]
    return out


def test_there_are_cases() -> None:
    assert len(CASES) >= 18


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_public_case(path: Path) -> None:
    case = json.loads(path.read_text())
    assert mismatches(case["expect"], evaluate_json(case["facts"])) == []
