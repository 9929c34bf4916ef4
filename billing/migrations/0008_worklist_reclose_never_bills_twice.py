"""A re-close never bills twice (CONTRACTS.md): the statuses needs_correction and
superseded, and on a worklist row the billed row it continues (`supersedes`), the lines of
that claim when they changed (`previous_lines`) and why (`correction_reason`)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0007_close_chunk_dispatched_and_claimed"),
    ]

    operations = [
        migrations.AddField(
            model_name="worklistrow",
            name="correction_reason",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.AddField(
            model_name="worklistrow",
            name="previous_lines",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="worklistrow",
            name="supersedes",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="superseded_by",
                to="billing.worklistrow",
            ),
        ),
        migrations.AlterField(
            model_name="worklistrow",
            name="status",
            field=models.CharField(
                choices=[
                    ("needs_review", "Needs review"),
                    ("ready", "Ready"),
                    ("not_billable", "Not billable"),
                    ("submitted", "Submitted"),
                    ("paid", "Paid"),
                    ("denied", "Denied"),
                    ("needs_correction", "Needs correction"),
                    ("superseded", "Superseded"),
                ],
                max_length=20,
            ),
        ),
        migrations.AddIndex(
            model_name="worklistrow",
            index=models.Index(
                condition=models.Q(("supersedes__isnull", False)),
                fields=["supersedes"],
                name="worklist_row_supersedes",
            ),
        ),
    ]
