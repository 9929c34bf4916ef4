"""What text the product stores (issue 15: a 100,000-character note was stored, and a NUL
byte in a search answered 500).

Lengths: the API's serializers and the pages' forms declare them (so the OpenAPI document
shows them), and the services check the texts that can reach them another way.
Storable: PostgreSQL text holds no NUL character, and UTF-8 has no lone surrogate (JSON's
"\\ud800" parses to one); both are refused with a 400 naming the field (ccm.parsers for
JSON bodies, ccm.middleware.InputGuardMiddleware for query strings and forms), except in
a search, where they are dropped.
"""

from __future__ import annotations

#: A time entry's note and outcome, an MDM attestation's note.
NOTE_MAX_LENGTH = 4000
#: Why a month is reopened, a consent revoked, a claim denied.
REASON_MAX_LENGTH = 2000
#: Each section of a care plan (problems, goals, interventions...).
CARE_PLAN_TEXT_MAX_LENGTH = 10000
#: Names, codes and other one-line inputs that no model field bounds already.
LINE_MAX_LENGTH = 255

UNSTORABLE = "NUL characters and unpaired surrogates cannot be stored: remove them."


def is_storable(text: str) -> bool:
    """Whether PostgreSQL can store `text`: no NUL, and valid UTF-8 (no lone surrogate)."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def storable_or_stripped(text: str) -> str:
    """`text` without what PostgreSQL cannot store (a search's words)."""
    if is_storable(text):
        return text
    text = text.replace("\x00", "")
    return text.encode("utf-8", "ignore").decode("utf-8")


def text_problem(text: str, max_length: int) -> str | None:
    """Why `text` cannot be stored in a field of `max_length` characters, or None."""
    if len(text) > max_length:
        return f"Ensure this field has no more than {max_length} characters ({len(text)} given)."
    if not is_storable(text):
        return UNSTORABLE
    return None
