"""Writes of the shared layer: practices and users."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify
from rest_framework.authtoken.models import Token

from ccm.audit import audit_record, snapshot
from ccm.models import BillingProvider, Practice, Role, User

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


#: The billing provider's fields, as the API and the page take them.
BILLING_PROVIDER_FIELDS = (
    "name",
    "npi",
    "tax_id",
    "address_line",
    "city",
    "state",
    "zip",
    "taxonomy",
    "place_of_service",
    "phone",
    "payer_id",
    "submitter_id",
    "receiver_name",
    "receiver_id",
    "usage",
)


def _billing_provider_text(field: str, value: str) -> str:
    """A field as stored: ids and codes upper case, numbers without their punctuation."""
    text = value.strip()
    if field in ("npi", "tax_id", "zip", "phone"):
        return "".join(ch for ch in text if ch not in "-() ./")
    if field in ("state", "taxonomy", "usage", "payer_id", "submitter_id", "receiver_id"):
        return text.upper()
    return text


@transaction.atomic
def billing_provider_save(
    *, practice: Practice, actor: User | None, **fields: str
) -> BillingProvider:
    """Set the practice's billing provider (837P loop 2010AA: the name, NPI, tax id,
    ZIP+4 address and taxonomy claims are paid under; place of service 11 by default).
    Fields not given keep their value (their default for a new one); every field is
    validated (the NPI's check digit, a 9-digit EIN, a US state, a 10-character taxonomy)
    and all errors are raised together. Audited with before/after."""
    unknown = set(fields) - set(BILLING_PROVIDER_FIELDS)
    if unknown:
        raise TypeError(f"not billing provider fields: {sorted(unknown)}")
    provider = BillingProvider.objects.select_for_update(no_key=True).filter(
        practice=practice
    ).first() or BillingProvider(practice=practice)
    before = snapshot(provider, BILLING_PROVIDER_FIELDS) if provider.pk else None
    for field, value in fields.items():
        setattr(provider, field, _billing_provider_text(field, value))
    if not provider.receiver_name:
        provider.receiver_name = "MEDICARE PART B"
    provider.full_clean(exclude=["practice"])
    provider.save()
    after = snapshot(provider, BILLING_PROVIDER_FIELDS)
    if after != before:
        audit_record(
            actor=actor,
            action="billing_provider.save",
            instance=provider,
            practice=practice,
            before=before,
            after=after,
        )
    return provider
