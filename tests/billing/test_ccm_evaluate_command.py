"""`manage.py ccm_evaluate [FILE]`: facts in, decisions out (interface.md). No database."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

ROOT = Path(__file__).resolve().parents[2]
CASES = Path(__file__).parent / "rules" / "cases"


def case_facts(name: str) -> dict[str, Any]:
    return json.loads((CASES / f"{name}.json").read_text())["facts"]


def run(*args: str, stdin: str = "") -> tuple[Any, str]:
    out = io.StringIO()
    call_command("ccm_evaluate", *args, stdin=io.StringIO(stdin), stdout=out)
    return json.loads(out.getvalue()), out.getvalue()


def manage(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "ccm_evaluate", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_single_object_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(case_facts("noncomplex_55_min")))
    decision, _ = run(str(path))
    assert decision["billable"] is True
    assert decision["tier"] == "non_complex"
    assert decision["total_amount"] == "116.86"
    assert decision["next_threshold"] == {"code": "99439", "minutes_needed": 5}


def test_single_object_from_stdin() -> None:
    decision, _ = run(stdin=json.dumps(case_facts("below_threshold_19")))
    assert decision["billable"] is False
    blocks = [f["rule"] for f in decision["findings"] if f["severity"] == "block"]
    assert blocks == ["NO_TIME_THRESHOLD"]


def test_dash_means_stdin() -> None:
    decision, _ = run("-", stdin=json.dumps(case_facts("single_condition")))
    assert decision["billable"] is False


def test_a_list_keeps_its_order_and_reports_a_bad_item_in_place() -> None:
    bad = case_facts("complex_95_min")
    bad["time_entries"][1]["minutes"] = -5
    items = [case_facts("complex_95_min"), bad, 42, case_facts("practitioner_personal_time")]
    decisions, _ = run(stdin=json.dumps(items))
    assert len(decisions) == 4
    assert decisions[0]["tier"] == "complex"
    assert decisions[1] == {"error": "time_entries[1].minutes: must be greater than 0, got -5"}
    assert decisions[2]["error"].startswith("facts:")
    assert decisions[3]["tier"] == "practitioner"


def test_an_empty_list_gives_an_empty_list() -> None:
    assert run(stdin="[]")[0] == []


def test_bad_fact_raises_with_exit_status_2() -> None:
    with pytest.raises(CommandError) as caught:
        run(stdin=json.dumps({**case_facts("complex_95_min"), "month": "2026-3"}))
    assert caught.value.returncode == 2
    assert str(caught.value).startswith("month:")


def test_bad_fact_exits_2_naming_the_field_on_stderr() -> None:
    facts = case_facts("complex_95_min")
    facts["time_entries"][0]["performer"] = "nurse"
    proc = manage(stdin=json.dumps(facts))
    assert proc.returncode == 2
    assert "time_entries[0].performer" in proc.stderr
    assert proc.stdout == ""


def test_bad_json_exits_2() -> None:
    proc = manage(stdin="{not json")
    assert proc.returncode == 2
    assert "invalid JSON" in proc.stderr


def test_missing_file_exits_2(tmp_path: Path) -> None:
    proc = manage(str(tmp_path / "nope.json"))
    assert proc.returncode == 2
    assert "nope.json" in proc.stderr


def test_all_public_cases_through_manage_py_in_one_list() -> None:
    paths = sorted(CASES.glob("*.json"))
    cases = [json.loads(p.read_text()) for p in paths]
    proc = manage(stdin=json.dumps([c["facts"] for c in cases]))
    assert proc.returncode == 0, proc.stderr
    decisions = json.loads(proc.stdout)
    assert [d["billable"] for d in decisions] == [c["expect"]["billable"] for c in cases]


def hash_order_facts() -> list[dict[str, Any]]:
    """Facts where anything iterated in hash order would show: stays that start the same
    day, same-day services of one code by several practitioners, other practitioners'
    consents and entries, repeated notes, conditions that do not count, named people."""
    base = case_facts("noncomplex_55_min")
    stays = [{"from": "2026-03-12", "to": f"2026-03-{day}"} for day in (20, 14, 17, 13, 25)]
    entries = [
        {
            "id": f"x{n}",
            "date": f"2026-03-{12 + n if n < 3 else 23 + n:02d}",  # 3 in the stays
            "minutes": 5 + n,
            "performer": "practitioner" if n % 2 else "clinical_staff",
            "staff_id": f"P{n + 2}",
            "note": ("Called patient", "CALLED patient ", "Refill", "refill")[n % 4],
            "logged_on": "2026-03-30",
        }
        for n in range(8)
    ]
    services = [
        {"code": code, "date": "2026-03-15", "practitioner": who}
        for code in ("99424", "99490")
        for who in ("P9", "P3", "P7", "P5")
    ]
    month = {
        **base,
        "inpatient_stays": stays,
        "time_entries": [*base["time_entries"], *entries],
        "other_services": services,
        "names": {f"P{n}": f"Dr. {chr(64 + n)}" for n in range(1, 10)},
    }
    month["patient"] = {
        **base["patient"],
        "chronic_conditions": [
            *base["patient"]["chronic_conditions"],
            *({"icd10": code} for code in ("J06.9", "S82.001A", "E11", "U07.1")),
        ],
    }
    mismatch = {
        **month,
        "patient": {
            **month["patient"],
            "consents": [
                {"date": "2026-01-10", "billing_practitioner": who} for who in ("P4", "P8", "P2")
            ],
        },
    }
    return [month, mismatch]


def test_the_same_facts_print_the_same_bytes_in_every_process() -> None:
    text = json.dumps(hash_order_facts())
    outputs = set()
    for seed in ("0", "1", "2", "3", "4", "5"):
        proc = subprocess.run(
            [sys.executable, "manage.py", "ccm_evaluate"],
            cwd=ROOT,
            input=text,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        assert proc.returncode == 0, proc.stderr
        outputs.add(proc.stdout)
    assert len(outputs) == 1
    decisions = json.loads(outputs.pop())
    fired = {f["rule"] for d in decisions for f in d["findings"]}
    assert {
        "ENTRY_DURING_INPATIENT_STAY",
        "EXCLUSIVE_SERVICE",
        "OVERLAPPING_SERVICE",
        "ENTRY_NOTE_REPEATED",
        "CONDITION_NOT_CHRONIC",
        "ENTRY_OTHER_PRACTITIONER",
        "CONSENT_PRACTITIONER_MISMATCH",
    } <= fired
