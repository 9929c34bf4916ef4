"""The compact ICD-10-CM table (patients/data/icd10cm.tsv.xz) agrees with simple_icd_10_cm,
which it is built from (scripts/build_icd10cm_data.py), on every code of the code set."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from patients.icd10 import SUGGESTIONS_SHOWN, icd10_lookup, icd10_normalise, icd10_table

icd = pytest.importorskip("simple_icd_10_cm")


def library_lookup(value: str, dotted_of: dict[str, str]) -> tuple[str, str, str]:
    """patients/icd10.py's lookup as it was written on simple_icd_10_cm itself, with
    add_dot read from the library's own code lists (its add_dot scans the whole list per
    code): ("ok" | "unknown" | "category", code, description or message)."""
    code = icd10_normalise(value)
    if not code or not icd.is_valid_item(code) or icd.is_chapter_or_block(code):
        return ("unknown", value, f"{value.strip() or '(blank)'} is not an ICD-10-CM code.")
    dotted = dotted_of[code]
    description = icd.get_description(dotted)
    if not icd.is_leaf(dotted):
        children = icd.get_children(dotted)
        shown = ", ".join(children[:SUGGESTIONS_SHOWN])
        more = " and others" if len(children) > SUGGESTIONS_SHOWN else ""
        return (
            "category",
            dotted,
            f"{dotted} ({description}) is a category, not a billable code: use a more "
            f"specific code, e.g. {shown}{more}.",
        )
    return ("ok", dotted, description)


def compact_lookup(value: str) -> tuple[str, str, str]:
    try:
        found = icd10_lookup(value)
    except ValidationError as error:
        kind = "category" if error.code == "icd10_category" else "unknown"
        code = value if kind == "unknown" else error.messages[0].split(" ", 1)[0]
        return (kind, code, error.messages[0])
    return ("ok", found.code, found.description)


def test_every_code_with_and_without_its_dot_gives_the_librarys_answer() -> None:
    with_dots = icd.get_all_codes(with_dots=True)
    without_dots = icd.get_all_codes(with_dots=False)
    dotted_of: dict[str, str] = {}
    for plain, dotted in zip(without_dots, with_dots, strict=True):
        dotted_of.setdefault(plain, dotted)  # get_index answers the first occurrence
        dotted_of.setdefault(dotted, dotted)
    values = sorted(set(with_dots) | set(without_dots))
    assert len(values) > 90_000
    disagreements = [
        (value, library_lookup(value, dotted_of), compact_lookup(value))
        for value in values
        if library_lookup(value, dotted_of) != compact_lookup(value)
    ]
    assert disagreements == []


@pytest.mark.parametrize(
    "value", ["ZZZ", "E1", "E11.", "E11..9", "E08-E13", "4", "99214", "É11.9", "\ud800", "A00-"]
)
def test_what_the_library_refuses_is_refused(value: str) -> None:
    assert not icd.is_valid_item(icd10_normalise(value)) or icd.is_chapter_or_block(
        icd10_normalise(value)
    )
    with pytest.raises(ValidationError, match="is not an ICD-10-CM code"):
        icd10_lookup(value)


def test_the_table_holds_each_code_once() -> None:
    table = icd10_table()
    assert len(table.starts) == len(set(icd.get_all_codes(with_dots=True)))
