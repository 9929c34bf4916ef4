"""Verifying the audit log's hash chains (PostgreSQL; written by the ccm_audit_chain
trigger of migration 0005, its look-up indexed by 0006, one chain of changes and one of
reads per practice since 0007): every event's hash must cover its own content and the
previous event's hash, and each chain's sequence must have no gap."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

VERIFY_SQL = """
SELECT id, practice_id, chain, seq, problem FROM (
    SELECT id, practice_id, chain, seq,
        CASE
            WHEN hash <> ccm_audit_hash(prev_hash, seq, practice_id, actor_id, action,
                                        object_type, object_id, before, after, reason, at)
                THEN 'content does not match its hash'
            WHEN prev_hash <> coalesce(lag(hash) OVER link, '')
                THEN 'previous hash does not match the event before it'
            WHEN seq <> coalesce(lag(seq) OVER link, 0) + 1
                THEN 'sequence gap: an event before it is missing'
        END AS problem
    FROM ccm_auditevent
    WHERE (%(practice)s::bigint IS NULL OR practice_id = %(practice)s::bigint)
    WINDOW link AS (PARTITION BY coalesce(practice_id, 0), chain ORDER BY seq)
) checked
WHERE problem IS NOT NULL
ORDER BY practice_id, chain, seq
"""


@dataclass(frozen=True)
class ChainProblem:
    event_id: int
    practice_id: int | None
    chain: str
    seq: int
    problem: str


def audit_chain_problems(practice_id: int | None = None) -> list[ChainProblem]:
    """Every event whose place in its practice's chain does not verify."""
    if connection.vendor != "postgresql":
        raise RuntimeError("The audit hash chain is kept by PostgreSQL only.")
    with connection.cursor() as cursor:
        cursor.execute(VERIFY_SQL, {"practice": practice_id})
        return [ChainProblem(*row) for row in cursor.fetchall()]
