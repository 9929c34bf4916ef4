"""Which time counts (billing-rules.md s. 4, "Which time counts").

Each entry is credited floor(seconds / shared_with) seconds. An entry is excluded by the
first of these rules that applies, in this order: outside the month, another program,
outside the consent, non-clinical performer, during an inpatient stay. What remains is
cleared of overlaps (one staff member cannot log the same second twice), then summed
separately for clinical staff (c) and practitioners (p).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from billing.rules import findings as rules
from billing.rules.facts import CCM_PROGRAM, NON_CLINICAL, PRACTITIONER, Facts, TimeEntry
from billing.rules.findings import Finding, duration_text, finding


@dataclass(frozen=True)
class CountedEntry:
    """An entry that counts, with the seconds it counts for this patient after overlaps."""

    entry: TimeEntry
    seconds: int


@dataclass(frozen=True)
class TimeCount:
    counted: tuple[CountedEntry, ...]  # chronological
    clinical_staff: int
    practitioner: int
    excluded: int
    findings: tuple[Finding, ...]

    @property
    def entry_ids(self) -> tuple[str, ...]:
        return tuple(item.entry.id for item in self.counted)


def chronological(entry: TimeEntry) -> tuple[object, ...]:
    """A total order on entries (ids are unique), so the decision never depends on input order."""
    return (entry.date, entry.start if entry.start is not None else -1, entry.id)


def _ids(entries: Iterable[TimeEntry]) -> list[str]:
    return [entry.id for entry in entries]


def _credited(entries: Iterable[TimeEntry]) -> int:
    return sum(entry.credited_seconds for entry in entries)


def _amount(entries: Iterable[TimeEntry]) -> str:
    return duration_text(_credited(entries))


def outside_month(entry: TimeEntry, facts: Facts) -> bool:
    """ENTRY_OUTSIDE_MONTH: time dated outside the month belongs to another month's claim."""
    return not facts.month.contains(entry.date)


def excluded_program(entry: TimeEntry, facts: Facts) -> bool:
    """ENTRY_EXCLUDED_PROGRAM: a minute counts for one program only; G0506 time never for CCM."""
    return entry.program != CCM_PROGRAM


def outside_consent(entry: TimeEntry, facts: Facts) -> bool:
    """ENTRY_OUTSIDE_CONSENT: only time inside a consent window of the billing practitioner."""
    return not any(
        consent.covers(entry.date)
        for consent in facts.patient.consents
        if consent.billing_practitioner == facts.billing_practitioner
    )


def non_clinical(entry: TimeEntry, facts: Facts) -> bool:
    """ENTRY_NON_CLINICAL: front-desk and billing staff time is not care management."""
    return entry.performer == NON_CLINICAL


def during_inpatient_stay(entry: TimeEntry, facts: Facts) -> bool:
    """ENTRY_DURING_INPATIENT_STAY: time during a hospital or SNF stay (both days included)."""
    return any(stay.covers(entry.date) for stay in facts.inpatient_stays)


def _explain_outside_month(entries: Sequence[TimeEntry], facts: Facts) -> list[Finding]:
    return [
        finding(
            rules.ENTRY_OUTSIDE_MONTH,
            f"{_amount(entries)} logged on dates outside {facts.month.name} were ignored: "
            "they belong to another month.",
            _ids(entries),
        )
    ]


def _explain_program(entries: Sequence[TimeEntry], facts: Facts) -> list[Finding]:
    """One finding per program, so each message names the program it is about."""
    by_program: dict[str, list[TimeEntry]] = defaultdict(list)
    for entry in entries:
        by_program[entry.program].append(entry)
    out: list[Finding] = []
    for program in sorted(by_program):
        group = by_program[program]
        if program == "g0506":
            reason = "G0506 care-planning time is billed on its own and never counts toward CCM."
            logged = "logged as G0506 care planning"
        else:
            reason = "the same minute is never counted for two programs."
            logged = f"logged under {program.upper()}"
        message = f"{_amount(group)} {logged} do not count toward CCM: {reason}"
        out.append(finding(rules.ENTRY_EXCLUDED_PROGRAM, message, _ids(group)))
    return out


def _explain_outside_consent(entries: Sequence[TimeEntry], facts: Facts) -> list[Finding]:
    return [
        finding(
            rules.ENTRY_OUTSIDE_CONSENT,
            f"{_amount(entries)} logged outside the patient's CCM consent for "
            f"{facts.billing_practitioner} were ignored: only time on or after the consent "
            "date (and before any revocation) counts.",
            _ids(entries),
        )
    ]


def _explain_non_clinical(entries: Sequence[TimeEntry], facts: Facts) -> list[Finding]:
    return [
        finding(
            rules.ENTRY_NON_CLINICAL,
            f"{_amount(entries)} logged by non-clinical staff (front desk, billing) were "
            "ignored: only clinical staff and practitioner time counts toward CCM.",
            _ids(entries),
        )
    ]


def _explain_inpatient_stay(entries: Sequence[TimeEntry], facts: Facts) -> list[Finding]:
    stays = "; ".join(
        f"{stay.start.isoformat()} to {stay.end.isoformat()}"
        for stay in sorted(set(facts.inpatient_stays), key=lambda stay: stay.start)
        if any(stay.covers(entry.date) for entry in entries)
    )
    return [
        finding(
            rules.ENTRY_DURING_INPATIENT_STAY,
            f"{_amount(entries)} logged during an inpatient or skilled nursing stay ({stays}) "
            "were ignored: the facility's services cover that time.",
            _ids(entries),
        )
    ]


