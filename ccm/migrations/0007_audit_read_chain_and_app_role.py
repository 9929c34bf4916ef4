"""Security and reliability II (issue 15), in the database:

1. Reads are audited on a chain of their own. Every audit insert locks its practice's chain
   until its transaction ends; a patient-page view (a read audit) used to take the same
   lock as every write of the practice, so views and writes queued behind each other and
   a view's lock could be picked as a deadlock victim. The chain key is now (practice,
   chain); the unique index and the trigger's look-up follow it; audit_verify checks each
   chain. The hash is computed as before, so the events already written still verify.
2. The audit log's guard cannot be set aside by a session setting: TRUNCATE is allowed
   only to the owner of the table (a role the application never connects as) with
   ccm.audit_maintenance = 'on', and each such maintenance is recorded in
   ccm_auditmaintenance (append-only, readable by the application, and not a model, so a
   test database's flush never empties it).
3. The application role (settings.CCM_DATABASE_APP_ROLE, the user of DATABASE_URL when
   migrations connect as DATABASE_OWNER_URL) gets reading and writing on every table and
   sequence, now and, by default privileges, on every table a later migration creates:
   no ownership, no TRUNCATE, no TRIGGER or REFERENCES, and on the audit log only SELECT
   and INSERT. Run as the owner of the tables (`make migrate`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import migrations, models

READ_CHAIN_SQL = r"""
CREATE OR REPLACE FUNCTION ccm_audit_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last_seq bigint;
    last_hash text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('ccm_audit_chain:' || NEW.chain),
                                  coalesce(NEW.practice_id, 0)::int);
    SELECT seq, hash INTO last_seq, last_hash FROM ccm_auditevent
     WHERE coalesce(practice_id, 0) = coalesce(NEW.practice_id, 0) AND chain = NEW.chain
       AND seq IS NOT NULL
     ORDER BY coalesce(practice_id, 0) DESC, chain DESC, seq DESC LIMIT 1;
    NEW.seq := coalesce(last_seq, 0) + 1;
    NEW.prev_hash := coalesce(last_hash, '');
    NEW.hash := ccm_audit_hash(NEW.prev_hash, NEW.seq, NEW.practice_id, NEW.actor_id,
        NEW.action, NEW.object_type, NEW.object_id, NEW.before, NEW.after, NEW.reason, NEW.at);
    RETURN NEW;
END $$;
DROP INDEX ccm_auditevent_practice_seq;
CREATE UNIQUE INDEX ccm_auditevent_practice_seq
    ON ccm_auditevent (coalesce(practice_id, 0), chain, seq);
"""

ONE_CHAIN_SQL = r"""
CREATE OR REPLACE FUNCTION ccm_audit_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last_seq bigint;
    last_hash text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('ccm_audit_chain'), coalesce(NEW.practice_id, 0)::int);
    SELECT seq, hash INTO last_seq, last_hash FROM ccm_auditevent
     WHERE coalesce(practice_id, 0) = coalesce(NEW.practice_id, 0) AND seq IS NOT NULL
     ORDER BY coalesce(practice_id, 0) DESC, seq DESC LIMIT 1;
    NEW.seq := coalesce(last_seq, 0) + 1;
    NEW.prev_hash := coalesce(last_hash, '');
    NEW.hash := ccm_audit_hash(NEW.prev_hash, NEW.seq, NEW.practice_id, NEW.actor_id,
        NEW.action, NEW.object_type, NEW.object_id, NEW.before, NEW.after, NEW.reason, NEW.at);
    RETURN NEW;
END $$;
DROP INDEX ccm_auditevent_practice_seq;
CREATE UNIQUE INDEX ccm_auditevent_practice_seq ON ccm_auditevent (coalesce(practice_id, 0), seq);
"""

OWNER_ONLY_MAINTENANCE_SQL = r"""
CREATE TABLE ccm_auditmaintenance (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    db_role name NOT NULL DEFAULT current_user,
    session_role name NOT NULL DEFAULT session_user,
    operation text NOT NULL,
    reason text NOT NULL DEFAULT ''
);

-- Maintenance is allowed to the owner of the table alone (a superuser counts), and only
-- when it says so: a setting any session can make is not enough by itself.
CREATE OR REPLACE FUNCTION ccm_audit_maintenance_allowed(relation oid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('ccm.audit_maintenance', true), 'off') = 'on'
       AND pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = relation),
                       'USAGE')
