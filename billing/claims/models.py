"""What leaves the practice as claims: each export is an interchange (who, when, which
worklist rows, under which control numbers), and the month's packet archives."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models

from billing.models import WorklistRow
from ccm.models import Practice


class ClaimInterchange(models.Model):
    """One export of claims. For an 837P its id is the interchange control number
    (ISA13, 9 digits), the group control number (GS06) and the transaction set control
    number (ST02): unique across the installation, never reused. A FHIR export's Bundle
    carries it as its identifier."""

    class Kind(models.TextChoices):
        X12_837P = "837p", "ASC X12 837P"
        FHIR = "fhir", "FHIR R4B Bundle"

    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    month = models.DateField(help_text="The first day of the month billed.")
    version = models.PositiveIntegerField(help_text="The month's close version exported.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    claims = models.PositiveIntegerField(default=0)
    usage = models.CharField(max_length=1, default="P", help_text="ISA15: P or T.")

    class Meta:
        ordering: ClassVar[list[str]] = ["-id"]
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["practice", "month"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.control_number} {self.month:%Y-%m}"

    @property
    def control_number(self) -> str:
        return f"{self.pk:09d}"


class InterchangeClaim(models.Model):
    """One claim of an interchange: the worklist row it bills, the claim id it went out
    under (CLM01, the FHIR Claim's identifier), its frequency (1 original, 7 replacement,
    8 void) and, for a correction, the claim id it corrects (REF*F8)."""

    class Frequency(models.TextChoices):
        ORIGINAL = "1", "Original"
        REPLACEMENT = "7", "Replacement of a prior claim"
        VOID = "8", "Void of a prior claim"

    interchange = models.ForeignKey(
        ClaimInterchange, on_delete=models.CASCADE, related_name="items", db_index=False
    )
    # Its index is the unique constraint's (row first): a separate one on row_id cost a
    # fourth index insertion per stored claim (0.26 s of 2.9 s for 91,014 claims).
    row = models.ForeignKey(WorklistRow, on_delete=models.PROTECT, related_name="+", db_index=False)
    claim_id = models.CharField(max_length=20)
    frequency = models.CharField(max_length=1, choices=Frequency.choices, default="1")
    original_claim_id = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["id"]
        # One claim per row and interchange; row first, so the index also serves every
        # lookup by row (the claims a row went out in: original_claim_id, and the foreign
        # key's check when a worklist row is deleted). By interchange: the index below.
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["row", "interchange"], name="interchange_claim_one_per_row"
            ),
        ]
        # The file streams an interchange's claims in the order they were stored, a chunk
        # at a time (claims.interchange_claims): each chunk one range of this index.
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["interchange", "id"], name="interchange_claim_in_order")
        ]

    def __str__(self) -> str:
        return f"{self.claim_id} ({self.frequency})"


class PacketArchive(models.Model):
    """The month's audit packets as one ZIP, built by a worker for a large month: its
    progress while it runs, the file once done (one archive per close version)."""

    class Status(models.TextChoices):
        BUILDING = "building", "Building"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    month = models.DateField()
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.BUILDING)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    path = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["practice", "month", "version"], name="packet_archive_one_per_version"
            ),
        ]

    def __str__(self) -> str:
        return f"packets {self.month:%Y-%m} v{self.version} {self.status} {self.done}/{self.total}"
