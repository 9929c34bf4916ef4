"""Celery tasks of the claims app: thin, ids only (no patient data in the broker)."""

from __future__ import annotations

from celery import shared_task

from billing.claims.archives import packet_archive_build


@shared_task(name="claims.build_packet_archive", ignore_result=True)
def build_packet_archive(archive_id: int) -> str:
    """Build the month's packet ZIP (billing.claims.archives.packet_archive_build)."""
    return packet_archive_build(archive_id=archive_id).status
