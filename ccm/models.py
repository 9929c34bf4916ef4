"""What every app shares: practices, users with their roles, and the audit log."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from ccm.npi import validate_npi
from ccm.us_address import validate_state, validate_zip_plus_four


class Practice(models.Model):
    """A medical practice: the boundary no query may cross (PHI is scoped to it)."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    fee_locality = models.CharField(
        max_length=20,
        blank=True,
        help_text="The Medicare payment locality whose fee schedule applies (blank: national).",
    )
    timer_idle_minutes = models.PositiveSmallIntegerField(
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text="Minutes without activity after which a running session timer pauses "
        "and asks whether the person is still working.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


def validate_tax_id(value: str) -> None:
    """The practice's federal tax id (EIN): nine digits."""
    if not (value.isdigit() and len(value) == 9):
        raise ValidationError("A tax id (EIN) has 9 digits (12-3456789).", code="tax_id")


def validate_taxonomy(value: str) -> None:
    """A provider taxonomy code (NUCC): 10 characters, three digits first, X last."""
    if not re.fullmatch(r"[0-9]{3}[0-9A-Z]{6}X", value):
        raise ValidationError(
            "A taxonomy code has 10 characters: 3 digits, 6 letters or digits, then X "
            "(207Q00000X is family medicine).",
            code="taxonomy",
        )


class BillingProvider(models.Model):
    """The practice as the billing provider of its claims (837P loop 2010AA, the FHIR
    Claim's provider Organization): who is paid, where, under which NPI and tax id, with
    the ids of the claim's submitter, receiver and Medicare payer."""

    class Usage(models.TextChoices):
        PRODUCTION = "P", "Production"
        TEST = "T", "Test"

    practice = models.OneToOneField(
        Practice, on_delete=models.CASCADE, related_name="billing_provider"
    )
    name = models.CharField(max_length=60)
    npi = models.CharField("NPI", max_length=10, validators=[validate_npi])
    tax_id = models.CharField("tax id (EIN)", max_length=9, validators=[validate_tax_id])
    address_line = models.CharField(max_length=55)
    city = models.CharField(max_length=30)
    state = models.CharField(max_length=2, validators=[validate_state])
    zip = models.CharField("ZIP+4", max_length=9, validators=[validate_zip_plus_four])
    taxonomy = models.CharField(max_length=10, validators=[validate_taxonomy])
    place_of_service = models.CharField(
        max_length=2,
        default="11",
        validators=[RegexValidator(r"^[0-9]{2}$", "A place of service code has 2 digits.")],
        help_text="CMS place of service code; 11 is the office.",
    )
    phone = models.CharField(
        max_length=10,
        blank=True,
        validators=[RegexValidator(r"^[0-9]{10}$", "A phone number has 10 digits.")],
        help_text="The billing contact's phone (837P submitter contact).",
    )
    payer_id = models.CharField(
        "Medicare payer id",
        max_length=20,
        blank=True,
        help_text="The Medicare contractor's payer id for this practice's claims.",
    )
    submitter_id = models.CharField(
        max_length=15, blank=True, help_text="The id the clearinghouse gave you; blank: the NPI."
    )
    receiver_name = models.CharField(max_length=60, default="MEDICARE PART B")
    receiver_id = models.CharField(
        max_length=15, blank=True, help_text="The receiver's id; blank: the payer id."
    )
    usage = models.CharField(max_length=1, choices=Usage.choices, default=Usage.PRODUCTION)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.npi})"


#: What an 837P cannot go out without, of the billing provider (the phone is the
#: submitter's contact, PER).
BILLING_PROVIDER_REQUIRED: dict[str, str] = {
    "name": "name",
    "npi": "NPI",
    "tax_id": "tax id",
    "address_line": "address",
    "city": "city",
    "state": "state",
    "zip": "ZIP+4",
    "taxonomy": "taxonomy",
    "phone": "phone",
    "payer_id": "Medicare payer id",
}