@dataclass(frozen=True)
class Exclusion:
    rule: str
    applies: Callable[[TimeEntry, Facts], bool]
    explain: Callable[[Sequence[TimeEntry], Facts], list[Finding]]


#: In the order of billing-rules.md: an entry is excluded by the first rule that applies.
EXCLUSIONS: tuple[Exclusion, ...] = (
    Exclusion(rules.ENTRY_OUTSIDE_MONTH, outside_month, _explain_outside_month),
    Exclusion(rules.ENTRY_EXCLUDED_PROGRAM, excluded_program, _explain_program),
    Exclusion(rules.ENTRY_OUTSIDE_CONSENT, outside_consent, _explain_outside_consent),
    Exclusion(rules.ENTRY_NON_CLINICAL, non_clinical, _explain_non_clinical),
    Exclusion(rules.ENTRY_DURING_INPATIENT_STAY, during_inpatient_stay, _explain_inpatient_stay),
)


def _exclusion(entry: TimeEntry, facts: Facts) -> Exclusion | None:
    return next((rule for rule in EXCLUSIONS if rule.applies(entry, facts)), None)


def _interval(entry: TimeEntry) -> tuple[int, int]:
    """[start, start + duration) in seconds after midnight, on the full (unshared) duration."""
    start = entry.start or 0
    return start, start + entry.seconds


def _clusters(entries: Sequence[TimeEntry]) -> list[list[TimeEntry]]:
    """Groups of entries whose [start, end) intervals overlap, directly or through each other."""
    clusters: list[list[TimeEntry]] = []
    reach = -1
    for entry in sorted(entries, key=chronological):
        start, end = _interval(entry)
        if clusters and start < reach:
            clusters[-1].append(entry)
            reach = max(reach, end)
        else:
            clusters.append([entry])
            reach = end
    return [cluster for cluster in clusters if len(cluster) > 1]


def _owner_key(entry: TimeEntry) -> tuple[object, ...]:
    # The overlapping seconds go to the entry that credits the patient least (the one
    # shared by the most patients), then to the earliest: never more than was logged once.
    return (-entry.shared_with, *chronological(entry))


def _kept_seconds(cluster: Sequence[TimeEntry]) -> dict[str, int]:
    """Seconds of each entry's full interval that count once the union is taken."""
    intervals = {entry.id: _interval(entry) for entry in cluster}
    points = sorted({point for interval in intervals.values() for point in interval})
    kept = {entry.id: 0 for entry in cluster}
    for begin, end in itertools.pairwise(points):
        covering = [e for e in cluster if intervals[e.id][0] <= begin and end <= intervals[e.id][1]]
        if covering:
            kept[min(covering, key=_owner_key).id] += end - begin
    return kept


def remove_overlaps(
    entries: Sequence[TimeEntry],
) -> tuple[dict[str, int], list[Finding]]:
    """ENTRY_OVERLAP: entries of one staff_id on one date whose intervals overlap count once.

    The union is taken on the full intervals; each entry keeps the part of its interval no
    other entry claimed and is credited floor(kept / shared_with), like any shared entry.
    Returns the counted seconds of every entry and the findings.
    """
    counted = {entry.id: entry.credited_seconds for entry in entries}
    groups: dict[tuple[str, object], list[TimeEntry]] = defaultdict(list)
    for entry in entries:
        if entry.staff_id is not None and entry.start is not None:
            groups[(entry.staff_id, entry.date)].append(entry)
    found: list[Finding] = []
    for (staff_id, _), group in sorted(groups.items(), key=lambda item: chronological(item[1][0])):
        for cluster in _clusters(group):
            kept = _kept_seconds(cluster)
            for entry in cluster:
                counted[entry.id] = kept[entry.id] // entry.shared_with
            lost = sum(e.credited_seconds - counted[e.id] for e in cluster)
            ids = _ids(cluster)
            found.append(
                finding(
                    rules.ENTRY_OVERLAP,
                    f"Entries {', '.join(ids)} by {staff_id} on {cluster[0].date.isoformat()} "
                    f"overlap in time: the overlapping time counts once ({duration_text(lost)} "
                    "not counted). Log one activity once, shared between its patients.",
                    ids,
                )
            )
    return counted, found


def count_time(facts: Facts) -> TimeCount:
    """Apply the time rules to every entry and sum what counts (c and p separately)."""
    excluded: dict[Exclusion, list[TimeEntry]] = {rule: [] for rule in EXCLUSIONS}
    remaining: list[TimeEntry] = []
    for entry in sorted(facts.time_entries, key=chronological):
        rule = _exclusion(entry, facts)
        if rule is None:
            remaining.append(entry)
        else:
            excluded[rule].append(entry)
    exclusion_findings = [
        found
        for rule, entries in excluded.items()
        if entries
        for found in rule.explain(entries, facts)
    ]
    counted, overlap_findings = remove_overlaps(remaining)
    kept = tuple(
        CountedEntry(entry, counted[entry.id]) for entry in remaining if counted[entry.id] > 0
    )
    practitioner = sum(item.seconds for item in kept if item.entry.performer == PRACTITIONER)
    clinical_staff = sum(item.seconds for item in kept) - practitioner
    return TimeCount(
        counted=kept,
        clinical_staff=clinical_staff,
        practitioner=practitioner,
        excluded=_credited(facts.time_entries) - clinical_staff - practitioner,
        findings=(*exclusion_findings, *overlap_findings),
    )
