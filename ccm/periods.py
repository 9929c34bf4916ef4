"""The period lock: once a practice's billing month is closing or closed, nothing that
feeds its claims may change (billing rule: a closed month's worklist is final until a
reopen, which makes a new version)."""

from __future__ import annotations

import datetime as dt

from django.db import connection

from ccm.exceptions import PeriodClosed
from ccm.models import BillingMonth, Practice


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_end(day: dt.date) -> dt.date:
    following = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)


def parse_month(text: str) -> dt.date:
    """'YYYY-MM' → the first day of that month; ValueError with a clear message otherwise."""
    try:
        return dt.datetime.strptime(text, "%Y-%m").date()
    except (TypeError, ValueError):
        raise ValueError(f"{text!r} is not a month in the form YYYY-MM") from None


def billing_month_status(practice: Practice, day: dt.date) -> str:
    """The status of the month holding `day`; a month nobody has closed yet is open."""
    status = (
        BillingMonth.objects.filter(practice=practice, month=month_start(day))
        .values_list("status", flat=True)
        .first()
    )
    return status or BillingMonth.Status.OPEN


def _locked_month_status(practice: Practice, first: dt.date) -> str:
    """The month's status, read under a shared row lock (PostgreSQL).

    The row is created when missing, so there is always a row to lock: a close claims the
    month with an UPDATE of that row, which waits for every transaction that checked the
    month as open, so their writes commit before the close reads the month. The row
    exists after a month's first write, so it is locked first and inserted only when
    missing: one statement on the common path (the time-entry POST's)."""
    if connection.vendor != "postgresql":
        return billing_month_status(practice, first)
    lock = "SELECT status FROM ccm_billingmonth WHERE practice_id = %s AND month = %s FOR SHARE"
    with connection.cursor() as cursor:
        cursor.execute(lock, [practice.pk, first])
        row = cursor.fetchone()
        if row is None:
            cursor.execute(
                "INSERT INTO ccm_billingmonth (practice_id, month, status, version, updated_at)"
                " VALUES (%s, %s, 'open', 0, now()) ON CONFLICT (practice_id, month) DO NOTHING",
                [practice.pk, first],
            )
            cursor.execute(lock, [practice.pk, first])
            row = cursor.fetchone()
    return str(row[0]) if row else BillingMonth.Status.OPEN


def ensure_month_open(practice: Practice, *days: dt.date) -> None:
    """Raise PeriodClosed (409) when any of `days` falls in a closing or closed month.
    Call inside the transaction that makes the change."""
    for first in sorted({month_start(day) for day in days}):
        status = _locked_month_status(practice, first)
        if status != BillingMonth.Status.OPEN:
            raise PeriodClosed(
                f"The billing month {first:%Y-%m} is {status}; reopen it before changing its data."
            )
