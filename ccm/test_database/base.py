"""The database backend of the test settings: PostgreSQL with production's two roles.

The suite connects as the application role (`USER` of the settings), which owns nothing:
no TRUNCATE, no ALTER, no trigger control (README, Production). What only an owner may do
is done here as the owner, as `make migrate` does it in production:

- `create_test_db`: the bootstrap role (a superuser: the user of TEST_DATABASE_URL)
  creates both roles when missing and the test database, owned by the owner role; the
  owner runs the migrations (ccm migration 0007 grants the application role its rights,
  and by default privileges on every table a later migration creates).
- the flush between transactional tests: the owner truncates the tables, saying so with
  ccm.audit_maintenance (the audit log's guard lets the owner alone do that, and records
  it in ccm_auditmaintenance).
- `destroy_test_db`: the bootstrap role drops the database.

Each role is {"USER", "PASSWORD"} under settings_dict["TEST"]["ROLES"]["bootstrap" |
"owner" | "app"]; the settings' own USER and PASSWORD are the application role's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import DatabaseError
from django.db.backends.postgresql import base, creation, operations

MAINTENANCE_REASON = "test database flush"


def _role(settings_dict: dict[str, Any], name: str) -> dict[str, str]:
    """{"USER", "PASSWORD"} of role `name`: "bootstrap", "owner" or "app"."""
    role: dict[str, str] = settings_dict["TEST"]["ROLES"][name]
    return role


@contextmanager
def connected_as(connection: Any, name: str) -> Iterator[None]:
    """Make `connection` connect as role `name` until the block ends (its settings are
    the settings module's own dict: a connection opened meanwhile uses the role)."""
    settings_dict = connection.settings_dict
    before = {"USER": settings_dict["USER"], "PASSWORD": settings_dict["PASSWORD"]}
    connection.close()
    settings_dict.update(_role(settings_dict, name))
    try:
        yield
    finally:
        connection.close()
        settings_dict.update(before)


@contextmanager
def owner_connection(connection: Any) -> Iterator[Any]:
    """A separate connection to the same database as the owner of its tables, for what
    the application may not do: the flush, or a test playing an attacker with the
    owner's rights."""
    settings_dict = {**connection.settings_dict, **_role(connection.settings_dict, "owner")}
    owner = DatabaseWrapper(settings_dict, alias="__owner__")
    try:
        yield owner
    finally:
        owner.close()


#: What each role may do besides signing in: the owner creates the test database and owns
#: what migrations create; the application role owns nothing and inherits nothing.
ROLE_ATTRIBUTES = {
    "owner": "NOSUPERUSER CREATEDB NOCREATEROLE",
    "app": "NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT",
}


class DatabaseCreation(creation.DatabaseCreation):
    def create_test_db(self, *args: Any, **kwargs: Any) -> str:
        """Created by the bootstrap role (`_create_test_db`), migrated by the owner; the
        suite then connects as the application role."""
        with connected_as(self.connection, "owner"):
            name: str = super().create_test_db(*args, **kwargs)
        return name

    def _create_test_db(self, verbosity: int, autoclobber: bool, keepdb: bool = False) -> str:
        with connected_as(self.connection, "bootstrap"):
            self.ensure_roles()
            name: str = super()._create_test_db(verbosity, autoclobber, keepdb)  # type: ignore[misc]
        return name

    def ensure_roles(self) -> None:
        """Create the owner and application roles when missing (scripts/ensure_services.sh
        does the same for `make test`); a concurrent run creating one first is fine."""
        quote = self.connection.ops.quote_name
        with self.connection._nodb_cursor() as cursor:
            for name in ROLE_ATTRIBUTES:
                role = _role(self.connection.settings_dict, name)
                cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role["USER"]])
                if cursor.fetchone() is not None:
                    continue
                try:
                    cursor.execute(
                        f"CREATE ROLE {quote(role['USER'])} LOGIN {ROLE_ATTRIBUTES[name]}"
                        " PASSWORD %s",
                        [role["PASSWORD"]],
                    )
                except DatabaseError:
                    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role["USER"]])
                    if cursor.fetchone() is None:
                        raise

    def sql_table_creation_suffix(self) -> str:
        owner = _role(self.connection.settings_dict, "owner")["USER"]
        suffix: str = super().sql_table_creation_suffix()
        return f"WITH OWNER {self.connection.ops.quote_name(owner)}{suffix.removeprefix('WITH')}"

    def _destroy_test_db(self, test_database_name: str, verbosity: int) -> None:
        with connected_as(self.connection, "bootstrap"):
            super()._destroy_test_db(test_database_name, verbosity)  # type: ignore[misc]


class DatabaseOperations(operations.DatabaseOperations):
    def execute_sql_flush(self, sql_list: Iterable[str]) -> None:
        """The flush of a transactional test, as the owner (the application role may not
        truncate), recorded as audit maintenance."""
        with owner_connection(self.connection) as owner, owner.cursor() as cursor:
            cursor.execute("SET ccm.audit_maintenance = 'on'")
            cursor.execute(f"SET ccm.audit_maintenance_reason = '{MAINTENANCE_REASON}'")
            for sql in sql_list:
                cursor.execute(sql)


class DatabaseWrapper(base.DatabaseWrapper):
    creation_class = DatabaseCreation
    ops_class = DatabaseOperations