$$;

CREATE OR REPLACE FUNCTION ccm_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' AND ccm_audit_maintenance_allowed(TG_RELID) THEN
        INSERT INTO ccm_auditmaintenance (operation, reason)
        VALUES ('TRUNCATE ' || TG_TABLE_NAME,
                coalesce(current_setting('ccm.audit_maintenance_reason', true), ''));
        RAISE WARNING 'audit log maintenance by %: TRUNCATE %', current_user, TG_TABLE_NAME;
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP
        USING ERRCODE = 'CC403';
END $$;

CREATE OR REPLACE FUNCTION ccm_audit_maintenance_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit maintenance record is append-only: % refused', TG_OP
        USING ERRCODE = 'CC403';
END $$;
CREATE TRIGGER ccm_auditmaintenance_no_change BEFORE UPDATE OR DELETE ON ccm_auditmaintenance
    FOR EACH ROW EXECUTE FUNCTION ccm_audit_maintenance_append_only();
CREATE TRIGGER ccm_auditmaintenance_no_truncate BEFORE TRUNCATE ON ccm_auditmaintenance
    FOR EACH STATEMENT EXECUTE FUNCTION ccm_audit_maintenance_append_only();
"""

ANY_SESSION_MAINTENANCE_SQL = r"""
CREATE OR REPLACE FUNCTION ccm_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE'
       AND coalesce(current_setting('ccm.audit_maintenance', true), 'off') = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP
        USING ERRCODE = 'CC403';
END $$;
DROP TABLE ccm_auditmaintenance;
DROP FUNCTION ccm_audit_maintenance_append_only();
DROP FUNCTION ccm_audit_maintenance_allowed(oid);
"""

# {app} is the quoted application role.
APP_ROLE_SQL = r"""
DO $$ BEGIN
    IF pg_has_role(current_user,
                   (SELECT nspowner FROM pg_namespace WHERE nspname = 'public'), 'USAGE') THEN
        REVOKE CREATE ON SCHEMA public FROM PUBLIC;
    END IF;
END $$;
GRANT USAGE ON SCHEMA public TO {app};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app};
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {app};
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app};
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {app};
REVOKE UPDATE, DELETE ON ccm_auditevent FROM {app};
REVOKE ALL ON ccm_auditmaintenance FROM {app};
GRANT SELECT ON ccm_auditmaintenance TO {app};
"""

APP_ROLE_REVERSE_SQL = r"""
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM {app};
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT, UPDATE ON SEQUENCES FROM {app};
"""


def postgres_only(sql: str):  # type: ignore[no-untyped-def]
    def run(apps, schema_editor):  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(sql)  # no parameters: the % of the SQL stay as they are

    return run


def for_the_app_role(sql: str):  # type: ignore[no-untyped-def]
    """Run `sql` for settings.CCM_DATABASE_APP_ROLE; nothing when the application
    connects as the owner (one role: development, SQLite) or is the migrating role."""

    def run(apps, schema_editor):  # type: ignore[no-untyped-def]
        connection = schema_editor.connection
        role = getattr(settings, "CCM_DATABASE_APP_ROLE", None)
        if connection.vendor != "postgresql" or not role:
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT rolname = current_user FROM pg_roles WHERE rolname = %s", [role])
            found = cursor.fetchone()
            if found is None:
                raise RuntimeError(
                    f"The application's database role {role!r} does not exist: create it "
                    "(README, Production) and migrate again."
                )
            if not found[0]:
                cursor.execute(sql.format(app=connection.ops.quote_name(role)))

    return run


class Migration(migrations.Migration):
    dependencies = [("ccm", "0006_audit_chain_indexed_lookup")]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="chain",
            field=models.CharField(
                choices=[("changes", "Changes"), ("reads", "Reads")],
                default="changes",
                editable=False,
                max_length=8,
            ),
        ),
        migrations.RunPython(postgres_only(READ_CHAIN_SQL), postgres_only(ONE_CHAIN_SQL)),
        migrations.RunPython(
            postgres_only(OWNER_ONLY_MAINTENANCE_SQL), postgres_only(ANY_SESSION_MAINTENANCE_SQL)
        ),
        migrations.RunPython(
            for_the_app_role(APP_ROLE_SQL), for_the_app_role(APP_ROLE_REVERSE_SQL)
        ),
    ]
