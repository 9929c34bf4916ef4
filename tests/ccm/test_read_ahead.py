"""ccm.read_ahead: chunks read one ahead on a second connection, in their order, an
error raised at its chunk, the thread's connection closed; inside a transaction (which
a second connection could not see) the chunks are read in turn on the caller's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection, transaction

from ccm.read_ahead import read_ahead


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid: int = cursor.fetchone()[0]
    return pid


def _chunks(count: int, log: list[str], fail_at: int | None = None) -> Iterator[tuple[int, int]]:
    """`count` chunks, each (its index, the backend that read it)."""
    try:
        for index in range(count):
            if index == fail_at:
                raise RuntimeError(f"chunk {index} failed")
            yield index, _backend_pid()
            log.append(f"read {index}")
    finally:
        log.append("closed")


def _backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        )
        count: int = cursor.fetchone()[0]
    return count


@pytest.mark.django_db(transaction=True)
def test_chunks_come_in_order_from_a_second_connection_which_is_closed_after() -> None:
    before = _backends()
    log: list[str] = []
    got = list(read_ahead(_chunks(5, log)))
    assert [index for index, _ in got] == [0, 1, 2, 3, 4]
    readers = {pid for _, pid in got}
    assert len(readers) == 1 and _backend_pid() not in readers
    assert log[-1] == "closed"
    assert _backends() == before


@pytest.mark.django_db(transaction=True)
def test_an_error_is_raised_at_its_chunk() -> None:
    log: list[str] = []
    got: list[int] = []
    with pytest.raises(RuntimeError, match="chunk 2 failed"):
        for index, _ in read_ahead(_chunks(5, log, fail_at=2)):
            got.append(index)
    assert got == [0, 1]
    assert log[-1] == "closed"


@pytest.mark.django_db(transaction=True)
def test_stopping_early_closes_the_chunks_and_reads_at_most_one_ahead() -> None:
    log: list[str] = []
    chunks = read_ahead(_chunks(10, log))
    assert next(chunks)[0] == 0
    assert next(chunks)[0] == 1
    chunks.close()  # type: ignore[attr-defined]
    # Chunk 1 was handed over and chunk 2 read ahead: "read 1" is logged when the
    # generator resumes for chunk 2; nothing past chunk 2 was read.
    assert "read 3" not in log and log[-1] == "closed"


@pytest.mark.django_db
def test_inside_a_transaction_the_chunks_are_read_on_the_callers_connection() -> None:
    assert transaction.get_connection().in_atomic_block
    log: list[str] = []
    got = list(read_ahead(_chunks(3, log)))
    assert got == [(0, _backend_pid()), (1, _backend_pid()), (2, _backend_pid())]
