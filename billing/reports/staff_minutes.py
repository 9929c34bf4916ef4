"""Minutes by staff member: the care-management time each user logged in a month (their
activities' whole durations: a call shared by three patients is the caller's time once),
CCM apart from other programs, with the entries and patients behind it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, Sum

from ccm.models import Practice, User
from ccm.periods import month_end
from timelog.models import Program, TimeActivity, TimeShare


@dataclass(frozen=True)
class StaffMinutes:
    user: User
    entries: int
    patients: int
    ccm_seconds: int
    other_seconds: int

    @property
    def ccm_minutes(self) -> int:
        return self.ccm_seconds // 60

    @property
    def other_minutes(self) -> int:
        return self.other_seconds // 60


def minutes_by_staff(practice: Practice, month: dt.date) -> list[StaffMinutes]:
    """Each user who logged time in the month, most CCM minutes first. Three queries."""
    days = (month, month_end(month))
    logged = {
        row["performer"]: row
        for row in TimeActivity.objects.filter(practice=practice, date__range=days)
        .values("performer")
        .annotate(
            entries=Count("id"),
            ccm=Sum("duration_seconds", filter=Q(program=Program.CCM)),
            other=Sum("duration_seconds", filter=~Q(program=Program.CCM)),
        )
        .order_by()
    }
    patients = dict(
        TimeShare.objects.filter(activity__practice=practice, date__range=days)
        .values("activity__performer")
        .annotate(patients=Count("patient", distinct=True))
        .order_by()
        .values_list("activity__performer", "patients")
    )
    users = User.objects.filter(pk__in=list(logged)).in_bulk()
    rows = [
        StaffMinutes(
            user=users[pk],
            entries=row["entries"],
            patients=patients.get(pk, 0),
            ccm_seconds=row["ccm"] or 0,
            other_seconds=row["other"] or 0,
        )
        for pk, row in logged.items()
    ]
    return sorted(rows, key=lambda r: (-r.ccm_seconds, r.user.full_name, r.user.pk))
