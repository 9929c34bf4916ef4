"""The call list's progress, stored (product.md, jobs: "Nightly: recompute the 'close to
threshold' list that drives the call list").

Working a nurse's 200 patients out live costs about 100 ms at MSO scale (their facts in
eight queries, then the engine per patient), twice the page's budget (issue 6). So each
patient-month's progress toward the next code (billing rule `next_threshold`) is stored
as the call list shows it (CallListProgress), with the patient's facts revision and the
rulebook's fingerprint it was worked out from:

- database triggers bump a patient's FactsRevision whenever a row of their facts changes
  (billing migration 0006), in the writer's own transaction;
- the call list reads the current revisions first, then the stored progress, and works
  out again (and stores) only the patients whose stored progress is missing, of another
  revision or of another rulebook;
- the nightly job works out the stale ones of every practice ahead of the morning.

Why this never shows progress older than the facts: the revision is read before the
facts are. A change committed before that read has bumped the revision already, so it is
in the facts read next; a change committed after it bumps the revision past the one
stored with the result, so the next request works the patient out again. At worst a
patient is worked out once more than needed.

Only on PostgreSQL, where the triggers are: elsewhere (development on SQLite) every
patient is worked out on each request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection
from django.utils import timezone

from billing.live_decisions import decide_months
from billing.models import CallListProgress, FactsRevision
from billing.progress import MonthProgress, PlainFinding, month_progress
from billing.rules import Rulebook
from billing.selectors import PatientKey

Outcome = MonthProgress | str

#: What a stored row holds of MonthProgress, besides the findings.
_PROGRESS_FIELDS = (
    "counted_seconds",
    "billable",
    "tier",
    "codes",
    "next_code",
    "minutes_needed",
    "step_start_minutes",
    "target_minutes",
    "percent",
)
_READ_FIELDS = ("patient_id", "revision", "error", *_PROGRESS_FIELDS, "blocks")
_WRITTEN_FIELDS = ("revision", "rulebook", "computed_at", "error", *_PROGRESS_FIELDS, "blocks")


def progress_is_stored() -> bool:
    """Whether the facts revision triggers exist here (PostgreSQL only)."""
    return connection.vendor == "postgresql"


def call_list_progress(
    keys: Sequence[PatientKey], first: dt.date, rulebook: Rulebook
) -> dict[int, Outcome]:
    """Each patient's progress toward the next code in the month (billing rule
    `next_threshold`), or the engine's error text on their facts, by patient id: stored
    progress where it is of the patient's current facts revision and of `rulebook`, else
    worked out now with the engine and stored. `keys` name the patients as
    billing.selectors does; `rulebook` is the month's, with the practice's fees.

    Three queries when every patient's progress is stored; when some are not, their facts
    (eight) and one write more."""
    if not progress_is_stored():
        return _work_out(keys, first, rulebook)
    ids = [key[0] for key in keys]
    revisions = _revisions(ids)  # before the facts: see the module's docstring
    outcomes = _stored(ids, first, rulebook, revisions)
    missing = [key for key in keys if key[0] not in outcomes]
    if missing:
        fresh = _work_out(missing, first, rulebook)
        _store(fresh, first, rulebook, revisions)
        outcomes.update(fresh)
    return outcomes


def _work_out(keys: Sequence[PatientKey], first: dt.date, rulebook: Rulebook) -> dict[int, Outcome]:
    decided = decide_months(keys, first, rulebook)
    return {
        pk: outcome if isinstance(outcome, str) else month_progress(outcome, rulebook)
        for pk, outcome in decided.items()
    }


def _revisions(ids: Sequence[int]) -> dict[int, int]:
    """Each patient's facts revision; patients without a row are at 0 (not listed)."""
    return dict(
        FactsRevision.objects.filter(patient_id__in=ids).values_list("patient_id", "revision")
    )


def _stored(
    ids: Sequence[int], first: dt.date, rulebook: Rulebook, revisions: Mapping[int, int]
) -> dict[int, Outcome]:
    """The stored progress still current: of the patient's revision and of `rulebook`."""
    rows = CallListProgress.objects.filter(
        patient_id__in=ids, month=first, rulebook=rulebook.fingerprint
    ).values_list(*_READ_FIELDS)
    return {row[0]: _outcome(row) for row in rows if row[1] == revisions.get(row[0], 0)}


def _outcome(row: tuple[Any, ...]) -> Outcome:
    """A stored row (_READ_FIELDS) as the call list takes it."""
    _, _, error, *progress, blocks = row
    if error:
        return str(error)
    values = dict(zip(_PROGRESS_FIELDS, progress, strict=True))
    values["tier"] = values["tier"] or None
    values["next_code"] = values["next_code"] or None
    values["codes"] = tuple(values["codes"])
    return MonthProgress(
        **values, findings=tuple(PlainFinding(**block, entries=()) for block in blocks)
    )


def _store(
    outcomes: Mapping[int, Outcome],
    first: dt.date,
    rulebook: Rulebook,
    revisions: Mapping[int, int],
) -> None:
    """Store the progress worked out, each with the revision read before its facts. In
    patient order, so that two requests storing the same patients lock them in the same
    order."""
    now = timezone.now()
    rows = [
        _row(pk, outcomes[pk], first, rulebook, revisions.get(pk, 0), now)
        for pk in sorted(outcomes)
    ]
    CallListProgress.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["patient", "month"],
        update_fields=list(_WRITTEN_FIELDS),
    )


def _row(
    pk: int, outcome: Outcome, first: dt.date, rulebook: Rulebook, revision: int, now: dt.datetime
) -> CallListProgress:
    row = CallListProgress(
        patient_id=pk,
        month=first,
        revision=revision,
        rulebook=rulebook.fingerprint,
        computed_at=now,
    )
    if isinstance(outcome, str):
        row.error = outcome
        return row
    for field in _PROGRESS_FIELDS:
        setattr(row, field, getattr(outcome, field))
    row.tier = outcome.tier or ""
    row.next_code = outcome.next_code or ""
    row.codes = list(outcome.codes)
    row.blocks = [_block(finding) for finding in outcome.blocks]
    return row


def _block(finding: PlainFinding) -> dict[str, str]:
    """A blocking finding as stored: everything but the entries it names."""
    return {
        "rule": finding.rule,
        "severity": finding.severity,
        "label": finding.label,
        "severity_text": finding.severity_text,
        "message": finding.message,
    }


def refresh_call_list_progress(
    keys: Sequence[PatientKey], first: dt.date, rulebook: Rulebook, *, chunk_size: int = 2000
) -> int:
    """The nightly job's work for one practice: store the progress of every patient whose
    stored progress is not current, `chunk_size` patients at a time (their facts are read
    together). The number of patients looked at."""
    for start in range(0, len(keys), chunk_size):
        call_list_progress(keys[start : start + chunk_size], first, rulebook)
    return len(keys)
