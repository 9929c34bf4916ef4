"""Period guard triggers (ccm_period_guard, ccm migration 0005): a patient fact dated inside a closing or closed month cannot change.

Care plans are left to the service: a new version repeats the plan's established date, so
the date alone cannot tell a text edit from a change to a closed month's eligibility."""

from __future__ import annotations

from django.db import migrations

from ccm.db_guards import period_guard_operation

GUARDS = {
    "patients_chroniccondition": ("patient_id", "onset", "resolved"),
    "patients_consent": ("patient_id", "date", "revoked"),
    "patients_visit": ("patient_id", "date"),
    "patients_otherservice": ("patient_id", "date"),
    "patients_inpatientstay": ("patient_id", "admitted", "discharged"),
}


class Migration(migrations.Migration):
    dependencies = [("ccm", "0005_database_guards"), ("patients", "0001_initial")]

    operations = [period_guard_operation(GUARDS)]
