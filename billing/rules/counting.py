"""Which time counts (billing-rules.md s. 4, "Which time counts").

Each entry is credited floor(seconds / shared_with) seconds. An entry is excluded by the
first of these rules that applies, in this order: outside the month, another program,
outside the consent, non-clinical performer, during an inpatient stay. What remains is
cleared of overlaps (one staff member cannot log the same second twice), then summed
separately for clinical staff (c) and the billing practitioner's own time (p): a
practitioner entry of anyone else (or of no recorded practitioner) counts as clinical staff
time, named by ENTRY_OTHER_PRACTITIONER, never toward 99491/99437.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

from billing.rules import findings as rules
from billing.rules.facts import CCM_PROGRAM, NON_CLINICAL, PRACTITIONER, Facts, TimeEntry
from billing.rules.findings import Finding, duration_text, finding


class CountedEntry(NamedTuple):
    """An entry that counts, with the seconds it counts for this patient after overlaps.
    (A named tuple: the close makes millions of them.)"""

    entry: TimeEntry
    seconds: int


class TimeCount:
    """The month's counted time: c and p, what was excluded, and why.

    A plain class (the engine makes one per patient-month and never changes it): what a
    finding lists of the counted entries is worked out only when a finding asks."""

    def __init__(
        self,
        clinical_staff: int,
        practitioner: int,
        excluded: int,
        findings: list[Finding],
        remaining: list[TimeEntry],
        overlapped: dict[str, int],
    ) -> None:
        self.clinical_staff = clinical_staff
        self.practitioner = practitioner
        self.excluded = excluded
        self.findings = findings
        #: The entries no exclusion applied to, in chronological order, and the seconds
        #: the ones that overlapped others keep (the rest keep their credited seconds).
        self.remaining = remaining
        self.overlapped = overlapped
        self._entry_ids: tuple[str, ...] | None = None

    def counted(self) -> list[CountedEntry]:
        """The entries that count, chronologically, with their seconds (the threshold
        date of service_date "threshold_met")."""
        overlapped = self.overlapped
        kept = [
            CountedEntry(entry, overlapped.get(entry.id, entry.seconds // entry.shared_with))
            for entry in self.remaining
        ]
        return [item for item in kept if item.seconds > 0]

    def entry_ids(self) -> tuple[str, ...]:
        """The ids of the entries that count, chronologically: what the advice findings
        name (worked out once, for the first finding that asks)."""
        ids = self._entry_ids
        if ids is None:
            overlapped = self.overlapped
            if overlapped:
                ids = tuple([item.entry.id for item in self.counted()])
            else:
                ids = tuple([e.id for e in self.remaining if e.seconds >= e.shared_with])
            self._entry_ids = ids
        return ids


def is_own_time(entry: TimeEntry, billing_practitioner: str) -> bool:
    """The billing practitioner's own time (p): a practitioner entry whose staff_id is the
    billing practitioner. Everything else that counts is clinical staff time (c)."""
    return entry.performer == PRACTITIONER and entry.staff_id == billing_practitioner


def chronological(entry: TimeEntry) -> tuple[object, ...]:
    """A total order on entries (ids are unique), so the decision never depends on input order."""
    return (entry.date, entry.start if entry.start is not None else -1, entry.id)


_DAY_SECONDS = 86400


def in_chronological_order(entries: tuple[TimeEntry, ...]) -> list[TimeEntry]:
    """The entries sorted by `chronological`. The close sorts millions: entries that come
    in order (as the facts builder mostly reads them: by date, then as logged) are only
    checked; the others are each ranked by one integer (day, start, untimed first, and
    the place in the input) and the list of integers sorted as is, calling nothing. The
    tuples of `chronological` are built only for a month where two entries share a day
    and a start (then only their ids can order them) or a start is not a time of day."""
    count = len(entries)
    if count < 2 or _already_in_order(entries):
        return list(entries)
    keys: list[int] = []
    for index in range(count):
        entry = entries[index]
        start = entry.start
        if start is None:
            start = -1
        elif not 0 <= start < _DAY_SECONDS:
            return sorted(entries, key=chronological)
        rank = entry.date.toordinal() * (_DAY_SECONDS + 1) + start + 1
        keys.append(rank * count + index)
    keys.sort()
    ordered: list[TimeEntry] = []
    before = -1
    for key in keys:
        rank = key // count
        if rank == before:
            return sorted(entries, key=chronological)
        before = rank
        ordered.append(entries[key % count])
    return ordered


def _already_in_order(entries: tuple[TimeEntry, ...]) -> bool:
    """Whether each entry comes after the one before it by `chronological`."""
    before = entries[0]
    for index in range(1, len(entries)):
        entry = entries[index]
        if entry.date != before.date:
            if entry.date < before.date:
                return False
        else:
            start = -1 if entry.start is None else entry.start
            start_before = -1 if before.start is None else before.start
            if start < start_before or (start == start_before and entry.id <= before.id):
                return False
        before = entry
    return True


def _ids(entries: Iterable[TimeEntry]) -> list[str]:
    return [entry.id for entry in entries]


def _credited(entries: Iterable[TimeEntry]) -> int:
    return sum(entry.credited_seconds for entry in entries)


def _amount(entries: Iterable[TimeEntry]) -> str:
    return duration_text(_credited(entries))


class CountingWindow:
    """What the exclusions of one patient-month look at, worked out once per month (not
    once per entry): the month's bounds, the consent windows of the billing practitioner
    (from the consent date up to, not including, any revocation) and the inpatient stays."""

    def __init__(
        self,
        first: dt.date,
        last: dt.date,
        consents: tuple[tuple[dt.date, dt.date | None], ...],
        stays: tuple[tuple[dt.date, dt.date], ...],
    ) -> None:
        self.first = first
        self.last = last
        self.consents = consents
        self.stays = stays

    @staticmethod
    def of(facts: Facts) -> CountingWindow:
        first, last = facts.month.first_day, facts.month.last_day
        billing = facts.billing_practitioner
        return CountingWindow(
            first,
            last,
            tuple(
                [
                    (consent.date, consent.revoked)
                    for consent in facts.patient.consents
                    if consent.billing_practitioner == billing
                ]
            ),
            tuple([(stay.start, stay.end) for stay in facts.inpatient_stays]),
        )


def excluded_by(entry: TimeEntry, window: CountingWindow) -> str | None:
    """The rule of the first exclusion that applies to the entry, in the order of
    billing-rules.md s. 4, or None when the entry counts:

    - ENTRY_OUTSIDE_MONTH: time dated outside the month belongs to another month's claim;
    - ENTRY_EXCLUDED_PROGRAM: a minute counts for one program only; G0506 time never for CCM;
    - ENTRY_OUTSIDE_CONSENT: only time inside a consent window of the billing practitioner;
    - ENTRY_NON_CLINICAL: front-desk and billing staff time is not care management;
    - ENTRY_DURING_INPATIENT_STAY: time during a hospital or SNF stay (both days included).

    The close runs this for millions of entries: plain comparisons, no calls."""
    day = entry.date
    if day < window.first or day > window.last:
        return rules.ENTRY_OUTSIDE_MONTH
    if entry.program != CCM_PROGRAM:
        return rules.ENTRY_EXCLUDED_PROGRAM
    for consented, revoked in window.consents:
        if consented <= day and (revoked is None or day < revoked):
            break
    else:
        return rules.ENTRY_OUTSIDE_CONSENT
    if entry.performer == NON_CLINICAL:
        return rules.ENTRY_NON_CLINICAL
    for admitted, discharged in window.stays:
        if admitted <= day <= discharged:
            return rules.ENTRY_DURING_INPATIENT_STAY
    return None


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
    by_program: dict[str, list[TimeEntry]] = {}
    for entry in entries:
        same = by_program.get(entry.program)
        if same is None:
            by_program[entry.program] = [entry]
        else:
            same.append(entry)
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
            f"{facts.name(facts.billing_practitioner)} were ignored: only time on or after the "
            "consent date (and before any revocation) counts.",
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


def _explain_other_practitioner(entries: Sequence[TimeEntry], facts: Facts) -> list[Finding]:
    refs = sorted({entry.staff_id or "" for entry in entries})
    who = ", ".join(facts.name(ref) if ref else "a practitioner not recorded" for ref in refs)
    return [
        finding(
            rules.ENTRY_OTHER_PRACTITIONER,
            f"{_amount(entries)} of practitioner time logged by {who}, not the billing "
            f"practitioner {facts.name(facts.billing_practitioner)}, are clinical staff "
            "time: 99491 and 99437 describe the billing practitioner's own work.",
            _ids(entries),
        )
    ]


def _explain_inpatient_stay(entries: Sequence[TimeEntry], facts: Facts) -> list[Finding]:
    # Sorted by both days: two stays that start the same day print in the same order in
    # every process (a set of dates iterates in hash order, which varies).
    stays = "; ".join(
        f"{start.isoformat()} to {end.isoformat()}"
        for start, end in sorted({(stay.start, stay.end) for stay in facts.inpatient_stays})
        if any(start <= entry.date <= end for entry in entries)
    )
    return [
        finding(
            rules.ENTRY_DURING_INPATIENT_STAY,
            f"{_amount(entries)} logged during an inpatient or skilled nursing stay ({stays}) "
            "were ignored: the facility's services cover that time.",
            _ids(entries),
        )
    ]


#: How each time rule explains the entries it names, in the order of billing-rules.md
#: (the order `excluded_by` applies the exclusions and the findings are listed in).
#: ENTRY_OTHER_PRACTITIONER excludes nothing: it names the other practitioners' entries
#: that the exclusions before it in that order left (the stay's comes after it), whose
#: time is clinical staff time.
EXPLANATIONS: dict[str, Callable[[Sequence[TimeEntry], Facts], list[Finding]]] = {
    rules.ENTRY_OUTSIDE_MONTH: _explain_outside_month,
    rules.ENTRY_EXCLUDED_PROGRAM: _explain_program,
    rules.ENTRY_OUTSIDE_CONSENT: _explain_outside_consent,
    rules.ENTRY_NON_CLINICAL: _explain_non_clinical,
    rules.ENTRY_OTHER_PRACTITIONER: _explain_other_practitioner,
    rules.ENTRY_DURING_INPATIENT_STAY: _explain_inpatient_stay,
}


def _interval(entry: TimeEntry) -> tuple[int, int]:
    """[start, start + duration) in seconds after midnight, on the full (unshared) duration."""
    start = entry.start or 0
    return start, start + entry.seconds


def _clusters(entries: Sequence[TimeEntry]) -> list[list[TimeEntry]]:
    """Groups of entries whose [start, end) intervals overlap, directly or through each other.
    `entries` are of one staff member on one date, in chronological order."""
    clusters: list[list[TimeEntry]] = []
    reach = -1
    for entry in entries:
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


StaffDays = dict[tuple[str, dt.date], list[TimeEntry]]


def remove_overlaps(staff_days: StaffDays, facts: Facts) -> tuple[dict[str, int], list[Finding]]:
    """ENTRY_OVERLAP: entries of one staff_id on one date whose intervals overlap count once.

    `staff_days` holds the counting entries of known start and staff, by staff member and
    date, each list chronological, the groups in the order of their first entry. The union
    is taken on the full intervals; each entry keeps the part of its interval no other
    entry claimed and is credited floor(kept / shared_with), like any shared entry.
    Returns the counted seconds of the entries that overlap (every other entry counts its
    credited seconds) and the findings, chronologically.
    """
    counted: dict[str, int] = {}
    found: list[Finding] = []
    for (staff_id, _), group in staff_days.items():
        if len(group) < 2:
            continue
        for cluster in _clusters(group):
            kept = _kept_seconds(cluster)
            for entry in cluster:
                counted[entry.id] = kept[entry.id] // entry.shared_with
            lost = sum(e.credited_seconds - counted[e.id] for e in cluster)
            ids = _ids(cluster)
            found.append(
                finding(
                    rules.ENTRY_OVERLAP,
                    f"Entries {', '.join(ids)} by {facts.name(staff_id)} on "
                    f"{cluster[0].date.isoformat()} "
                    f"overlap in time: the overlapping time counts once ({duration_text(lost)} "
                    "not counted). Log one activity once, shared between its patients.",
                    ids,
                )
            )
    return counted, found


def count_time(facts: Facts) -> TimeCount:
    """Apply the time rules to every entry and sum what counts (c and p separately).

    One pass over the entries in chronological order: each is credited, excluded by the
    first rule that applies or counted. The same pass notes, per staff member, how far
    their last timed entry of the day reaches: only the staff-days where an entry starts
    before that are gathered for ENTRY_OVERLAP (remove_overlaps); the rest of the month
    is never grouped. Then the overlaps are taken out of the sums."""
    window = CountingWindow.of(facts)
    billing = facts.billing_practitioner
    named: dict[str, list[TimeEntry]] = {}  # by time rule: the entries its finding names
    remaining: list[TimeEntry] = []
    # The staff members with timed entries on the day being read, and how far each one's
    # entries reach (parallel lists: a day has a few, and days come in order).
    day: dt.date | None = None
    day_staff: list[str] = []
    day_reach: list[int] = []
    overlapping: set[tuple[str, dt.date]] = set()
    credited = clinical_staff = practitioner = 0
    for entry in in_chronological_order(facts.time_entries):
        seconds = entry.seconds // entry.shared_with
        credited += seconds
        rule = excluded_by(entry, window)
        if rule is not None:
            named.setdefault(rule, []).append(entry)
            if (
                rule == rules.ENTRY_DURING_INPATIENT_STAY
                and entry.performer == PRACTITIONER
                and entry.staff_id != billing
            ):
                # ENTRY_OTHER_PRACTITIONER comes before the stay in s. 4's order.
                named.setdefault(rules.ENTRY_OTHER_PRACTITIONER, []).append(entry)
            continue
        remaining.append(entry)
        if entry.performer != PRACTITIONER:
            clinical_staff += seconds
        elif entry.staff_id == billing:
            practitioner += seconds
        else:
            clinical_staff += seconds
            named.setdefault(rules.ENTRY_OTHER_PRACTITIONER, []).append(entry)
        start, staff_id = entry.start, entry.staff_id
        if start is not None and staff_id is not None:
            if entry.date != day:
                day = entry.date
                day_staff.clear()
                day_reach.clear()
            end = start + entry.seconds
            for index in range(len(day_staff)):
                if day_staff[index] == staff_id:
                    if start < day_reach[index]:
                        overlapping.add((staff_id, day))
                        if end > day_reach[index]:
                            day_reach[index] = end
                    else:
                        day_reach[index] = end
                    break
            else:
                day_staff.append(staff_id)
                day_reach.append(end)
    time_findings = [
        found
        for rule, explain in EXPLANATIONS.items()
        if rule in named
        for found in explain(named[rule], facts)
    ]
    if not overlapping:
        return TimeCount(
            clinical_staff,
            practitioner,
            credited - clinical_staff - practitioner,
            time_findings,
            remaining,
            {},
        )
    overlapped, overlap_findings = remove_overlaps(_staff_days(remaining, overlapping), facts)
    for entry in remaining:
        if entry.id in overlapped:
            lost = entry.credited_seconds - overlapped[entry.id]
            if is_own_time(entry, billing):
                practitioner -= lost
            else:
                clinical_staff -= lost
    return TimeCount(
        clinical_staff,
        practitioner,
        credited - clinical_staff - practitioner,
        time_findings + overlap_findings,
        remaining,
        overlapped,
    )


def _staff_days(remaining: list[TimeEntry], overlapping: set[tuple[str, dt.date]]) -> StaffDays:
    """The timed entries of the staff-days where entries overlap, chronologically, the
    days in the order of their first entry."""
    staff_days: StaffDays = {}
    for entry in remaining:
        if entry.start is None or entry.staff_id is None:
            continue
        key = (entry.staff_id, entry.date)
        if key in overlapping:
            staff_days.setdefault(key, []).append(entry)
    return staff_days
