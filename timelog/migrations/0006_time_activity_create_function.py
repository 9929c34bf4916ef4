"""A new time activity, its shares and its audit event written by one call
(timelog_time_activity_create), the month locked first (issue 16: the time-entry POST).

timelog.services.time_activity_create used to send four statements after its checks:
the month's lock (ccm.periods), the activity, its shares and the audit event, each
through the ORM. This function runs the same statements, in the same order, inside
PostgreSQL: one round trip, its plans prepared once per connection. The order is the lock
order of ccm.locks: the billing month FOR SHARE (2); the activity and its shares, whose
statement trigger bumps the patients' facts revisions when the shares' statement ends
(4); the audit event last, whose trigger takes the practice's chain lock and hashes the
event into the chain (5, ccm migrations 0005-0007). A statement is used for each step,
never one statement with data-modifying WITH clauses: those would run the shares' facts
trigger after the audit insert, taking lock 4 after lock 5.

A month that is not open writes nothing and answers its status; the service raises 409.
The audit event's content (its `after` snapshot, action, object, actor, practice, time)
is given by the service, which builds it as for every other audited write.
"""

from __future__ import annotations

from django.db import migrations

CREATE_SQL = r"""
CREATE FUNCTION timelog_time_activity_create(
    p_month date, p_practice bigint, p_performer bigint, p_performer_kind text,
    p_performer_credential text, p_date date, p_started_at time, p_duration_seconds integer,
    p_activity text, p_note text, p_outcome text, p_program text, p_patient_count smallint,
    p_request_id uuid, p_logged_on date, p_at timestamptz, p_patients bigint[],
    p_share_seconds integer, p_audit_action text, p_audit_object_type text,
    p_audit_after jsonb)
RETURNS TABLE (month_status text, activity_id bigint, share_ids bigint[], event_id bigint)
LANGUAGE plpgsql AS $$
DECLARE
    state text;
    new_activity bigint;
    new_shares bigint[];
    new_event bigint;
BEGIN
    -- 2. The month, FOR SHARE, its row made when missing (ccm.periods._locked_month_status).
    SELECT m.status INTO state FROM ccm_billingmonth m
     WHERE m.practice_id = p_practice AND m.month = p_month FOR SHARE;
    IF NOT FOUND THEN
        INSERT INTO ccm_billingmonth (practice_id, month, status, version, updated_at)
        VALUES (p_practice, p_month, 'open', 0, now())
        ON CONFLICT (practice_id, month) DO NOTHING;
        SELECT m.status INTO state FROM ccm_billingmonth m
         WHERE m.practice_id = p_practice AND m.month = p_month FOR SHARE;
    END IF;
    IF coalesce(state, 'open') <> 'open' THEN
        RETURN QUERY SELECT state, NULL::bigint, NULL::bigint[], NULL::bigint;
        RETURN;
    END IF;
    INSERT INTO timelog_timeactivity (practice_id, performer_id, performer_kind,
        performer_credential, date, started_at, duration_seconds, activity, note, outcome,
        program, patient_count, request_id, created_at, logged_on, updated_at)
    VALUES (p_practice, p_performer, p_performer_kind, p_performer_credential, p_date,
        p_started_at, p_duration_seconds, p_activity, p_note, p_outcome, p_program,
        p_patient_count, p_request_id, p_at, p_logged_on, p_at)
    RETURNING id INTO new_activity;
    -- 4. The shares' statement trigger bumps their patients' facts revisions as it ends.
    WITH written AS (
        INSERT INTO timelog_timeshare (activity_id, patient_id, date, seconds)
        SELECT new_activity, patient, p_date, p_share_seconds
          FROM unnest(p_patients) WITH ORDINALITY AS given(patient, position)
         ORDER BY position
        RETURNING id, patient_id
    )
    SELECT array_agg(id ORDER BY patient_id) INTO new_shares FROM written;
    -- 5. The audit event, last: its trigger takes the chain lock until the commit.
    INSERT INTO ccm_auditevent (practice_id, actor_id, action, object_type, object_id,
        before, after, reason, at, chain, prev_hash, hash)
    VALUES (p_practice, p_performer, p_audit_action, p_audit_object_type,
        new_activity::text, NULL, p_audit_after, '', p_at, 'changes', '', '')
    RETURNING id INTO new_event;
    RETURN QUERY SELECT 'open'::text, new_activity, new_shares, new_event;
END $$;
"""

DROP_SQL = r"""
DROP FUNCTION IF EXISTS timelog_time_activity_create(date, bigint, bigint, text, text, date,
    time, integer, text, text, text, text, smallint, uuid, date, timestamptz, bigint[],
    integer, text, text, jsonb);
"""


def postgres_only(sql: str):  # type: ignore[no-untyped-def]
    def run(apps, schema_editor):  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(sql)  # no parameters: the SQL is taken as it is

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("ccm", "0010_user_must_change_password"),
        ("timelog", "0005_session_timer"),
    ]

    operations = [migrations.RunPython(postgres_only(CREATE_SQL), postgres_only(DROP_SQL))]
