"""Reading one chunk ahead: a stream whose chunks come from PostgreSQL and are then
written by Python (the claims exports) waits on the database for each chunk, then
leaves the database idle while it writes. `read_ahead` reads the next chunk on a second
thread, with its own connection, while the caller writes the current one, so the
database's work and Python's overlap on two cores.

Only outside a transaction: the second connection sees what is committed, and a
transaction's own writes are not. Inside one (a test's, or a caller's), and on other
databases, the chunks are read in turn as before.

The month close reads ahead in its own way (billing.close.close_run_inline): its reads
are handed to chunks it locks and may find done, and a read's error is raised inside
that chunk's transaction."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar, cast

from django.db import connection

T = TypeVar("T")
_END = object()


def read_ahead(chunks: Iterator[T], *, name: str = "read-ahead") -> Iterator[T]:
    """The chunks of `chunks` in their order, each read (the iterator advanced) on one
    background thread while the caller works on the one before: at most one chunk
    ahead, so memory stays that of two chunks. An error of a read is raised here, at
    that chunk; closing this iterator early waits for the read in flight, then closes
    the thread's connection."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield from chunks
        return
    with ThreadPoolExecutor(1, thread_name_prefix=name) as pool:
        try:
            pending = pool.submit(next, chunks, _END)
            while (chunk := pending.result()) is not _END:
                pending = pool.submit(next, chunks, _END)
                yield cast(T, chunk)
        finally:
            pool.submit(_finish, chunks).result()


def _finish(chunks: Iterator[object]) -> None:
    """On the pool thread: the chunks' generator closed (its own clean-up runs where it
    ran), then the thread's connection (Django opens one per thread and closes only the
    request thread's)."""
    try:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    finally:
        connection.close()
