"""The worklist CSV's findings and diagnoses cells stored on each row: generated columns
over two IMMUTABLE SQL functions, so PostgreSQL writes them with every row it writes
(the close's COPY, an UPDATE of `findings`) and the export only reads them.

The functions are the cells of export_csv_lines (billing.worklist) before neutralise()
and before a correction's reason: `RULE: message` of each finding in the array's order,
joined with `;` (a finding without a rule or message is left out, as string_agg leaves
out NULLs); the diagnoses as they are, joined with `;`. No finding or diagnosis: ''.
They read nothing but their argument and call only pg_catalog's functions, so a restore
(pg_dump sets an empty search_path) computes the same text.

A row keeps its values inline and uncompressed up to 4 KB (toast_tuple_target; 2 KB by
default): with the findings text beside `findings`, most rows pass 2 KB, and PostgreSQL
would compress them and move one value out to the TOAST table, which made writing
100,000 rows (the close's COPY) cost 2.5 s more CPU instead of 1.4 s; the table takes
about twice the space (280 MB per 100,000 rows instead of 145 MB).

PostgreSQL only: on other databases (development on SQLite) the columns are NULL and the
export is written in Python."""

from __future__ import annotations

from typing import Any

import django.db.models
from django.db import migrations

import billing.models

FUNCTIONS_SQL = r"""
CREATE OR REPLACE FUNCTION billing_findings_text(findings jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(string_agg((f ->> 'rule') || ': ' || (f ->> 'message'), ';'), '')
    FROM jsonb_array_elements(findings) f
$$;
CREATE OR REPLACE FUNCTION billing_diagnoses_text(diagnoses jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(string_agg(d, ';'), '') FROM jsonb_array_elements_text(diagnoses) d
$$;
ALTER TABLE billing_worklistrow SET (toast_tuple_target = 4080);
"""
DROP_SQL = """
ALTER TABLE billing_worklistrow RESET (toast_tuple_target);
DROP FUNCTION IF EXISTS billing_findings_text(jsonb);
DROP FUNCTION IF EXISTS billing_diagnoses_text(jsonb);
"""


def create_functions(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTIONS_SQL)


def drop_functions(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL)


class Migration(migrations.Migration):
    dependencies = [("billing", "0009_facts_revision_people_names")]

    operations = [
        migrations.RunPython(create_functions, drop_functions),
        migrations.AddField(
            model_name="worklistrow",
            name="findings_text",
            field=django.db.models.GeneratedField(
                db_persist=True,
                expression=billing.models.ExportText("findings", function="billing_findings_text"),
                null=True,
                output_field=django.db.models.TextField(),
            ),
        ),
        migrations.AddField(
            model_name="worklistrow",
            name="diagnoses_text",
            field=django.db.models.GeneratedField(
                db_persist=True,
                expression=billing.models.ExportText(
                    "diagnoses", function="billing_diagnoses_text"
                ),
                null=True,
                output_field=django.db.models.TextField(),
            ),
        ),
    ]
