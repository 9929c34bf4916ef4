"""The facts now name people (billing rules revision 2: `names`, display names shown in
the findings), so a change to a practitioner's name or credential moves the facts of the
patients whose facts name them as billing practitioner, consent practitioner, visit
practitioner or care plan signer: the ccm_user trigger of migration 0006 bumps those
patients' FactsRevision too (it bumped only for a billing practitioner's NPI).

Performers of time entries and MDM attesters are named in findings that never block, and
the stored call-list progress keeps only blocking findings: their names need no bump."""

from __future__ import annotations

from django.db import migrations

USER_FUNCTION = r"""
CREATE OR REPLACE FUNCTION billing_facts_changed_ccm_user() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        PERFORM billing_bump_facts_revision(ARRAY(
            WITH changed AS (
                SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
                 WHERE (n.npi, n.full_name, n.first_name, n.last_name, n.username, n.credential)
                       IS DISTINCT FROM
                       (o.npi, o.full_name, o.first_name, o.last_name, o.username, o.credential)
            )
            SELECT p.id FROM patients_patient p JOIN changed c ON p.billing_practitioner_id = c.id
            UNION
            SELECT s.patient_id FROM patients_consent s JOIN changed c ON s.billing_practitioner_id = c.id
            UNION
            SELECT v.patient_id FROM patients_visit v JOIN changed c ON v.practitioner_id = c.id
            UNION
            SELECT cp.patient_id FROM patients_careplan cp JOIN changed c ON cp.signed_by_id = c.id
        ));
    END IF;
    RETURN NULL;
END $$;
"""

# Migration 0006's function, for the way back.
PREVIOUS_USER_FUNCTION = r"""
CREATE OR REPLACE FUNCTION billing_facts_changed_ccm_user() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        PERFORM billing_bump_facts_revision(ARRAY(SELECT p.id FROM patients_patient p
            JOIN new_rows n ON p.billing_practitioner_id = n.id
            JOIN old_rows o ON o.id = n.id WHERE n.npi IS DISTINCT FROM o.npi));
    END IF;
    RETURN NULL;
END $$;
"""


def postgres_only(sql: str):  # type: ignore[no-untyped-def]
    def run(apps, schema_editor):  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(sql)  # no parameters: the SQL is taken as it is

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0008_worklist_reclose_never_bills_twice"),
        ("patients", "0003_revision2_facts"),
    ]

    operations = [
        migrations.RunPython(postgres_only(USER_FUNCTION), postgres_only(PREVIOUS_USER_FUNCTION)),
    ]
