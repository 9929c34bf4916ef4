"""Period guard triggers (ccm_period_guard, ccm migration 0005): an MDM attestation of a closing or closed month cannot change."""

from __future__ import annotations

from django.db import migrations

from ccm.db_guards import period_guard_operation

GUARDS = {"billing_mdmattestation": ("patient_id", "month")}


class Migration(migrations.Migration):
    dependencies = [("ccm", "0005_database_guards"), ("billing", "0002_month_close")]

    operations = [period_guard_operation(GUARDS)]
