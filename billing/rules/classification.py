"""Which ICD-10-CM codes are chronic (billing-rules.md s. 2 and 4, CONDITION_NOT_CHRONIC).

The classification is AHRQ's HCUP Chronic Condition Indicator (CCI) for ICD-10-CM, release
2019.1, shipped with the engine as data (billing/rules/data/, built from AHRQ's CSV by
scripts/build_cci_data.py; its README says where it comes from). A code the table lists
takes its own indicator; a code newer than the table takes the indicator of its nearest
listed parent (N18.31, created in 2020, takes N18.3's); a code with no listed parent
(a category such as E11, or a code the table does not know) is `None`: it counts only when
the practitioner attests it chronic. Codes are compared without their dot.

The data file holds fixed-width records sorted by code, read once, on the first lookup,
and binary-searched in place (no object per code); answers are remembered per code, so a
month close that meets the same few hundred codes a million times searches each once.
"""

from __future__ import annotations

import lzma
from pathlib import Path
from typing import Final

from billing.rules.loader import PACKAGE_DIR

CCI_NAME: Final = "AHRQ HCUP Chronic Condition Indicator (CCI) for ICD-10-CM"
CCI_VERSION: Final = "2019.1"
#: What the audit packet quotes for "why each condition counts" (like Rulebook.source).
CHRONIC_CONDITIONS_SOURCE: Final = (
    f"{CCI_NAME}, release {CCI_VERSION} (ICD-10-CM codes of fiscal year 2019; Healthcare "
    "Cost and Utilization Project, Agency for Healthcare Research and Quality); a code "
    "newer than the release takes the indicator of its nearest listed parent; a "
    "practitioner's attestation that a condition is expected to last 12 months or until "
    "death counts it chronic whatever the classification says."
)

#: Next to the sources (a compiled module's own file is elsewhere: billing/rules/loader.py).
DATA_PATH: Final = PACKAGE_DIR / "data" / "cci-icd10cm-2019.1.txt.xz"
_CODE_WIDTH: Final = 7
_RECORD: Final = _CODE_WIDTH + 2  # code padded to 7, the indicator, a newline
_MEMO_LIMIT: Final = 20_000  # distinct codes remembered (facts may carry any code)


class ChronicConditionIndicator:
    """The CCI table: sorted fixed-width records in one bytes object."""

    def __init__(self, text: bytes) -> None:
        header_end = text.index(b"\n") + 1
        if not text.startswith(b"#") or (len(text) - header_end) % _RECORD:
            raise ValueError("not a chronic condition indicator table")
        self._records = text[header_end:]
        self._count = len(self._records) // _RECORD
        self._memo: dict[str, tuple[str, bool] | None] = {}

    @classmethod
    def load(cls, path: Path = DATA_PATH) -> ChronicConditionIndicator:
        return cls(lzma.decompress(path.read_bytes()))

    def __len__(self) -> int:
        return self._count

    def listed(self, code: str) -> bool | None:
        """The indicator of exactly `code` (without its dot), or None when not listed."""
        wanted = code.ljust(_CODE_WIDTH).encode("ascii", "replace")
        records = self._records
        low, high = 0, self._count
        while low < high:
            middle = (low + high) // 2
            start = middle * _RECORD
            found = records[start : start + _CODE_WIDTH]
            if found < wanted:
                low = middle + 1
            elif found > wanted:
                high = middle
            else:
                return records[start + _CODE_WIDTH] == ord("1")
        return None

    def lookup(self, icd10: str) -> tuple[str, bool] | None:
        """(the listed code, its indicator) for the code or its nearest listed parent,
        without dots; None when neither the code nor any parent down to its category is
        listed."""
        memo = self._memo
        if icd10 in memo:
            return memo[icd10]
        code = icd10.replace(".", "").upper()
        answer: tuple[str, bool] | None = None
        for length in range(len(code), 2, -1):
            indicator = self.listed(code[:length])
            if indicator is not None:
                answer = (code[:length], indicator)
                break
        if len(memo) >= _MEMO_LIMIT:
            memo.clear()
        memo[icd10] = answer
        return answer

    def chronic(self, icd10: str) -> bool | None:
        """True (chronic) or False (not), by the code's own indicator or its nearest listed
        parent's; None when it has no listed parent."""
        found = self.lookup(icd10)
        return None if found is None else found[1]


_table: ChronicConditionIndicator | None = None


def indicator_table() -> ChronicConditionIndicator:
    """The shipped table, read on first use (a race only reads it twice)."""
    global _table
    if _table is None:
        _table = ChronicConditionIndicator.load()
    return _table


def chronic_indicator(icd10: str) -> bool | None:
    """Whether the classification marks `icd10` chronic (see the module docstring)."""
    return indicator_table().chronic(icd10)


def listed_as(icd10: str) -> tuple[str, bool] | None:
    """The listed code `icd10` takes its indicator from (itself or its nearest listed
    parent, without dots) and the indicator; None when it has no listed parent."""
    return indicator_table().lookup(icd10)