def billing_provider_missing(provider: BillingProvider | None) -> list[str]:
    """What the billing provider still lacks for a claim to go out, in words."""
    if provider is None:
        return list(BILLING_PROVIDER_REQUIRED.values())
    return [
        label for field, label in BILLING_PROVIDER_REQUIRED.items() if not getattr(provider, field)
    ]


class Role(models.TextChoices):
    RN = "rn", "Registered nurse"
    LPN = "lpn", "Licensed practical nurse"
    MA = "ma", "Medical assistant"
    CARE_MANAGER = "care_manager", "Care manager"
    PRACTITIONER = "practitioner", "Practitioner"
    BILLING = "billing", "Billing staff"
    ADMIN = "admin", "Practice admin"
    FRONT_DESK = "front_desk", "Front desk"


CLINICAL_STAFF_ROLES = frozenset({Role.RN, Role.LPN, Role.MA, Role.CARE_MANAGER})
CARE_TEAM_ROLES = CLINICAL_STAFF_ROLES | {Role.PRACTITIONER}
ALL_ROLES = frozenset(Role)


class User(AbstractUser):
    """A person who signs in; always belongs to one practice (superusers may have none)."""

    practice = models.ForeignKey(
        Practice, on_delete=models.PROTECT, related_name="users", null=True, blank=True
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.FRONT_DESK)
    full_name = models.CharField(max_length=200, blank=True)
    credential = models.CharField(
        max_length=20, blank=True, help_text="RN, LPN, CMA, MD, DO, NP, PA..."
    )
    npi = models.CharField(max_length=10, blank=True, validators=[validate_npi])
    must_change_password = models.BooleanField(
        default=False,
        help_text="Signed in with a one-time password from an admin: choose a new one first.",
    )

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def display_name(self) -> str:
        name = self.full_name or self.get_full_name() or self.username
        return f"{name}, {self.credential}" if self.credential else name

    @property
    def is_clinical_staff(self) -> bool:
        return self.role in CLINICAL_STAFF_ROLES


class AuditEvent(models.Model):
    """One append-only record of a change (or a sensitive read) of clinical or billing data.

    `before` and `after` are JSON snapshots of the changed fields. Rows are never updated
    or deleted through the ORM; the database triggers of a later migration enforce it too.
    Changes and reads are chained apart (`chain`), so a read never waits for a write's
    chain lock (ccm.locks).
    """

    class Chain(models.TextChoices):
        CHANGES = "changes", "Changes"
        READS = "reads", "Reads"

    practice = models.ForeignKey(
        Practice, on_delete=models.PROTECT, related_name="audit_events", null=True
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="audit_events",
        null=True,
        blank=True,
    )
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    # The hash chain (PostgreSQL trigger): seq numbers a practice's events, hash covers
    # the event and the previous event's hash, so a rewritten row breaks the chain.
    seq = models.BigIntegerField(null=True, editable=False)
    chain = models.CharField(
        max_length=8, choices=Chain.choices, default=Chain.CHANGES, editable=False
    )
    prev_hash = models.CharField(max_length=64, blank=True, editable=False)
    hash = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        ordering: ClassVar[list[str]] = ["-at", "-id"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["practice", "object_type", "object_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_id} {self.action} {self.object_type}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionDenied("Audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise PermissionDenied("Audit events are append-only")


class BillingMonth(models.Model):
    """One practice's billing month: open → closing → closed, with the number of the last
    close as `version`. It lives in `ccm` so every app can refuse changes to a closed
    month (the period lock) without importing the billing app."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSING = "closing", "Closing"
        CLOSED = "closed", "Closed"

    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="billing_months")
    month = models.DateField(help_text="The first day of the calendar month.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["practice", "month"], name="billing_month_unique"),
            models.CheckConstraint(
                condition=models.Q(month__day=1), name="billing_month_first_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.practice.slug} {self.month:%Y-%m} {self.status} v{self.version}"
