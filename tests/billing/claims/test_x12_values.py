"""How values become X12 elements: text without delimiters or accents, amounts without
trailing zeros, no trailing empty elements; a name full of delimiters still validates."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from billing.claims.x12 import segment, x12_amount, x12_text
from ccm.models import User
from patients.models import Patient
from tests.billing.claims.conftest import ClaimsMonth
from tests.billing.claims.x12_validation import pyx12_problems


@pytest.mark.parametrize(
    ("value", "length", "expected"),
    [
        ("José  Peña", 60, "JOSE PENA"),
        ("a*b~c:d^e", 60, "A B C D E"),
        ("tab\tand\nnewline", 60, "TAB AND NEWLINE"),
        ("Smith-Jones, Jr.", 60, "SMITH-JONES, JR."),
        ("long name here", 9, "LONG NAME"),
        (None, 10, ""),
    ],
)
def test_x12_text(value: str | None, length: int, expected: str) -> None:
    assert x12_text(value, length) == expected


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("66.30", "66.3"),
        ("144.00", "144"),
        ("50.56", "50.56"),
        ("0.00", "0"),
        ("1000.10", "1000.1"),
    ],
)
def test_x12_amount(amount: str, expected: str) -> None:
    assert x12_amount(Decimal(amount)) == expected


def test_segment_drops_trailing_empty_elements() -> None:
    assert segment("SBR", "P", "18", "", "", "") == "SBR*P*18"
    assert segment("NM1", "85", "2", "X", "", "", "", "", "XX", "1") == "NM1*85*2*X*****XX*1"


@pytest.mark.django_db
def test_names_with_delimiters_and_accents_still_validate(
    claims_month: ClaimsMonth,
    billing_user: User,
    api_client_for: Callable[[User | None], APIClient],
) -> None:
    Patient.objects.filter(pk=claims_month.scenario.complex.pk).update(
        last_name="Peña*O'Brien~", first_name="Zoë:Ann^", address_line="12 Main St. Apt #4"
    )
    response = api_client_for(billing_user).get(
        "/api/worklist/export/837p/", {"month": claims_month.month_text}
    )
    text = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    assert "NM1*IL*1*PENA O'BRIEN*ZOE ANN****MI*" in text
    assert pyx12_problems(text) == []
