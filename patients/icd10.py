"""ICD-10-CM codes checked against the real code set.

Billing rule ELIGIBILITY_CONDITIONS counts chronic conditions by their ICD-10-CM codes and
the claim lists them as diagnoses, so a condition must carry a code a claim can hold: a
billable code (a leaf of the classification), never a category such as E11 or N18.3.

The code set is simple_icd_10_cm's, kept as a compact table (patients/data/icd10cm.tsv.xz,
written from simple_icd_10_cm by scripts/build_icd10cm_data.py): importing
simple_icd_10_cm builds the whole classification as Python objects, about 190 MB in every
process that imports it, web workers included. The table is read on the first lookup and
costs about 10 MB: the decompressed text, searched by binary search, never split into
objects.
"""

from __future__ import annotations

import lzma
import re
import threading
from array import array
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError

SUGGESTIONS_SHOWN = 6
TABLE_PATH = Path(__file__).resolve().parent / "data" / "icd10cm.tsv.xz"
UNESCAPES = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}


@dataclass(frozen=True)
class Icd10Code:
    code: str
    description: str


@dataclass(frozen=True)
class Icd10Entry:
    """One item of the code set: a chapter or block (not a code a condition can carry),
    or a code with its description and its children (none for a billable leaf)."""

    code: str
    chapter_or_block: bool
    children: tuple[str, ...]
    description: str


class Icd10Table:
    """The code set's lines (sorted by code) in one bytes object, with each line's start."""

    def __init__(self, text: bytes) -> None:
        self.text = text
        self.starts = array("I")
        position = text.index(b"\n") + 1  # past the header line
        while position < len(text):
            self.starts.append(position)
            position = text.index(b"\n", position) + 1

    @classmethod
    def load(cls, path: Path = TABLE_PATH) -> Icd10Table:
        return cls(lzma.decompress(path.read_bytes()))

    def get(self, code: str) -> Icd10Entry | None:
        """The item named exactly `code` (dotted as in the code set), or None."""
        if not code.isascii():
            return None
        wanted, text, starts = code.encode(), self.text, self.starts
        low, high = 0, len(starts)
        while low < high:
            middle = (low + high) // 2
            start = starts[middle]
            found = text[start : text.index(b"\t", start)]
            if found < wanted:
                low = middle + 1
            elif found > wanted:
                high = middle
            else:
                line = text[start : text.index(b"\n", start)].decode("utf-8")
                _, kind, children, description = line.split("\t", 3)
                return Icd10Entry(
                    code=code,
                    chapter_or_block=kind == "x",
                    children=tuple(children.split(",")) if children else (),
                    description=re.sub(r"\\(.)", lambda m: UNESCAPES[m[1]], description),
                )
        return None

    def find(self, code: str) -> Icd10Entry | None:
        """The item `code` names, with or without the dot after its category (E119 or
        E11.9), as simple_icd_10_cm reads a code; None when it names nothing."""
        if len(code) >= 4 and code[3] != ".":
            dotted = self.get(f"{code[:3]}.{code[3:]}")
            if dotted is not None:
                return dotted
        return self.get(code)


_table: Icd10Table | None = None
_table_lock = threading.Lock()


def icd10_table() -> Icd10Table:
    """The code set, read on first use (most processes never validate a code)."""
    global _table
    if _table is None:
        with _table_lock:
            if _table is None:
                _table = Icd10Table.load()
    return _table


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
    entry = icd10_table().find(code) if code else None
    if entry is None or entry.chapter_or_block:
        raise ValidationError(
            f"{value.strip() or '(blank)'} is not an ICD-10-CM code.", code="icd10_unknown"
        )
    dotted, description = entry.code, entry.description
    if entry.children:
        children = entry.children
        shown = ", ".join(children[:SUGGESTIONS_SHOWN])
        more = " and others" if len(children) > SUGGESTIONS_SHOWN else ""
        raise ValidationError(
            f"{dotted} ({description}) is a category, not a billable code: use a more "
            f"specific code, e.g. {shown}{more}.",
            code="icd10_category",
        )
    return Icd10Code(code=dotted, description=description)


def icd10_description(code: str) -> str:
    """The code set's description of a stored code, '' when the code set does not know
    it: for conditions recorded without one (imports, older rows), shown, not stored."""
    entry = icd10_table().find(icd10_normalise(code)) if code else None
    return entry.description if entry is not None and not entry.chapter_or_block else ""
