"""The audit hash chain's trigger finds the practice's last event through the
(coalesce(practice_id, 0), seq) index instead of scanning the practice's whole log.

0005's trigger asked for `practice_id IS NOT DISTINCT FROM NEW.practice_id`, which no index
serves: every audited write read all of its practice's events (a sequential scan and a
sort, growing with the log) while holding the practice's chain lock, so audited writes
slowed down as the log grew and queued behind each other. The same condition written as
the index's expression is one backward index step. The chain itself (seq, prev_hash, hash)
is unchanged, so audit_verify checks old and new events alike; practice ids start at 1,
so coalesce(practice_id, 0) keeps events without a practice in a chain of their own, as
before.
"""

from __future__ import annotations

from django.db import migrations

INDEXED_SQL = r"""
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
"""

SCANNING_SQL = r"""
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
"""


def postgres_only(sql: str):  # type: ignore[no-untyped-def]
    def run(apps, schema_editor):  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(sql)  # no parameters: the % of the SQL stay as they are

    return run


class Migration(migrations.Migration):
    dependencies = [("ccm", "0005_database_guards")]

    operations = [
        migrations.RunPython(postgres_only(INDEXED_SQL), postgres_only(SCANNING_SQL)),
    ]
