"""Period guard triggers (ccm_period_guard, ccm migration 0005): time dated inside a
closing or closed month cannot change."""

from __future__ import annotations

from django.db import migrations

from ccm.db_guards import period_guard_operation

GUARDS = {
    "timelog_timeactivity": ("practice_id", "date"),
    "timelog_timeshare": ("patient_id", "date"),
}


class Migration(migrations.Migration):
    dependencies = [("ccm", "0005_database_guards"), ("timelog", "0001_initial")]

    operations = [period_guard_operation(GUARDS)]
