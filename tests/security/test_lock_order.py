"""The lock order of ccm/locks.py, held by the code: no row lock conflicts with a foreign-key
check, and the audit insert is the last write of each service that also deletes.

A FOR UPDATE on a row others reference makes their commit-time foreign-key checks (FOR
KEY SHARE, after the audit chain's lock) wait on a transaction that may be waiting for
the chain: the deadlock of issue 15. So every select_for_update() in the apps says
no_key=True, except where the row is about to be deleted (a DELETE locks FOR UPDATE
anyway), and raw SQL never says FOR UPDATE or FOR SHARE outside the period lock.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
APPS = ("ccm", "patients", "timelog", "billing", "demo")
#: (file, function) that lock a row FOR UPDATE because they delete it.
DELETES = {("timelog/services.py", "time_activity_delete")}
#: Raw SQL that locks: the period lock (ccm/periods.py: FOR SHARE, step 2 of the order).
RAW_LOCKS = {"ccm/periods.py"}


def app_sources() -> list[Path]:
    return [
        path
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
    ]


def locks_for_update(tree: ast.AST) -> list[tuple[str, int]]:
    """(enclosing function, line) of each select_for_update() without no_key=True."""
    found: list[tuple[str, int]] = []

    def walk(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, ast.FunctionDef) else function
            if (
                isinstance(child, ast.Call)
                and isinstance(child.func, ast.Attribute)
                and child.func.attr == "select_for_update"
                and not any(
                    keyword.arg == "no_key"
                    and isinstance(keyword.value, ast.Constant)
                    and keyword.value.value is True
                    for keyword in child.keywords
                )
            ):
                found.append((function, child.lineno))
            walk(child, name)

    walk(tree, "")
    return found


def test_no_row_lock_conflicts_with_a_foreign_key_check() -> None:
    sources = app_sources()
    assert len(sources) > 50
    offending = []
    for path in sources:
        relative = path.relative_to(ROOT).as_posix()
        for function, line in locks_for_update(ast.parse(path.read_text())):
            if (relative, function) not in DELETES:
                offending.append(f"{relative}:{line} ({function})")
    assert offending == [], "lock with select_for_update(no_key=True) (ccm/locks.py)"


def test_the_check_can_fail() -> None:
    tree = ast.parse(
        "def f():\n    X.objects.select_for_update().get(pk=1)\n"
        "def g():\n    X.objects.select_for_update(no_key=True).get(pk=1)\n"
    )
    assert locks_for_update(tree) == [("f", 2)]


def raw_locks(tree: ast.AST) -> list[int]:
    """Lines of the SQL strings (a SELECT) that lock rows themselves."""
    lock = re.compile(r"\bSELECT\b.*\bFOR (NO KEY )?(UPDATE|SHARE)\b", re.DOTALL)
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and lock.search(node.value)
    ]


def test_raw_sql_takes_no_row_lock_outside_the_period_lock() -> None:
    offending = [
        f"{path.relative_to(ROOT).as_posix()}:{line}"
        for path in app_sources()
        if path.relative_to(ROOT).as_posix() not in RAW_LOCKS
        for line in raw_locks(ast.parse(path.read_text()))
    ]
    assert offending == []
    periods = ast.parse((ROOT / "ccm" / "periods.py").read_text())
    assert raw_locks(periods), "the period lock's SQL moved: update RAW_LOCKS"


def test_a_delete_is_audited_after_the_delete() -> None:
    """The audit insert takes the chain lock: a delete after it (whose triggers bump the
    facts revision that a concurrent POST holds) would take a lock out of order."""
    source = (ROOT / "timelog" / "services.py").read_text()
    body = source[source.index("def time_activity_delete") :]
    assert body.index("activity.delete()") < body.index("audit_record(")
    audit = (ROOT / "ccm" / "audit.py").read_text()
    helper = audit[audit.index("def audited_delete") :]
    assert helper.index("instance.delete()") < helper.index("audit_record(")


@pytest.mark.django_db
def test_the_time_entry_function_takes_its_locks_in_order() -> None:
    """timelog_time_activity_create (timelog migration 0006), as the database holds it:
    the month FOR SHARE (2) before any write, the shares in a statement of their own
    (their facts trigger, 4, runs as it ends) and the audit insert (5) last; no other
    row lock."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_functiondef('timelog_time_activity_create'::regproc)")
        body = cursor.fetchone()[0]
    steps = [
        body.index("FOR SHARE"),
        body.index("INSERT INTO timelog_timeactivity"),
        body.index("INSERT INTO timelog_timeshare"),
        body.index("INSERT INTO ccm_auditevent"),
    ]
    assert steps == sorted(steps)
    assert body.count("INSERT INTO ccm_auditevent") == 1
    assert body.rindex("FOR SHARE") < steps[1]
    assert not re.search(r"FOR (NO KEY )?UPDATE|FOR KEY SHARE", body)
    # The shares' statement ends before the audit insert begins.
    assert ";" in body[steps[2] : steps[3]]
