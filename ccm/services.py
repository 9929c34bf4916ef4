"""Writes of the shared layer: practices and users."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify
from rest_framework.authtoken.models import Token

from ccm.audit import audit_record, snapshot
from ccm.models import Practice, Role, User

USER_AUDIT_FIELDS = ("username", "role", "full_name", "credential", "npi", "practice_id")


@transaction.atomic
def practice_get_or_create(*, slug: str, name: str | None = None) -> Practice:
    """The practice with this slug, created (named after the slug) when missing."""
    if slugify(slug) != slug:
        raise ValidationError({"practice": [f"{slug!r} is not a valid slug (a-z, 0-9, -)."]})
    practice, created = Practice.objects.get_or_create(
        slug=slug, defaults={"name": name or slug.replace("-", " ").title()}
    )
    if created:
        audit_record(
            actor=None,
            action="practice.create",
            instance=practice,
            practice=practice,
            after=snapshot(practice),
        )
    return practice


@transaction.atomic
def user_create(
    *,
    username: str,
    role: str,
    practice: Practice,
    password: str | None = None,
    full_name: str = "",
    credential: str = "",
    npi: str = "",
    actor: User | None = None,
) -> User:
    """Create a user of `practice` with `role`, validated (role, NPI, unique username),
    with a DRF token; audited."""
    if role not in Role.values:
        raise ValidationError(
            {"role": [f"{role!r} is not a role; choose one of {', '.join(Role.values)}."]}
        )
    user = User(
        username=username,
        role=role,
        practice=practice,
        full_name=full_name,
        credential=credential,
        npi=npi,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean()
    user.save()
    Token.objects.create(user=user)
    audit_record(
        actor=actor,
        action="user.create",
        instance=user,
        practice=practice,
        after=snapshot(user, USER_AUDIT_FIELDS),
    )
    return user
