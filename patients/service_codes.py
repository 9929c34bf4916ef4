"""The HCPCS/CPT codes a service billed elsewhere may carry: the codes the billing engine
reads (billing-rules.md section 4: EXCLUSIVE_SERVICE, DUPLICATE_CCM, OVERLAPPING_SERVICE)
and the services billing-rules.md names as compatible with CCM. Any other code would be
stored and never read (issue 15: `';DROP--` was stored as a code), so it is refused.

Data, like the engine's rulebooks (billing/rules/rulebooks.py: EXCLUSIVE_ANY, PCM_CODES,
APCM_CODES, the CCM codes), which live above this app; tests/patients/test_service_codes.py
holds the two lists together.
"""

from __future__ import annotations

from typing import Final


def _codes(first: int, last: int, prefix: str = "") -> frozenset[str]:
    return frozenset(f"{prefix}{n}" for n in range(first, last + 1))


#: Codes that exclude or duplicate CCM in the month (the engine decides which and by whom).
CCM: Final = frozenset({"99490", "99439", "99487", "99489", "99491", "99437"})
PCM: Final = _codes(99424, 99427)
APCM: Final = _codes(556, 558, prefix="G0")
SUPERVISION: Final = frozenset({"G0181", "G0182"})  # home health, hospice
ESRD: Final = _codes(90951, 90970)
#: Compatible with CCM as long as no minute counts for both (billing-rules.md).
TCM: Final = frozenset({"99495", "99496"})
RPM: Final = frozenset({"99457", "99458"})
BHI: Final = frozenset({"99484"})
COCM: Final = _codes(99492, 99494)
CARE_PLANNING: Final = frozenset({"G0506"})

KNOWN_OTHER_SERVICE_CODES: Final = (
    CCM | PCM | APCM | SUPERVISION | ESRD | TCM | RPM | BHI | COCM | CARE_PLANNING
)


def unknown_code_message(code: str) -> str:
    return (
        f"{code!r} is not a code this product reads: CCM 99490/99439/99487/99489/99491/99437, "
        "PCM 99424-99427, APCM G0556-G0558, G0181, G0182, ESRD 90951-90970, TCM 99495/99496, "
        "RPM 99457/99458, BHI 99484, CoCM 99492-99494 or G0506."
    )
