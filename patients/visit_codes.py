"""The visit codes a practice records (one list, as data): office and outpatient E/M, the
preventive visits that can initiate CCM, and the other face-to-face and telehealth visits
of a primary care practice. A visit with any other code is refused (400 naming `code`).

Whether a visit satisfies the 12-month rule is the engine's decision, by its rulebook's
`initiating_visit_codes` (billing-rules.md section 4: E/M 99202-99205 and 99212-99215,
AWV G0438/G0439, IPPE G0402); the other codes here are recorded, not qualifying.

Sources: CPT 2025 E/M (office/outpatient 99202-99215; home or residence 99341-99350 as
revised in 2023, when 99343 was deleted and 99346 does not exist; nursing facility
99304-99310; transitional care 99495/99496; telemedicine 98000-98015, new in 2025) and
HCPCS G0402, G0438, G0439. Medicare pays most telehealth visits under the office codes
with modifier 95, so 98000-98015 are there for the practices' other payers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

OFFICE = "Office or outpatient E/M"
PREVENTIVE = "Preventive visit"
TRANSITIONAL = "Transitional care management"
HOME = "Home or residence E/M"
NURSING_FACILITY = "Nursing facility E/M"
TELEMEDICINE = "Telemedicine E/M"


@dataclass(frozen=True)
class VisitCode:
    code: str
    description: str
    group: str


def _codes(group: str, described: dict[str, str]) -> list[VisitCode]:
    return [VisitCode(code, description, group) for code, description in described.items()]


VISIT_CODES: Final[Mapping[str, VisitCode]] = MappingProxyType(
    {
        visit.code: visit
        for visit in (
            *_codes(
                OFFICE,
                {
                    "99202": "New patient office visit, straightforward",
                    "99203": "New patient office visit, low",
                    "99204": "New patient office visit, moderate",
                    "99205": "New patient office visit, high",
                    "99211": "Established patient visit, minimal (clinical staff)",
                    "99212": "Established patient visit, straightforward",
                    "99213": "Established patient visit, low",
                    "99214": "Established patient visit, moderate",
                    "99215": "Established patient visit, high",
                },
            ),
            *_codes(
                PREVENTIVE,
                {
                    "G0402": "Initial Preventive Physical Examination (IPPE)",
                    "G0438": "Annual Wellness Visit, initial",
                    "G0439": "Annual Wellness Visit, subsequent",
                },
            ),
            *_codes(
                TRANSITIONAL,
                {
                    "99495": "Transitional care, moderate complexity (visit within 14 days)",
                    "99496": "Transitional care, high complexity (visit within 7 days)",
                },
            ),
            *_codes(
                HOME,
                {
                    "99341": "New patient home visit, straightforward",
                    "99342": "New patient home visit, low",
                    "99344": "New patient home visit, moderate",
                    "99345": "New patient home visit, high",
                    "99347": "Established patient home visit, straightforward",
                    "99348": "Established patient home visit, low",
                    "99349": "Established patient home visit, moderate",
                    "99350": "Established patient home visit, high",
                },
            ),
            *_codes(
                NURSING_FACILITY,
                {
                    "99304": "Initial nursing facility care, straightforward or low",
                    "99305": "Initial nursing facility care, moderate",
                    "99306": "Initial nursing facility care, high",
                    "99307": "Subsequent nursing facility care, straightforward",
                    "99308": "Subsequent nursing facility care, low",
                    "99309": "Subsequent nursing facility care, moderate",
                    "99310": "Subsequent nursing facility care, high",
                },
            ),
            *_codes(
                TELEMEDICINE,
                {
                    "98000": "New patient audio-video visit, straightforward",
                    "98001": "New patient audio-video visit, low",
                    "98002": "New patient audio-video visit, moderate",
                    "98003": "New patient audio-video visit, high",
                    "98004": "Established patient audio-video visit, straightforward",
                    "98005": "Established patient audio-video visit, low",
                    "98006": "Established patient audio-video visit, moderate",
                    "98007": "Established patient audio-video visit, high",
                    "98008": "New patient audio-only visit, straightforward",
                    "98009": "New patient audio-only visit, low",
                    "98010": "New patient audio-only visit, moderate",
                    "98011": "New patient audio-only visit, high",
                    "98012": "Established patient audio-only visit, straightforward",
                    "98013": "Established patient audio-only visit, low",
                    "98014": "Established patient audio-only visit, moderate",
                    "98015": "Established patient audio-only visit, high",
                },
            ),
        )
    }
)


def normalise_visit_code(code: str) -> str:
    """A code as typed ("g 0438", "99214 ") as it is stored: no spaces, upper case."""
    return "".join(code.split()).upper()
