"""Row locks, taken in one order everywhere, so no two transactions ever wait on each other.

Every write transaction takes its locks in this order, skipping what it does not need:

1. The person the change is about: the performer's user row for their time entries, the
   patient's row for a care plan's versions (`lock_for_change`). It serialises one
   person's writes that derive something from their other rows (an overlap, a retried
   request id, a version number).
2. Billing months, the earliest first (`ccm.periods.ensure_month_open`, FOR SHARE: a
   close, which takes its month FOR NO KEY UPDATE, waits for the writes in flight).
3. The rows being changed (`lock_for_change`; FOR UPDATE only on a row about to be
   deleted).
4. Rows that triggers keep: a patient's facts revision (billing migration 0006, patient
   order within a statement).
5. The practice's audit chain: an advisory lock taken by the audit insert (ccm migration
   0005's trigger), which is therefore the last write of every transaction.

A new time entry takes steps 2 to 5 in one database call, in this order, each step a
statement of its own (timelog migration 0006: timelog_time_activity_create; the order is
checked on the function the database holds).

Reads are audited on a chain of their own (ccm migration 0007), in their own short
transaction: a page view never queues behind a write, nor a write behind a page view.

Why FOR NO KEY UPDATE and never FOR UPDATE on a row that other rows reference: Django's
foreign keys are checked at commit (DEFERRABLE INITIALLY DEFERRED), each check taking FOR
KEY SHARE on the referenced row, after the transaction took the audit-chain lock (5). FOR
UPDATE conflicts with FOR KEY SHARE; FOR NO KEY UPDATE does not. A FOR UPDATE on a user
row made a time-entry POST with a request id wait for the audit chain while the POST
holding the chain waited, at commit, for that user row: the deadlock of issue 15.
tests/security/test_lock_order.py holds the code to this.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet


def lock_for_change(rows: QuerySet[Any]) -> None:
    """Lock `rows` FOR NO KEY UPDATE (in id order) until the transaction ends: other
    writers of these rows wait, foreign-key checks of rows referencing them do not."""
    list(rows.select_for_update(no_key=True).order_by("pk").values_list("pk", flat=True))
