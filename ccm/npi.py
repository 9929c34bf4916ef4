"""National Provider Identifier check: 10 digits whose last is a Luhn check digit
computed over the prefix 80840 and the first nine digits (CMS NPI standard)."""

from __future__ import annotations

from django.core.exceptions import ValidationError

_NPI_PREFIX = "80840"


def luhn_checksum_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def is_valid_npi(value: str) -> bool:
    return len(value) == 10 and value.isdigit() and luhn_checksum_ok(_NPI_PREFIX + value)


def validate_npi(value: str) -> None:
    """Django validator: raises ValidationError unless `value` is a well-formed NPI."""
    if not (len(value) == 10 and value.isdigit()):
        raise ValidationError("An NPI is exactly 10 digits.", code="npi_format")
    if not luhn_checksum_ok(_NPI_PREFIX + value):
        raise ValidationError("This NPI's check digit is wrong.", code="npi_check_digit")
