"""The application connects as a role that owns nothing, so no session of it can switch the
audit log off (issue 15): it cannot TRUNCATE the log, disable or replace a trigger, or SET
its way around the guard. Maintenance that must bypass the guard is the owner's alone and
is recorded. Every test here runs as the application role, as the whole suite does
(ccm/test_database/base.py); the owner's side goes through a connection of its own."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from ccm.audit import audit_record
from ccm.models import AuditEvent, User
from ccm.test_database.base import MAINTENANCE_REASON, DatabaseWrapper, owner_connection

pytestmark = pytest.mark.django_db
APP_ROLE = settings.CCM_DATABASE_APP_ROLE
ROOT = Path(__file__).resolve().parents[2]


def refused(sql: str, params: list[object] | None = None) -> str:
    """Run `sql` as the application in a savepoint; the database's refusal message."""
    with pytest.raises(DatabaseError) as error, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    return str(error.value)


def one(sql: str, params: list[object] | None = None) -> object:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


@pytest.fixture
def event(admin_user: User) -> AuditEvent:
    return audit_record(actor=admin_user, action="x.test", object_type="x", object_id=1)


def test_the_suite_connects_as_the_application_role_which_owns_nothing() -> None:
    assert APP_ROLE and one("SELECT current_user") == APP_ROLE
    assert one("SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles"
               " WHERE rolname = current_user") is False  # fmt: skip
    owned = one(
        """SELECT count(*) FROM (
               SELECT relowner AS owner FROM pg_class
               UNION ALL SELECT proowner FROM pg_proc
               UNION ALL SELECT nspowner FROM pg_namespace
               UNION ALL SELECT datdba FROM pg_database
               UNION ALL SELECT typowner FROM pg_type
           ) objects WHERE owner = (SELECT oid FROM pg_roles WHERE rolname = current_user)"""
    )
    assert owned == 0
    assert one("SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member"
               " WHERE r.rolname = current_user") == 0  # fmt: skip
    assert one("SELECT has_schema_privilege('public', 'CREATE')") is False


def test_every_table_is_the_applications_to_read_and_write_but_never_to_truncate() -> None:
    tables = connection.introspection.django_table_names(only_existing=True)
    assert "ccm_auditevent" in tables and len(tables) > 20
    for table in tables:
        writes = "SELECT, INSERT" if table == "ccm_auditevent" else "SELECT, INSERT, UPDATE, DELETE"
        assert one("SELECT has_table_privilege(%s, %s)", [table, writes]) is True, table
        for forbidden in ("TRUNCATE", "TRIGGER", "REFERENCES"):
            assert one("SELECT has_table_privilege(%s, %s)", [table, forbidden]) is False, (
                table,
                forbidden,
            )
    for kept in ("UPDATE", "DELETE"):
        assert one("SELECT has_table_privilege('ccm_auditevent', %s)", [kept]) is False


@pytest.fixture
def owner_table() -> Iterator[str]:
    """A table made by the owner after the migrations, as another engineer's later
    migration would make it."""
    with owner_connection(connection) as owner, owner.cursor() as cursor:
        cursor.execute("CREATE TABLE ccm_later_table (id bigserial PRIMARY KEY, note text)")
    yield "ccm_later_table"
    with owner_connection(connection) as owner, owner.cursor() as cursor:
        cursor.execute("DROP TABLE ccm_later_table")


@pytest.mark.django_db(transaction=True)
def test_a_table_a_later_migration_creates_is_reachable_without_any_grant(
    owner_table: str,
) -> None:
    """ccm migration 0007's default privileges: nobody adding a table grants anything."""
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {owner_table} (note) VALUES ('reached')")  # noqa: S608
        cursor.execute(f"UPDATE {owner_table} SET note = 'changed'")  # noqa: S608
        cursor.execute(f"SELECT note FROM {owner_table}")  # noqa: S608
        assert cursor.fetchone() == ("changed",)
        cursor.execute(f"DELETE FROM {owner_table}")  # noqa: S608
    assert "permission denied" in refused(f"TRUNCATE {owner_table}")
    assert "must be owner" in refused(f"ALTER TABLE {owner_table} ADD COLUMN x int")


