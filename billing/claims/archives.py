"""The month's audit packets as one ZIP: streamed at once for a small month, built by a
worker for a large one (rendering a PDF takes a noticeable fraction of a second), with
its progress on a PacketArchive row and the file kept until the month's next close."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing.claims.models import PacketArchive
from billing.claims.packet import packet_content, packet_filename, packet_pdf, zip_stream
from billing.models import WorklistRow
from billing.worklist import current_version
from ccm.audit import audit_record
from ccm.models import Practice, User

#: Up to this many claims, the ZIP streams in the request; above, a worker builds it.
INLINE_PACKETS = int(getattr(settings, "CCM_INLINE_PACKETS", 25))
ROWS_PER_QUERY = 100
PROGRESS_EVERY = 10


def packets_dir() -> Path:
    return Path(settings.CCM_PACKETS_DIR)


def month_packet_rows(practice: Practice, month: dt.date, version: int) -> list[int]:
    """The ids of the month's billable claims of `version`, by patient name."""
    return list(
        WorklistRow.objects.filter(practice=practice, month=month, version=version, billable=True)
        .order_by("patient__last_name", "patient__first_name", "id")
        .values_list("id", flat=True)
    )


def month_packet_files(row_ids: list[int]) -> Iterator[tuple[str, bytes]]:
    """(file name, PDF) of each row's packet, rows read a hundred at a time."""
    for start in range(0, len(row_ids), ROWS_PER_QUERY):
        ids = row_ids[start : start + ROWS_PER_QUERY]
        rows = WorklistRow.objects.filter(pk__in=ids).select_related(
            "patient", "billing_practitioner", "run__requested_by"
        )
        by_id = {row.pk: row for row in rows}
        for row_id in ids:
            row = by_id[row_id]
            yield packet_filename(row), packet_pdf(packet_content(row))


def month_packets_stream(
    *, practice: Practice, month: dt.date, actor: User, row_ids: list[int]
) -> Iterator[bytes]:
    """The ZIP of a small month, streamed in the request (audited: who took which)."""
    audit_record(
        actor=actor,
        action="packet.open_month",
        object_type="billing.worklist",
        object_id=f"{month:%Y-%m}",
        practice=practice,
        after={"packets": len(row_ids), "how": "streamed"},
    )
    return zip_stream(month_packet_files(row_ids))


@transaction.atomic
def packet_archive_request(*, practice: Practice, month: dt.date, actor: User) -> PacketArchive:
    """The month's archive for its current close version: started (dispatched to a
    worker once this commits) when there is none, the last attempt failed or its file
    is gone; else the one building or built. Audited when started."""
    version = current_version(practice, month)
    archive, created = PacketArchive.objects.select_for_update(no_key=True).get_or_create(
        practice=practice,
        month=month,
        version=version,
        defaults={"requested_by": actor},
    )
    lost = archive.status == PacketArchive.Status.READY and not Path(archive.path).exists()
    if created or lost or archive.status == PacketArchive.Status.FAILED:
        archive.status = PacketArchive.Status.BUILDING
        archive.total = len(month_packet_rows(practice, month, version))
        archive.done = 0
        archive.error = ""
        archive.requested_by = actor
        archive.save()
        audit_record(
            actor=actor,
            action="packet.archive_start",
            instance=archive,
            practice=practice,
            after={"month": f"{month:%Y-%m}", "version": version, "packets": archive.total},
        )
        from billing.claims.tasks import build_packet_archive

        transaction.on_commit(lambda: build_packet_archive.delay(archive.pk))
    return archive


def packet_archive_build(*, archive_id: int) -> PacketArchive:
    """Render every packet of the archive's month into a ZIP file, noting progress;
    the file is written under a temporary name and renamed when complete, so a worker
    that dies leaves no half archive, and a rerun starts over."""
    archive = PacketArchive.objects.select_related("practice").get(pk=archive_id)
    if archive.status == PacketArchive.Status.READY and Path(archive.path).exists():
        return archive
    row_ids = month_packet_rows(archive.practice, archive.month, archive.version)
    folder = packets_dir()
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"packets-{archive.practice_id}-{archive.month:%Y-%m}-v{archive.version}.zip"
    partial = final.with_suffix(f".{os.getpid()}.part")
    PacketArchive.objects.filter(pk=archive.pk).update(total=len(row_ids), done=0)
    try:
        with partial.open("wb") as out:
            for piece in zip_stream(_counted(month_packet_files(row_ids), archive.pk)):
                out.write(piece)
        partial.replace(final)
    except Exception as error:
        partial.unlink(missing_ok=True)
        PacketArchive.objects.filter(pk=archive.pk).update(
            status=PacketArchive.Status.FAILED, error=f"{type(error).__name__}: {error}"[:500]
        )
        raise
    PacketArchive.objects.filter(pk=archive.pk).update(
        status=PacketArchive.Status.READY,
        done=len(row_ids),
        path=str(final),
        finished_at=timezone.now(),
    )
    archive.refresh_from_db()
    return archive


def _counted(files: Iterator[tuple[str, bytes]], archive_id: int) -> Iterator[tuple[str, bytes]]:
    """The files, noting on the archive how many were rendered (every PROGRESS_EVERY)."""
    for count, item in enumerate(files, start=1):
        yield item
        if count % PROGRESS_EVERY == 0:
            PacketArchive.objects.filter(pk=archive_id).update(done=count)
