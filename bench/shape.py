"""The shape of the bench's load, shared by the database load (bench/loadgen.py,
`generate_load`) and the in-memory months of bench/engine.py, so the two measure the same
kind of month. No Django here: bench/engine.py runs without it."""

from __future__ import annotations

#: Chronic conditions, one per ICD-10 category (the engine counts categories).
CHRONIC_CODES: tuple[str, ...] = (
    "E11.9", "I10", "I50.22", "J44.9", "N18.3", "E78.5", "I25.10", "F32.9", "M17.0",
    "G47.33", "E03.9", "I48.91", "K21.9", "M81.0", "J45.909", "F41.1", "G30.9", "E66.9",
    "D63.1", "I73.9", "M06.9", "G20", "K74.60", "N40.0", "C61",
)  # fmt: skip
NOTES: tuple[str, ...] = (
    "Reviewed medications and adherence by phone.",
    "Called patient about recent lab results.",
    "Coordinated refill with the pharmacy.",
    "Updated the care plan goals with the patient.",
    "Education on low-sodium diet and daily weights.",
    "Referral to cardiology sent and confirmed.",
    "Arranged transportation for the next appointment.",
    "Reviewed home blood pressure log.",
    "Followed up on a missed specialist appointment.",
    "Connected caregiver with community resources.",
)
#: (program, share of activities) for programs other than CCM (timelog.models.Program's
#: values).
OTHER_PROGRAMS: tuple[tuple[str, float], ...] = (
    ("rpm", 0.02),
    ("tcm", 0.01),
    ("bhi", 0.01),
    ("pcm", 0.01),
    ("g0506", 0.01),
)

SHARED_FRACTION = 0.05
HEAVY_FRACTION = 0.01
HEAVY_WEIGHT = 5.0
ONE_CONDITION_FRACTION = 0.02
NO_CONSENT_FRACTION = 0.02
MDM_FRACTION = 0.06
STAY_FRACTION = 0.01
HOSPICE_FRACTION = 0.003
RPM_SERVICE_FRACTION = 0.02
UNTIMED_FRACTION = 0.10
#: Timed entries start within these seconds after midnight.
DAY_START = 7 * 3600
DAY_END = 23 * 3600
