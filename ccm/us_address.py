"""US postal addresses as claims carry them (837P N3/N4, FHIR Address): a two-letter
state or territory code and a ZIP code of 5 or 9 digits, stored as digits only."""

from __future__ import annotations

from django.core.exceptions import ValidationError

#: USPS codes of the states, DC and the territories Medicare serves.
STATES = frozenset(
    {
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "DC",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
        "AS",
        "GU",
        "MP",
        "PR",
        "VI",
    }
)


def normalise_zip(value: str) -> str:
    """'12345-6789' -> '123456789'; anything else only stripped."""
    text = value.strip()
    return text.replace("-", "") if len(text) == 10 and text[5] == "-" else text


def validate_zip(value: str) -> None:
    if not (value.isdigit() and len(value) in (5, 9)):
        raise ValidationError("A ZIP code has 5 or 9 digits (12345 or 12345-6789).", code="zip")


def validate_zip_plus_four(value: str) -> None:
    """The 837P's billing provider address needs the full ZIP+4 (005010X222A1, 2010AA)."""
    if not (value.isdigit() and len(value) == 9):
        raise ValidationError(
            "The billing provider's ZIP code needs all 9 digits (ZIP+4, e.g. 12345-6789): "
            "837P claims require it.",
            code="zip_plus_four",
        )


def validate_state(value: str) -> None:
    if value not in STATES:
        raise ValidationError(f"{value!r} is not a US state code (two letters: NY, CA...).")


def zip_text(value: str) -> str:
    """A stored ZIP as people write it: 12345 or 12345-6789."""
    return f"{value[:5]}-{value[5:]}" if len(value) == 9 else value
