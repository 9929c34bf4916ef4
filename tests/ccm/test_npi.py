from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from ccm.npi import is_valid_npi, validate_npi


@pytest.mark.parametrize("npi", ["1234567893", "1245319599", "1003000126"])
def test_valid_npis_pass_the_luhn_check(npi: str) -> None:
    assert is_valid_npi(npi)
    validate_npi(npi)


@pytest.mark.parametrize(
    ("npi", "code"),
    [
        ("1234567890", "npi_check_digit"),
        ("123456789", "npi_format"),
        ("12345678930", "npi_format"),
        ("12345a7893", "npi_format"),
    ],
)
def test_invalid_npis_are_rejected_with_the_reason(npi: str, code: str) -> None:
    assert not is_valid_npi(npi)
    with pytest.raises(ValidationError) as error:
        validate_npi(npi)
    assert error.value.code == code
