"""The chronic-condition classification the engine ships (AHRQ CCI for ICD-10-CM 2019.1):
its lookups, the parent fallback, and the shipped file against AHRQ's CSV when at hand."""

from __future__ import annotations

import csv
import importlib.util
import lzma
import os
from pathlib import Path
from types import ModuleType

import pytest

from billing.rules import CCI_VERSION, CHRONIC_CONDITIONS_SOURCE, RULEBOOKS, chronic_indicator
from billing.rules.classification import DATA_PATH, ChronicConditionIndicator, listed_as

ROOT = Path(__file__).resolve().parents[3]
CSV_NAME = "chronic-condition-indicator-icd10cm-2019.1.csv"


def cci_csv() -> Path | None:
    """AHRQ's CSV: $CCM_CCI_CSV, else shared/data/ beside a parent of the project."""
    named = os.environ.get("CCM_CCI_CSV")
    if named:
        return Path(named)
    for parent in ROOT.parents:
        candidate = parent / "shared" / "data" / CSV_NAME
        if candidate.is_file():
            return candidate
    return None


def build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_cci_data", ROOT / "scripts/build_cci_data.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("code", "chronic"),
    [
        ("E11.9", True),  # type 2 diabetes
        ("I50.22", True),  # chronic systolic heart failure
        ("I10", True),  # a three-character code that is itself listed
        ("E119", True),  # compared without the dot
        ("e11.9", True),
        ("J06.9", False),  # acute upper respiratory infection
        ("S82.001A", False),  # an injury
        ("M54.5", False),  # low back pain
        ("N18.31", True),  # newer than the table: its parent N18.3 is chronic
        ("N18.3", True),
        ("J06.99", False),  # an invented child of a listed acute code: not chronic
        ("E11", None),  # a category: not listed, and no listed parent
        ("J41", None),
        ("U07.1", None),  # COVID-19 (2020): no listed parent
        ("Z99.99", None),
    ],
)
def test_indicator_of_a_code(code: str, chronic: bool | None) -> None:
    assert chronic_indicator(code) is chronic


def test_a_newer_code_names_the_parent_it_takes_its_indicator_from() -> None:
    assert listed_as("N18.31") == ("N183", True)
    assert listed_as("N18.3") == ("N183", True)
    assert listed_as("E11") is None


def test_source_and_version_are_named_where_the_rulebooks_name_theirs() -> None:
    assert CCI_VERSION == "2019.1"
    assert "Chronic Condition Indicator" in CHRONIC_CONDITIONS_SOURCE
    assert "2019.1" in CHRONIC_CONDITIONS_SOURCE
    for book in RULEBOOKS.values():
        assert book.conditions_source == CHRONIC_CONDITIONS_SOURCE


def test_the_shipped_file_is_compact_and_complete() -> None:
    assert DATA_PATH.stat().st_size < 300_000
    table = ChronicConditionIndicator.load()
    assert len(table) == 72_446


def test_a_bad_table_is_refused() -> None:
    with pytest.raises(ValueError, match="not a chronic condition indicator"):
        ChronicConditionIndicator(b"# header\nE119   1\nE11")


def test_the_shipped_file_is_what_the_script_builds_from_the_csv() -> None:
    path = cci_csv()
    if path is None or not path.is_file():
        pytest.skip(f"AHRQ's CSV ({CSV_NAME}) is not at hand; set CCM_CCI_CSV to check")
    assert lzma.decompress(DATA_PATH.read_bytes()) == build_script().build_text(path)


def test_every_code_of_the_csv_gets_its_indicator() -> None:
    path = cci_csv()
    if path is None or not path.is_file():
        pytest.skip(f"AHRQ's CSV ({CSV_NAME}) is not at hand; set CCM_CCI_CSV to check")
    table = ChronicConditionIndicator.load()
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(table)
    wrong = [row for row in rows if table.listed(row["icd10cm"]) != (row["chronic"] == "1")]
    assert wrong == []
    assert sum(row["chronic"] == "1" for row in rows) == 11_581
