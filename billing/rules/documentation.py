"""Documentation findings (billing-rules.md s. 4, "Documentation findings"): what auditors
cite in the time record. Warnings only: they never change the lines.

They look at the month's counted entries: those no exclusion removed (outside the month,
another program, outside the consent, non-clinical, during an inpatient stay), in
chronological order. One pass over them, a few comparisons each.

- ENTRY_LUMPED: an entry of 60 min or more (its full logged duration, before any share)
  without a start time: time aggregated rather than itemized.
- ENTRY_NOTE_REPEATED: the same note (trimmed and case-folded; an empty note never
  matches) on three or more counted entries: copied notes. One finding per note, naming
  every entry that carries it.
- ENTRY_LATE: logged more than `late_entry_days` after the day it records: time
  reconstructed after the fact.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from billing.rules import findings as rules
from billing.rules.counting import chronological
from billing.rules.facts import TimeEntry
from billing.rules.findings import Finding, duration_text, finding
from billing.rules.rulebooks import Rulebook

LUMPED_SECONDS: Final = 3600
REPEATED_NOTE_ENTRIES: Final = 3
_QUOTED_NOTE_LENGTH: Final = 60


def _entries_text(entries: Sequence[TimeEntry]) -> str:
    ids = ", ".join(entry.id for entry in entries)
    return f"Entry {ids}" if len(entries) == 1 else f"Entries {ids}"


def _lumped(entries: Sequence[TimeEntry]) -> Finding:
    if len(entries) == 1:
        logged = f"records {duration_text(entries[0].seconds)}"
    else:
        longest = max(entry.seconds for entry in entries)
        logged = (
            f"record {duration_text(LUMPED_SECONDS)} or more each (up to {duration_text(longest)})"
        )
    return finding(
        rules.ENTRY_LUMPED,
        f"{_entries_text(entries)} {logged} with no start time: time aggregated rather "
        "than itemized is what auditors question. Log each activity when it happens, with its "
        "start.",
        [entry.id for entry in entries],
    )


def _quoted(note: str) -> str:
    if len(note) <= _QUOTED_NOTE_LENGTH:
        return f'"{note}"'
    return f'"{note[: _QUOTED_NOTE_LENGTH - 1].rstrip()}…"'


def _repeated(entries: Sequence[TimeEntry]) -> Finding:
    """One note on several entries (chronological): quoted as the first of them wrote it."""
    note = (entries[0].note or "").strip()
    ids = [entry.id for entry in entries]
    return finding(
        rules.ENTRY_NOTE_REPEATED,
        f"The same note ({_quoted(note)}) is on {len(entries)} entries of the month "
        f"({', '.join(ids)}): copied notes do not show what was done "
        "each time. Describe each activity in its own words.",
        ids,
    )


def _late(entries: Sequence[TimeEntry], rulebook: Rulebook) -> Finding:
    detail = ", ".join(
        f"{entry.id} of {entry.date.isoformat()} on {entry.logged_on.isoformat()}"
        for entry in entries
        if entry.logged_on is not None
    )
    return finding(
        rules.ENTRY_LATE,
        f"{_entries_text(entries)} {'was' if len(entries) == 1 else 'were'} logged more than "
        f"{rulebook.late_entry_days} days after the day recorded ({detail}): time "
        "reconstructed after the fact is an audit risk. Log time the day it is spent.",
        [entry.id for entry in entries],
    )


def check_documentation(counted: list[TimeEntry], rulebook: Rulebook) -> list[Finding]:
    """ENTRY_LUMPED, ENTRY_NOTE_REPEATED and ENTRY_LATE over the counted entries (in
    chronological order), in that order; entries are named chronologically.

    The month close runs this for millions of entries: one pass that only files each
    entry by its note as written (a date subtraction only for an entry logged after its
    day); the notes are trimmed and case-folded once per distinct note, after the pass,
    and messages are written only for the findings that fire."""
    late_days = rulebook.late_entry_days
    lumped: list[TimeEntry] = []
    late: list[TimeEntry] = []
    by_note: dict[str, list[TimeEntry]] = {}  # note as written -> its entries
    for entry in counted:
        note = entry.note
        if note:
            same = by_note.get(note)
            if same is None:
                by_note[note] = [entry]
            else:
                same.append(entry)
        if entry.start is None and entry.seconds >= LUMPED_SECONDS:
            lumped.append(entry)
        logged_on = entry.logged_on
        day = entry.date
        if logged_on is not None and logged_on > day and (logged_on - day).days > late_days:
            late.append(entry)
    out: list[Finding] = []
    if lumped:
        out.append(_lumped(lumped))
    out += [_repeated(same) for same in _repeated_notes(by_note)]
    if late:
        out.append(_late(late, rulebook))
    return out


def _repeated_notes(by_note: dict[str, list[TimeEntry]]) -> list[list[TimeEntry]]:
    """The entries of each note (trimmed, case-folded; empty never matches) carried by
    REPEATED_NOTE_ENTRIES or more entries, in the order of each note's first entry.

    `by_note` holds each note as written in the order of its first entry, so the folded
    notes come in that order too; a note written two ways (case, spaces) gathers the
    entries of both, put back in chronological order."""
    folded: dict[str, list[TimeEntry]] = {}
    merged: list[list[TimeEntry]] = []
    for note, same in by_note.items():
        key = _folded(note)
        if not key:
            continue
        group = folded.get(key)
        if group is None:
            folded[key] = same
        else:
            group += same
            merged.append(group)
    for group in merged:
        group.sort(key=chronological)
    return [same for same in folded.values() if len(same) >= REPEATED_NOTE_ENTRIES]


#: Notes as compared (trimmed, case-folded), by note as written: a practice's notes
#: repeat across patients (templates), so each is folded once; bounded like the
#: classification's memo (facts may carry any text).
_FOLDED: Final[dict[str, str]] = {}
_FOLDED_LIMIT: Final = 20_000


def _folded(note: str) -> str:
    key = _FOLDED.get(note)
    if key is None:
        key = note.strip()
        # casefold is lower() for ASCII text, and lower() has a fast path for it.
        key = key.lower() if key.isascii() else key.casefold()
        if len(_FOLDED) >= _FOLDED_LIMIT:
            _FOLDED.clear()
        _FOLDED[note] = key
    return key
