"""ICD-10-CM validation against the real code set (no database)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from patients.icd10 import icd10_lookup, icd10_normalise


@pytest.mark.parametrize(
    ("given", "code", "description_part"),
    [
        ("E11.9", "E11.9", "Type 2 diabetes mellitus without complications"),
        ("E119", "E11.9", "Type 2 diabetes mellitus without complications"),
        (" e11.9 ", "E11.9", "Type 2 diabetes"),
        ("i5022", "I50.22", "Chronic systolic (congestive) heart failure"),
        ("I10", "I10", "Essential (primary) hypertension"),
        ("N18.30", "N18.30", "Chronic kidney disease, stage 3 unspecified"),
    ],
)
def test_billable_codes_are_dotted_upper_case_with_the_code_sets_description(
    given: str, code: str, description_part: str
) -> None:
    found = icd10_lookup(given)
    assert found.code == code
    assert description_part in found.description


@pytest.mark.parametrize("given", ["ZZZ", "E1", "E11.", "", "   ", "E08-E13", "4", "99214"])
def test_what_is_not_a_code_is_refused(given: str) -> None:
    with pytest.raises(ValidationError) as raised:
        icd10_lookup(given)
    assert "is not an ICD-10-CM code" in raised.value.messages[0]


@pytest.mark.parametrize(
    ("given", "suggested"),
    [("E11", "E11.0"), ("N18.3", "N18.30"), ("N183", "N18.31"), ("I50.2", "I50.22")],
)
def test_a_category_is_refused_with_more_specific_codes_suggested(
    given: str, suggested: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        icd10_lookup(given)
    message = raised.value.messages[0]
    assert "is a category" in message
    assert "more specific code" in message
    assert suggested in message


def test_normalise_strips_spaces_and_upper_cases() -> None:
    assert icd10_normalise(" e 11.9\t") == "E11.9"
