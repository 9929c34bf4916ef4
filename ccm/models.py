"""What every app shares: practices, users with their roles, and the audit log."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import PermissionDenied
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from ccm.npi import validate_npi


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
