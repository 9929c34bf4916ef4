"""`AnyOf(F("field"), ids)`: membership in a list of ids as one array parameter.

Django's `__in` writes one placeholder per value; for the close's chunks of tens of
thousands of patients that is a long statement to send and plan. `= ANY(%s::bigint[])`
sends the ids as one array, and PostgreSQL (14 and later) hashes a long constant array,
so the planner can pick a bitmap or sequential scan with the true row estimate (the
`IN (SELECT unnest(...))` it replaces was estimated at 200 rows and planned as one index
probe per patient: 4.3 s instead of 1.3 s for 25,000 patients). On other databases (SQLite
in development) it is `IN`. Used as an expression: `queryset.filter(AnyOf(F("pk"), ids))`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models.lookups import In, Lookup


class AnyOf(Lookup):
    """`column = ANY(%s::bigint[])` for integer keys (ids, foreign keys)."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        if connection.vendor != "postgresql":
            return In(self.lhs, list(self.rhs)).as_sql(compiler, connection)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s::bigint[])", (*lhs_params, bigint_array(self.rhs))


def bigint_array(values: Iterable[Any]) -> str:
    """The integer keys as one PostgreSQL array literal, `{1,2,3}`, to pass as a parameter
    cast to bigint[]. psycopg adapts a Python list element by element in Python: 11.5 ms
    for a chunk's 14,573 patient ids against 2.1 ms for this literal, and a close passes
    about 60 such arrays. Every value goes through int(), so the literal holds digits and
    commas only."""
    return "{" + ",".join(map(str, map(int, values))) + "}"
