"""The worklist CSV's findings and diagnoses cells stored ready to write: the cells of
export_csv_lines (billing.worklist) after neutralise() and after the csv module's quoting
(QUOTE_MINIMAL: a cell holding a comma, a quote, CR or LF in quotes, its quotes doubled),
so the export concatenates them into its lines and nothing scans them again. They replace
0010's findings_text and diagnoses_text (the same text before the neutralising, the
quoting and a correction's reason), which only the export read.

The findings cell is worked out from the row's own columns: `findings`, and `status` with
`correction_reason` (a needs_correction row's reason comes first, `NEEDS_CORRECTION:
reason`), so PostgreSQL writes it again whenever one of them changes (an UPDATE of the
status, the close's COPY): a stored generated column can never disagree with them.

Each function is self-contained: it reads nothing but its arguments and calls only
pg_catalog's functions (no function of ours: a restore sets an empty search_path and
computes the columns again). They stay in step with neutralise(), _findings_cell() and
the csv module; the tests compare them on awkward cells.

PostgreSQL only: on other databases (development on SQLite) the columns are NULL and the
export is written in Python. Reversible: back to 0010's columns (the table is rewritten
either way, as adding a stored generated column does)."""

from __future__ import annotations

from typing import Any

import django.db.models
from django.db import migrations

import billing.models

def _cell(text: str) -> str:
    """neutralise() then the csv module's quoting, of the SQL expression `text`."""
    neutralised = (
        f"CASE WHEN left({text}, 1) IN ('=', '+', '-', '@', E'\\t', E'\\r')"
        f" THEN '''' || {text} ELSE {text} END"
    )
    return (
        f"CASE WHEN {text} ~ E'[\",\\r\\n]'"
        f" THEN '\"' || replace({neutralised}, '\"', '\"\"') || '\"' ELSE {neutralised} END"
    )


# One SELECT over the array's elements each, the cell worked out around the aggregate
# (PostgreSQL computes the one string_agg once however often the expression names it):
# nested subqueries made each call start and stop a bigger plan, 5.7 s instead of 1.1 s
# per 100,000 rows.
_FINDINGS_JOINED = (  # _findings_cell() before neutralise()
    "concat_ws(';',"
    " CASE WHEN status = 'needs_correction' AND correction_reason <> ''"
    " THEN 'NEEDS_CORRECTION: ' || correction_reason END,"
    " string_agg((f ->> 'rule') || ': ' || (f ->> 'message'), ';'))"
)
FUNCTIONS_SQL = f"""
CREATE OR REPLACE FUNCTION billing_findings_csv(
    findings jsonb, status text, correction_reason text
) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT {_cell(_FINDINGS_JOINED)} FROM jsonb_array_elements(findings) f
$$;
CREATE OR REPLACE FUNCTION billing_diagnoses_csv(diagnoses jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT {_cell("coalesce(string_agg(d, ';'), '')")}
    FROM jsonb_array_elements_text(diagnoses) d
$$;
"""
DROP_SQL = """
DROP FUNCTION IF EXISTS billing_findings_csv(jsonb, text, text);
DROP FUNCTION IF EXISTS billing_diagnoses_csv(jsonb);
"""


def create_functions(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTIONS_SQL)


def drop_functions(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL)


def _text_field(expression: Any) -> django.db.models.GeneratedField:
    return django.db.models.GeneratedField(
        db_persist=True,
        expression=expression,
        null=True,
        output_field=django.db.models.TextField(),
    )


class Migration(migrations.Migration):
    dependencies = [("billing", "0010_worklist_export_text")]

    operations = [
        migrations.RunPython(create_functions, drop_functions),
        migrations.RemoveField(model_name="worklistrow", name="findings_text"),
        migrations.RemoveField(model_name="worklistrow", name="diagnoses_text"),
        migrations.AddField(
            model_name="worklistrow",
            name="findings_csv",
            field=_text_field(
                billing.models.ExportText(
                    "findings", "status", "correction_reason", function="billing_findings_csv"
                )
            ),
        ),
        migrations.AddField(
            model_name="worklistrow",
            name="diagnoses_csv",
            field=_text_field(
                billing.models.ExportText("diagnoses", function="billing_diagnoses_csv")
            ),
        ),
    ]
