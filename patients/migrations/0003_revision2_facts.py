"""The patient facts of billing rules revision 2: a practitioner's attestation that a
condition is chronic (who and when; rule CONDITION_NOT_CHRONIC), and a care plan's last
review (`reviewed`, formerly `review_date`; rule CARE_PLAN_NOT_REVIEWED).

The period guard of conditions (patients 0002) now fires on an UPDATE of the columns that
date or define the condition only: an attestation is dated when it is made, and a closed
month's worklist is frozen until it is reopened, so attesting a condition whose onset
lies in a closed month is not a change to that month."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

GUARD = "patients_chroniccondition_period_guard"
GUARDED_COLUMNS = "patient_id, icd10, description, onset, resolved, created_at"


def _guard(update: str) -> str:
    return (
        f"DROP TRIGGER IF EXISTS {GUARD} ON patients_chroniccondition;"
        f" CREATE TRIGGER {GUARD} BEFORE INSERT OR DELETE OR {update}"
        " ON patients_chroniccondition FOR EACH ROW"
        " EXECUTE FUNCTION ccm_period_guard('patient_id', 'onset', 'resolved')"
    )


def postgres_only(sql: str):  # type: ignore[no-untyped-def]
    def run(apps, schema_editor):  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0002_period_guards"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="chroniccondition",
            name="attested_chronic_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="chroniccondition",
            name="attested_chronic_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RenameField(model_name="careplan", old_name="review_date", new_name="reviewed"),
        migrations.AlterField(
            model_name="careplan",
            name="reviewed",
            field=models.DateField(blank=True, null=True, verbose_name="last reviewed"),
        ),
        migrations.RunPython(
            postgres_only(_guard(f"UPDATE OF {GUARDED_COLUMNS}")),
            postgres_only(_guard("UPDATE")),
        ),
    ]
