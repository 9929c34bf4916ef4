"""ICD-10-CM codes checked against the real code set (simple_icd_10_cm).

Billing rule ELIGIBILITY_CONDITIONS counts chronic conditions by their ICD-10-CM codes and
the claim lists them as diagnoses, so a condition must carry a code a claim can hold: a
billable code (a leaf of the classification), never a category such as E11 or N18.3.
"""

from __future__ import annotations

from dataclasses import dataclass

import simple_icd_10_cm as icd
from django.core.exceptions import ValidationError

SUGGESTIONS_SHOWN = 6


@dataclass(frozen=True)
class Icd10Code:
    code: str
    description: str


def icd10_normalise(value: str) -> str:
    """'e119 ' → 'E119': strip spaces and upper-case (dots are added by icd10_lookup)."""
    return "".join(value.split()).upper()


def icd10_lookup(value: str) -> Icd10Code:
    """The billable ICD-10-CM code `value` names, dotted (E119 → E11.9), with the code
    set's description.

    Raises ValidationError when `value` is not an ICD-10-CM code (chapters and blocks such
    as E08-E13 are not codes), or when it is a category or subcategory that a claim cannot
    carry; the message then suggests the more specific codes beneath it."""
    code = icd10_normalise(value)
    if not code or not icd.is_valid_item(code) or icd.is_chapter_or_block(code):
        raise ValidationError(
            f"{value.strip() or '(blank)'} is not an ICD-10-CM code.", code="icd10_unknown"
        )
    dotted = icd.add_dot(code)
    description = icd.get_description(dotted)
    if not icd.is_leaf(dotted):
        children = icd.get_children(dotted)
        shown = ", ".join(children[:SUGGESTIONS_SHOWN])
        more = " and others" if len(children) > SUGGESTIONS_SHOWN else ""
        raise ValidationError(
            f"{dotted} ({description}) is a category, not a billable code: use a more "
            f"specific code, e.g. {shown}{more}.",
            code="icd10_category",
        )
    return Icd10Code(code=dotted, description=description)
