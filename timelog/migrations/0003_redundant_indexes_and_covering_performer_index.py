"""The (performer, date) index carries the activity id, so the call list's "Mine" reads
the index alone; the single-column foreign-key indexes that composite indexes already
lead with are dropped (every time entry POST wrote each of them). The covering index is
built before the one it replaces is dropped."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ccm", "0006_audit_chain_indexed_lookup"),
        ("patients", "0002_period_guards"),
        ("timelog", "0002_period_guards"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="timeactivity",
            index=models.Index(
                fields=["performer", "date"], include=("id",), name="activity_performer_date_id"
            ),
        ),
        migrations.RemoveIndex(
            model_name="timeactivity",
            name="timelog_tim_perform_5d0521_idx",
        ),
        migrations.AlterField(
            model_name="timeactivity",
            name="performer",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="time_activities",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="timeactivity",
            name="practice",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="time_activities",
                to="ccm.practice",
            ),
        ),
        migrations.AlterField(
            model_name="timeshare",
            name="activity",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="shares",
                to="timelog.timeactivity",
            ),
        ),
        migrations.AlterField(
            model_name="timeshare",
            name="patient",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="time_shares",
                to="patients.patient",
            ),
        ),
    ]
