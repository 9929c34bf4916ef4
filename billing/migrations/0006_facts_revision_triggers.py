"""Triggers that bump a patient's FactsRevision whenever a row the engine's facts are read
from changes (billing.selectors._load_month_rows): the stored call-list progress of a
patient whose revision has moved is worked out again (billing.call_progress).

Statement-level triggers with transition tables: one bump per statement, however many
rows it wrote (a bulk insert of 100,000 shares bumps each of their patients once).
PostgreSQL allows transition tables on one event per trigger, so each table has up to
three triggers (insert, update, delete) sharing one function. Patients are bumped in id
order, so two statements bumping the same patients lock their rows in the same order.

PostgreSQL only: on other databases (development on SQLite) the call list works every
patient out on each request and never reads stored progress.
"""

from __future__ import annotations

from django.db import migrations

BUMP_SQL = r"""
CREATE OR REPLACE FUNCTION billing_bump_facts_revision(patient_ids bigint[])
RETURNS void LANGUAGE sql AS $$
    INSERT INTO billing_factsrevision AS r (patient_id, revision)
    SELECT DISTINCT id, 1 FROM unnest(patient_ids) AS id WHERE id IS NOT NULL ORDER BY id
    ON CONFLICT (patient_id) DO UPDATE SET revision = r.revision + 1
$$;
"""

# Table -> (the patients of the rows in a transition table called {rows}, the events).
# The patient table itself and a practitioner's NPI (it decides whether another service
# was billed by the patient's billing practitioner) only change on update; an activity's
# inserts and deletes arrive as its shares' (the shares are written after it and deleted
# before it).
PATIENT_ID = "SELECT patient_id FROM {rows}"
WATCHED: dict[str, tuple[str, tuple[str, ...]]] = {
    "patients_patient": ("SELECT id FROM {rows}", ("UPDATE",)),
    "patients_chroniccondition": (PATIENT_ID, ("INSERT", "UPDATE", "DELETE")),
    "patients_consent": (PATIENT_ID, ("INSERT", "UPDATE", "DELETE")),
    "patients_visit": (PATIENT_ID, ("INSERT", "UPDATE", "DELETE")),
    "patients_careplan": (PATIENT_ID, ("INSERT", "UPDATE", "DELETE")),
    "patients_otherservice": (PATIENT_ID, ("INSERT", "UPDATE", "DELETE")),
    "patients_inpatientstay": (PATIENT_ID, ("INSERT", "UPDATE", "DELETE")),
    "billing_mdmattestation": (PATIENT_ID, ("INSERT", "UPDATE", "DELETE")),
    "timelog_timeshare": (PATIENT_ID, ("INSERT", "UPDATE", "DELETE")),
    "timelog_timeactivity": (
        "SELECT s.patient_id FROM timelog_timeshare s JOIN {rows} a ON s.activity_id = a.id",
        ("UPDATE",),
    ),
    "ccm_user": (
        "SELECT p.id FROM patients_patient p JOIN new_rows n ON p.billing_practitioner_id = n.id"
        " JOIN old_rows o ON o.id = n.id WHERE n.npi IS DISTINCT FROM o.npi",
        ("UPDATE",),
    ),
}

# Which transition tables each event has, and the rows whose patients it bumps.
TRANSITION = {
    "INSERT": ("REFERENCING NEW TABLE AS new_rows", ("new_rows",)),
    "UPDATE": ("REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows", ("new_rows", "old_rows")),
    "DELETE": ("REFERENCING OLD TABLE AS old_rows", ("old_rows",)),
}


def _function(table: str) -> str:
    patients, events = WATCHED[table]
    branches = []
    for event in events:
        _, tables = TRANSITION[event]
        query = " UNION ".join(dict.fromkeys(patients.format(rows=rows) for rows in tables))
        branches.append(
            f"IF TG_OP = '{event}' THEN\n"
            f"        PERFORM billing_bump_facts_revision(ARRAY({query}));\n    "
        )
    body = "ELS".join(branches) + "END IF;"
    return (
        f"CREATE OR REPLACE FUNCTION billing_facts_changed_{table}() RETURNS trigger\n"
        f"LANGUAGE plpgsql AS $$\nBEGIN\n    {body}\n    RETURN NULL;\nEND $$;\n"
    )


def _triggers(table: str) -> str:
    _, events = WATCHED[table]
    return "".join(
        f"CREATE TRIGGER billing_facts_changed_{event.lower()} AFTER {event} ON {table}"
        f" {TRANSITION[event][0]} FOR EACH STATEMENT"
        f" EXECUTE FUNCTION billing_facts_changed_{table}();\n"
        for event in events
    )


def _drop(table: str) -> str:
    _, events = WATCHED[table]
    drops = "".join(
        f"DROP TRIGGER IF EXISTS billing_facts_changed_{event.lower()} ON {table};\n"
        for event in events
    )
    return drops + f"DROP FUNCTION IF EXISTS billing_facts_changed_{table}();\n"


CREATE_SQL = BUMP_SQL + "".join(_function(table) + _triggers(table) for table in WATCHED)
DROP_SQL = (
    "".join(_drop(table) for table in WATCHED)
    + "DROP FUNCTION IF EXISTS billing_bump_facts_revision(bigint[]);\n"
)


def postgres_only(sql: str):  # type: ignore[no-untyped-def]
    def run(apps, schema_editor):  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(sql)  # no parameters: the SQL is taken as it is

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0005_call_list_progress"),
        ("ccm", "0006_audit_chain_indexed_lookup"),
        ("patients", "0002_period_guards"),
        ("timelog", "0002_period_guards"),
    ]

    operations = [
        migrations.RunPython(postgres_only(CREATE_SQL), postgres_only(DROP_SQL)),
    ]
