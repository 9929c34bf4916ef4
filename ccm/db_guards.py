"""Installing the period guard (the ccm_period_guard trigger function of ccm migration
0005) on an app's tables, from that app's migrations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import migrations


def period_guard_operation(guards: Mapping[str, Sequence[str]]) -> migrations.RunPython:
    """A migration operation that puts a BEFORE INSERT/UPDATE/DELETE trigger on each table:
    `guards` maps a table to (practice source, date column, ...), the trigger's arguments
    ('practice_id' when the row has it, else 'patient_id'). PostgreSQL only."""

    def create(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for table, arguments in guards.items():
            quoted = ", ".join(f"'{value}'" for value in arguments)
            schema_editor.execute(
                f"CREATE TRIGGER {table}_period_guard"
                f" BEFORE INSERT OR UPDATE OR DELETE ON {table}"
                f" FOR EACH ROW EXECUTE FUNCTION ccm_period_guard({quoted})"
            )

    def drop(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for table in guards:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_period_guard ON {table}")

    return migrations.RunPython(create, drop)
