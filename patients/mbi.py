"""Medicare Beneficiary Identifier check: CMS's published format (11 characters, each
position of a given type), so a claim never goes out with a number Medicare rejects.

Positions (CMS, "Understanding the Medicare Beneficiary Identifier format"):
1 numeric 1-9; 2, 5, 8 and 9 alphabetic; 3 and 6 alphanumeric; 4, 7, 10 and 11 numeric 0-9.
Letters are upper case A-Z without S, L, O, I, B and Z (they read like digits). Dashes
are printed on the card for reading (1EG4-TE5-MK73) and are not part of the number.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

LETTERS = frozenset("ACDEFGHJKMNPQRTUVWXY")
DIGITS = frozenset("0123456789")
#: What each of the 11 positions may hold.
POSITIONS: tuple[tuple[str, frozenset[str]], ...] = (
    ("a digit 1-9", DIGITS - {"0"}),
    ("a letter", LETTERS),
    ("a letter or a digit", LETTERS | DIGITS),
    ("a digit", DIGITS),
    ("a letter", LETTERS),
    ("a letter or a digit", LETTERS | DIGITS),
    ("a digit", DIGITS),
    ("a letter", LETTERS),
    ("a letter", LETTERS),
    ("a digit", DIGITS),
    ("a digit", DIGITS),
)


def normalise_mbi(value: str) -> str:
    """The MBI as stored: upper case, without the dashes and spaces of the printed card."""
    return "".join(value.split()).replace("-", "").upper()


def mbi_problem(value: str) -> str | None:
    """Why `value` (normalised) is not an MBI, or None when it is one."""
    if len(value) != len(POSITIONS):
        return f"An MBI has 11 characters; this one has {len(value)}."
    for position, (char, (kind, allowed)) in enumerate(zip(value, POSITIONS, strict=True), 1):
        if char not in allowed:
            if char in "SLOIBZ":
                return f"Position {position} is {char!r}: MBIs never use S, L, O, I, B or Z."
            return f"Position {position} of an MBI must be {kind}, not {char!r}."
    return None


def validate_mbi(value: str) -> None:
    """Django validator: raises ValidationError naming the first wrong position."""
    problem = mbi_problem(normalise_mbi(value))
    if problem:
        raise ValidationError(problem, code="mbi_format")
