"""Period guard triggers (ccm_period_guard, ccm migration 0005): an MDM attestation of a closing or closed month cannot change."""

from __future__ import annotations

from django.db import migrations

GUARDS = {'billing_mdmattestation': ('patient_id', 'month')}


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, (source, *columns) in GUARDS.items():
        arguments = ", ".join(f"'{value}'" for value in (source, *columns))
        schema_editor.execute(
            f"CREATE TRIGGER {table}_period_guard BEFORE INSERT OR UPDATE OR DELETE ON {table}"
            f" FOR EACH ROW EXECUTE FUNCTION ccm_period_guard({arguments})"
        )


def drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in GUARDS:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_period_guard ON {table}")


class Migration(migrations.Migration):
    dependencies = [("ccm", "0005_database_guards"), ('billing', '0002_month_close')]

    operations = [migrations.RunPython(create, drop)]
