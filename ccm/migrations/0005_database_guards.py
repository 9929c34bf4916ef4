"""Database guards (PostgreSQL): the audit log is append-only and hash-chained per
practice, and a shared trigger function refuses changes dated in a closing or closed
billing month, whatever the path (ORM, QuerySet.update(), raw SQL)."""

from __future__ import annotations

from django.db import migrations

AUDIT_SQL = r"""
CREATE OR REPLACE FUNCTION ccm_audit_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last_seq bigint;
    last_hash text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('ccm_audit_chain'), coalesce(NEW.practice_id, 0)::int);
    SELECT seq, hash INTO last_seq, last_hash FROM ccm_auditevent
     WHERE practice_id IS NOT DISTINCT FROM NEW.practice_id AND seq IS NOT NULL
     ORDER BY seq DESC LIMIT 1;
    NEW.seq := coalesce(last_seq, 0) + 1;
    NEW.prev_hash := coalesce(last_hash, '');
    NEW.hash := ccm_audit_hash(NEW.prev_hash, NEW.seq, NEW.practice_id, NEW.actor_id,
        NEW.action, NEW.object_type, NEW.object_id, NEW.before, NEW.after, NEW.reason, NEW.at);
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION ccm_audit_hash(prev text, seq bigint, practice bigint, actor bigint,
    action text, object_type text, object_id text, before jsonb, after jsonb, reason text,
    at timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT encode(sha256(convert_to(concat_ws('|', prev, seq::text, coalesce(practice::text, ''),
        coalesce(actor::text, ''), action, object_type, object_id, coalesce(before::text, ''),
        coalesce(after::text, ''), reason,
        to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')), 'UTF8')), 'hex')
$$;

CREATE OR REPLACE FUNCTION ccm_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE'
       AND coalesce(current_setting('ccm.audit_maintenance', true), 'off') = 'on' THEN
        RETURN NULL;  -- only a test database's flush sets this
    END IF;
    RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP
        USING ERRCODE = 'CC403';
END $$;

CREATE TRIGGER ccm_audit_chain BEFORE INSERT ON ccm_auditevent
    FOR EACH ROW EXECUTE FUNCTION ccm_audit_chain();
CREATE TRIGGER ccm_audit_no_change BEFORE UPDATE OR DELETE ON ccm_auditevent
    FOR EACH ROW EXECUTE FUNCTION ccm_audit_append_only();
CREATE TRIGGER ccm_audit_no_truncate BEFORE TRUNCATE ON ccm_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION ccm_audit_append_only();
CREATE UNIQUE INDEX ccm_auditevent_practice_seq ON ccm_auditevent (coalesce(practice_id, 0), seq);
"""

PERIOD_SQL = r"""
-- ccm_period_guard(practice_source, date_column, ...): practice_source is 'practice_id'
-- (the row has it) or 'patient_id' (through patients_patient). An INSERT or DELETE with a
-- date inside a closing or closed month is refused; an UPDATE is refused when a date it
-- changes falls in such a month (old or new value), or, when it changes anything else,
-- when any of the row's dates does.
CREATE OR REPLACE FUNCTION ccm_period_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    source text := TG_ARGV[0];
    date_columns text[] := TG_ARGV[1:TG_NARGS - 1];
    others_changed boolean := false;
    rec jsonb;
    practice bigint;
    col text;
    day date;
    state text;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        others_changed := (to_jsonb(NEW) - date_columns) IS DISTINCT FROM
                          (to_jsonb(OLD) - date_columns);
    END IF;
    FOR rec IN SELECT r FROM (VALUES
        (CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN to_jsonb(OLD) END),
        (CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN to_jsonb(NEW) END)) AS v(r)
        WHERE r IS NOT NULL
    LOOP
        IF source = 'practice_id' THEN
            practice := (rec ->> 'practice_id')::bigint;
        ELSE
            SELECT p.practice_id INTO practice FROM patients_patient p
             WHERE p.id = (rec ->> 'patient_id')::bigint;
        END IF;
        FOREACH col IN ARRAY date_columns LOOP
            CONTINUE WHEN TG_OP = 'UPDATE' AND NOT others_changed
                AND (to_jsonb(OLD) ->> col) IS NOT DISTINCT FROM (to_jsonb(NEW) ->> col);
            day := (rec ->> col)::date;
            CONTINUE WHEN day IS NULL;
            SELECT status INTO state FROM ccm_billingmonth
             WHERE practice_id = practice AND month = date_trunc('month', day)::date;
            IF state IN ('closing', 'closed') THEN
                RAISE EXCEPTION 'the billing month % is %: % of %.% refused',
                    to_char(day, 'YYYY-MM'), state, TG_OP, TG_TABLE_NAME, col
                    USING ERRCODE = 'CC409';
            END IF;
        END LOOP;
    END LOOP;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
"""

REVERSE_SQL = r"""
DROP TRIGGER IF EXISTS ccm_audit_chain ON ccm_auditevent;
DROP TRIGGER IF EXISTS ccm_audit_no_change ON ccm_auditevent;
DROP TRIGGER IF EXISTS ccm_audit_no_truncate ON ccm_auditevent;
DROP INDEX IF EXISTS ccm_auditevent_practice_seq;
DROP FUNCTION IF EXISTS ccm_audit_chain();
DROP FUNCTION IF EXISTS ccm_audit_hash(text, bigint, bigint, bigint, text, text, text, jsonb, jsonb, text, timestamptz);
DROP FUNCTION IF EXISTS ccm_audit_append_only();
DROP FUNCTION IF EXISTS ccm_period_guard();
"""


def postgres_only(sql: str):  # type: ignore[no-untyped-def]
    def run(apps, schema_editor):  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(sql)  # no parameters: the % of the SQL stay as they are

    return run


class Migration(migrations.Migration):
    dependencies = [("ccm", "0004_audit_hash_chain")]

    operations = [
        migrations.RunPython(postgres_only(AUDIT_SQL + PERIOD_SQL), postgres_only(REVERSE_SQL)),
    ]
