"""A time entry's `logged_on`: the day it was entered, in the practice's time zone
(billing rule ENTRY_LATE). Existing entries take the day of their creation timestamp.

The backfill is an UPDATE of every activity, which the period guard (timelog 0002) would
refuse for a closed month's time: it is switched off for the backfill only, in this
migration's transaction (a new column filled from the row's own creation time changes no
closed month's claim)."""

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

GUARD = "timelog_timeactivity_period_guard"
#: The day of each entry's creation in the practice's zone (parameter: settings.TIME_ZONE).
FILL_SQL = "UPDATE timelog_timeactivity SET logged_on = (created_at AT TIME ZONE %s)::date"


def backfill(apps, schema_editor):  # type: ignore[no-untyped-def]
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE timelog_timeactivity DISABLE TRIGGER {GUARD}")
        schema_editor.execute(FILL_SQL, [settings.TIME_ZONE])
        schema_editor.execute(f"ALTER TABLE timelog_timeactivity ENABLE TRIGGER {GUARD}")
        return
    activity = apps.get_model("timelog", "TimeActivity")
    for pk, created_at in activity.objects.values_list("pk", "created_at").iterator():
        activity.objects.filter(pk=pk).update(logged_on=timezone.localdate(created_at))


class Migration(migrations.Migration):
    dependencies = [
        ("timelog", "0003_redundant_indexes_and_covering_performer_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="timeactivity",
            name="logged_on",
            field=models.DateField(null=True, editable=False),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="timeactivity",
            name="logged_on",
            field=models.DateField(default=timezone.localdate, editable=False),
        ),
    ]
