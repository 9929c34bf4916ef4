"""The shares' (patient, date) index carries the activity id and the seconds, so the
month close reads a chunk's shares from the index alone (issue 16).

Shares are written in the order activities are logged, so the shares of one patient (and
of a chunk's patients) lie all over the table: with the plain index, each share was a
random heap fetch, 0.8-1.0 s for a chunk of 327,000 shares (50,000 patients, 1M
activities); from the covering index, 0.1 s. A patient-month's seconds read from it too.
The covering index is built before the one it replaces is dropped."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("timelog", "0006_time_activity_create_function"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="timeshare",
            index=models.Index(
                fields=["patient", "date"],
                include=("activity", "seconds"),
                name="share_patient_date_covering",
            ),
        ),
        migrations.RemoveIndex(
            model_name="timeshare",
            name="timelog_tim_patient_6e1093_idx",
        ),
    ]
