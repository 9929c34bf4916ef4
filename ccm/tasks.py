"""Tasks of the shared layer."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="ccm.ping")
def ping() -> str:
    """A health check for the broker and workers: returns "pong"."""
    return "pong"