def test_the_application_cannot_truncate_the_audit_log(event: AuditEvent) -> None:
    assert "permission denied for table ccm_auditevent" in refused("TRUNCATE ccm_auditevent")
    assert "permission denied" in refused("TRUNCATE ccm_auditevent CASCADE")
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TABLE ccm_auditevent DISABLE TRIGGER ccm_audit_no_change",
        "ALTER TABLE ccm_auditevent DISABLE TRIGGER ccm_audit_no_truncate",
        "ALTER TABLE ccm_auditevent DISABLE TRIGGER ALL",
        "ALTER TABLE ccm_auditevent DISABLE TRIGGER USER",
        "DROP TRIGGER ccm_audit_no_change ON ccm_auditevent",
        "ALTER TABLE timelog_timeactivity DISABLE TRIGGER timelog_timeactivity_period_guard",
        "CREATE OR REPLACE FUNCTION ccm_audit_append_only() RETURNS trigger"
        " LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$",
        "ALTER FUNCTION ccm_audit_maintenance_allowed(oid) RENAME TO unused",
        "ALTER TABLE ccm_auditevent OWNER TO CURRENT_USER",
    ],
)
def test_the_application_cannot_disable_or_replace_a_trigger(event: AuditEvent, sql: str) -> None:
    assert re.search("must be owner|permission denied for schema", refused(sql))


def test_the_application_cannot_set_its_way_around_the_guard(event: AuditEvent) -> None:
    def with_maintenance_on(sql: str) -> str:
        return refused(
            f"SET LOCAL ccm.audit_maintenance = 'on';"
            f" SET LOCAL ccm.audit_maintenance_reason = 'cleanup'; {sql}"
        )

    assert "permission denied" in with_maintenance_on("TRUNCATE ccm_auditevent")
    assert "permission denied" in with_maintenance_on(
        f"DELETE FROM ccm_auditevent WHERE id = {event.pk}"  # noqa: S608
    )
    assert "permission denied" in with_maintenance_on(
        f"UPDATE ccm_auditevent SET action = 'y' WHERE id = {event.pk}"  # noqa: S608
    )
    # Switching every trigger off for the session, or becoming the owner, is refused too.
    assert "permission denied" in refused("SET session_replication_role = replica")
    owner = settings.DATABASES["default"]["TEST"]["ROLES"]["owner"]["USER"]
    assert "permission denied" in refused(f'SET ROLE "{owner}"')
    assert "permission denied" in refused(f'SET SESSION AUTHORIZATION "{owner}"')
    # And the maintenance record is the owner's to write, not the application's.
    assert "permission denied" in refused(
        "INSERT INTO ccm_auditmaintenance (operation) VALUES ('TRUNCATE ccm_auditevent')"
    )
    assert AuditEvent.objects.get(pk=event.pk).action == "x.test"


def maintenance_records() -> list[tuple[str, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT db_role, operation, reason FROM ccm_auditmaintenance ORDER BY id")
        return [tuple(row) for row in cursor.fetchall()]


@pytest.mark.django_db(transaction=True)
def test_the_owner_alone_may_truncate_the_log_saying_so_and_it_is_recorded(
    event: AuditEvent,
) -> None:
    owner = settings.DATABASES["default"]["TEST"]["ROLES"]["owner"]["USER"]
    before = maintenance_records()
    with owner_connection(connection) as session, session.cursor() as cursor:
        for sql in (
            f"UPDATE ccm_auditevent SET action = 'y' WHERE id = {event.pk}",  # noqa: S608
            f"DELETE FROM ccm_auditevent WHERE id = {event.pk}",  # noqa: S608
            "TRUNCATE ccm_auditevent CASCADE",  # without saying it is maintenance
        ):
            with pytest.raises(DatabaseError, match="append-only"):
                cursor.execute(sql)  # autocommit: each refusal ends its own transaction
        assert maintenance_records() == before
        cursor.execute("SET ccm.audit_maintenance = 'on'")
        cursor.execute("SET ccm.audit_maintenance_reason = 'retention: drop test practice'")
        with pytest.raises(DatabaseError, match="append-only"):
            cursor.execute(f"DELETE FROM ccm_auditevent WHERE id = {event.pk}")  # noqa: S608
        cursor.execute("TRUNCATE ccm_auditevent CASCADE")
    assert not AuditEvent.objects.exists()
    assert maintenance_records() == [
        *before,
        (owner, "TRUNCATE ccm_auditevent", "retention: drop test practice"),
    ]


@pytest.mark.django_db(transaction=True)
def test_the_flush_between_transactional_tests_is_the_owners_recorded_maintenance(
    event: AuditEvent,
) -> None:
    owner = settings.DATABASES["default"]["TEST"]["ROLES"]["owner"]["USER"]
    before = maintenance_records()
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditEvent.objects.exists()
    assert maintenance_records()[len(before) :] == [
        (owner, "TRUNCATE ccm_auditevent", MAINTENANCE_REASON)
    ]
    assert one("SELECT current_user") == APP_ROLE  # the suite's connection is unchanged


def test_the_maintenance_record_is_append_only() -> None:
    assert "permission denied" in refused("DELETE FROM ccm_auditmaintenance")
    with owner_connection(connection) as session, session.cursor() as cursor:
        cursor.execute("INSERT INTO ccm_auditmaintenance (operation) VALUES ('a record')")
        for sql in (
            "UPDATE ccm_auditmaintenance SET reason = 'rewritten'",
            "DELETE FROM ccm_auditmaintenance",
            "TRUNCATE ccm_auditmaintenance",
        ):
            with pytest.raises(DatabaseError, match="append-only"):
                cursor.execute(sql)  # autocommit: each refusal ends its own transaction


@pytest.fixture
def deploy_database() -> Iterator[str]:
    """An empty database beside the test database, dropped afterwards (by the bootstrap
    superuser, as an administrator would make one)."""
    name = f"{connection.settings_dict['NAME']}_deploy"
    bootstrap = connection.settings_dict["TEST"]["ROLES"]["bootstrap"]
    admin = DatabaseWrapper({**connection.settings_dict, **bootstrap, "NAME": "postgres"}, "admin")
    admin.set_autocommit(True)
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    yield name
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.close()


@pytest.mark.slow
def test_the_readme_production_steps_migrate_as_the_owner_for_an_app_that_owns_nothing(
    deploy_database: str,
) -> None:
    """scripts/postgres_roles.sh (what docker-compose's PostgreSQL runs first), then `make
    migrate` with DATABASE_OWNER_URL and DATABASE_URL, as README "Production" says: every
    table is the owner's, and the application role reads and writes them and owns none."""
    settings_dict = connection.settings_dict
    roles = settings_dict["TEST"]["ROLES"]
    passwords = {
        "ccm_owner": roles["owner"]["PASSWORD"] if roles["owner"]["USER"] == "ccm_owner" else "x",
        "ccm_app": roles["app"]["PASSWORD"] if roles["app"]["USER"] == "ccm_app" else "y",
    }
    host, port = settings_dict["HOST"] or "127.0.0.1", str(settings_dict["PORT"] or 5432)
    server = dict(os.environ, PGHOST=host, PGPORT=port)
    subprocess.run(
        [str(ROOT / "scripts" / "postgres_roles.sh")],
        env=dict(
            server,
            PGPASSWORD=roles["bootstrap"]["PASSWORD"] or "",
            POSTGRES_USER=roles["bootstrap"]["USER"],
            POSTGRES_DB=deploy_database,
            CCM_OWNER_DB_PASSWORD=passwords["ccm_owner"],
            CCM_APP_DB_PASSWORD=passwords["ccm_app"],
        ),
        check=True,
        capture_output=True,
        timeout=60,
    )

    def url(role: str) -> str:
        return f"postgres://{role}:{passwords[role]}@{host}:{port}/{deploy_database}"

    migrate = subprocess.run(
        ["make", "--no-print-directory", "migrate"],
        cwd=ROOT,
        env=dict(
            server,
            DJANGO_SETTINGS_MODULE="ccm.settings.production",
            SECRET_KEY="deploy-test-" + "k" * 50,
            DATABASE_URL=url("ccm_app"),
            DATABASE_OWNER_URL=url("ccm_owner"),
        ),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    app = DatabaseWrapper(
        {
            **settings_dict,
            "USER": "ccm_app",
            "PASSWORD": passwords["ccm_app"],
            "NAME": deploy_database,
        },
        "deployed",
    )
    try:
        with app.cursor() as cursor:
            cursor.execute(
                "SELECT count(*), count(*) FILTER (WHERE tableowner = 'ccm_owner'),"
                " count(*) FILTER (WHERE has_table_privilege(tablename, 'SELECT, INSERT')),"
                " count(*) FILTER (WHERE has_table_privilege(tablename, 'TRUNCATE'))"
                " FROM pg_tables WHERE schemaname = 'public'"
            )
            tables, owned_by_owner, reachable, truncatable = cursor.fetchone()
            assert tables > 20 and owned_by_owner == tables == reachable, (tables, owned_by_owner)
            assert truncatable == 0
            cursor.execute(
                "SELECT count(*) FROM pg_class WHERE relowner ="
                " (SELECT oid FROM pg_roles WHERE rolname = current_user)"
            )
            assert cursor.fetchone()[0] == 0
            cursor.execute("SELECT count(*) FROM django_migrations WHERE app = 'ccm'")
            assert cursor.fetchone()[0] >= 7
    finally:
        app.close()
