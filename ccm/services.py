"""Writes of the shared layer: practices, users, and the practice admin's management of
its users (create, change, deactivate, reactivate, reset a password), each audited."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from rest_framework.authtoken.models import Token

from ccm.audit import audit_record, changed_fields, snapshot
from ccm.exceptions import LastAdmin
from ccm.locks import lock_for_change
from ccm.models import BillingProvider, Practice, Role, User

USER_AUDIT_FIELDS = ("username", "role", "full_name", "credential", "npi", "practice_id")
PRACTICE_SETTINGS_FIELDS = ("name", "fee_locality")
#: A one-time password: four groups of four from letters and digits that are not mistaken
#: for one another (no 0/O, 1/l/I): about 90 bits.
ONE_TIME_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


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


# -- the practice admin's management of users ------------------------------------------


@dataclass(frozen=True)
class IssuedPassword:
    """A one-time password given to `user`: shown to the admin once, never stored in
    clear nor audited; the user must choose a new password at their next sign-in."""

    user: User
    password: str


def one_time_password() -> str:
    return "-".join("".join(secrets.choice(ONE_TIME_ALPHABET) for _ in range(4)) for _ in range(4))


def _check_staff_fields(*, role: str, npi: str) -> None:
    """A known role, and an NPI for a practitioner (a claim names its billing
    practitioner's NPI); the NPI's form and check digit are the model's validator's."""
    errors: dict[str, list[str]] = {}
    if role not in Role.values:
        errors["role"] = [f"{role!r} is not a role; choose one of {', '.join(Role.values)}."]
    elif role == Role.PRACTITIONER and not npi:
        errors["npi"] = ["A practitioner needs an NPI: claims name it."]
    if errors:
        raise ValidationError(errors)


def _locked_user(user: User) -> User:
    """Lock the user and the practice's active admins, in id order (ccm.locks, step 1:
    the people the change is about): two admins demoting each other at once are
    serialised, so the last-admin rule reads a settled count."""
    admins = User.objects.filter(practice=user.practice, role=Role.ADMIN, is_active=True)
    lock_for_change(User.objects.filter(pk__in=[user.pk, *admins.values_list("pk", flat=True)]))
    return User.objects.select_related("practice").get(pk=user.pk)


def _refuse_removing_last_admin(user: User, what: str) -> None:
    """A practice keeps at least one active admin (else no one can manage its users)."""
    if user.role != Role.ADMIN or not user.is_active:
        return
    others = User.objects.filter(practice=user.practice, role=Role.ADMIN, is_active=True).exclude(
        pk=user.pk
    )
    if not others.exists():
        raise LastAdmin(
            f"{user.display_name} is the practice's last active admin: make another user "
            f"an admin before you {what}."
        )


def _end_sessions(user: User) -> int:
    """Delete every stored browser session of `user` (the database session store): they
    are signed out at once, on every device. Returns how many were ended."""
    keys = [
        session.session_key
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if session.get_decoded().get(SESSION_KEY) == str(user.pk)
    ]
    Session.objects.filter(session_key__in=keys).delete()
    return len(keys)


def _revoke_tokens(user: User) -> int:
    revoked, _ = Token.objects.filter(user=user).delete()
    return revoked


@transaction.atomic
def practice_user_create(
    *,
    practice: Practice,
    actor: User,
    username: str,
    role: str,
    full_name: str,
    credential: str = "",
    npi: str = "",
) -> IssuedPassword:
    """The admin adds a user to their practice (role, credential, NPI checked, audited):
    the user signs in with the one-time password returned and must then choose theirs."""
    _check_staff_fields(role=role, npi=npi)
    password = one_time_password()
    user = user_create(
        username=username,
        role=role,
        practice=practice,
        password=password,
        full_name=full_name,
        credential=credential,
        npi=npi,
        actor=actor,
    )
    user.must_change_password = True
    user.save(update_fields=["must_change_password"])
    _revoke_tokens(user)  # an API token only once they have chosen their password
    return IssuedPassword(user, password)


@transaction.atomic
def practice_user_update(
    *,
    user: User,
    actor: User,
    role: str | None = None,
    full_name: str | None = None,
    credential: str | None = None,
    npi: str | None = None,
) -> User:
    """Change a user's role, name, credential or NPI (audited, before and after). The
    practice's last active admin keeps the admin role (409)."""
    user = _locked_user(user)
    before = snapshot(user, USER_AUDIT_FIELDS)
    new_role = role if role is not None else user.role
    new_npi = npi if npi is not None else user.npi
    _check_staff_fields(role=new_role, npi=new_npi)
    if new_role != Role.ADMIN:
        _refuse_removing_last_admin(user, "change their role")
    user.role = new_role
    user.npi = new_npi
    if full_name is not None:
        user.full_name = full_name
    if credential is not None:
        user.credential = credential
    user.full_clean()
    after = snapshot(user, USER_AUDIT_FIELDS)
    changed = changed_fields(before, after)
    if changed:
        user.save(update_fields=["role", "npi", "full_name", "credential"])
        audit_record(
            actor=actor,
            action="user.update",
            instance=user,
            practice=user.practice,
            before={key: before[key] for key in changed},
            after=changed,
        )
    return user


@transaction.atomic
def user_deactivate(*, user: User, actor: User) -> User:
    """Deactivate a user: they cannot sign in, their browser sessions end and their API
    tokens are revoked at once (audited). Not oneself, nor the practice's last admin."""
    user = _locked_user(user)
    if user.pk == actor.pk:
        raise ValidationError({"user": ["You cannot deactivate yourself: ask another admin."]})
    if not user.is_active:
        raise ValidationError({"user": [f"{user.display_name} is already inactive."]})
    _refuse_removing_last_admin(user, "deactivate them")
    user.is_active = False
    user.save(update_fields=["is_active"])
    ended, revoked = _end_sessions(user), _revoke_tokens(user)
    audit_record(
        actor=actor,
        action="user.deactivate",
        instance=user,
        practice=user.practice,
        before={"is_active": True},
        after={"is_active": False, "sessions_ended": ended, "tokens_revoked": revoked},
    )
    return user


@transaction.atomic
def user_reactivate(*, user: User, actor: User) -> User:
    """Let an inactive user sign in again (with their password as it was; reset it if
    need be), with a new API token; audited."""
    user = _locked_user(user)
    if user.is_active:
        raise ValidationError({"user": [f"{user.display_name} is already active."]})
    user.is_active = True
    user.save(update_fields=["is_active"])
    Token.objects.get_or_create(user=user)
    audit_record(
        actor=actor,
        action="user.reactivate",
        instance=user,
        practice=user.practice,
        before={"is_active": False},
        after={"is_active": True},
    )
    return user


@transaction.atomic
def user_password_reset(*, user: User, actor: User) -> IssuedPassword:
    """Give an active user a one-time password (returned once, never audited): their
    sessions end and their API tokens are revoked; they choose a new password at their
    next sign-in, and get a token again after that."""
    user = _locked_user(user)
    if not user.is_active:
        raise ValidationError({"user": [f"{user.display_name} is inactive: reactivate first."]})
    password = one_time_password()
    user.set_password(password)
    user.must_change_password = True
    user.save(update_fields=["password", "must_change_password"])
    ended, revoked = _end_sessions(user), _revoke_tokens(user)
    audit_record(
        actor=actor,
        action="user.password_reset",
        instance=user,
        practice=user.practice,
        after={"must_change_password": True, "sessions_ended": ended, "tokens_revoked": revoked},
    )
    return IssuedPassword(user, password)


@transaction.atomic
def user_password_chosen(*, user: User) -> User:
    """The user chose their own password (after a one-time one): audited, never the
    password itself."""
    lock_for_change(User.objects.filter(pk=user.pk))
    user = User.objects.get(pk=user.pk)
    was_one_time = user.must_change_password
    user.must_change_password = False
    user.save(update_fields=["must_change_password"])
    audit_record(
        actor=user,
        action="user.password_change",
        instance=user,
        practice=user.practice,
        after={"after_one_time_password": was_one_time},
    )
    return user


@transaction.atomic
def practice_settings_update(
    *, practice: Practice, actor: User, name: str, fee_locality: str
) -> Practice:
    """The admin renames the practice or sets its Medicare fee locality (billing-rules.md
    section 1: a month is priced with the practice's schedule of its locality); audited."""
    lock_for_change(Practice.objects.filter(pk=practice.pk))
    practice = Practice.objects.get(pk=practice.pk)
    before = snapshot(practice, PRACTICE_SETTINGS_FIELDS)
    practice.name = name.strip()
    practice.fee_locality = fee_locality.strip()
    practice.full_clean()
    after = snapshot(practice, PRACTICE_SETTINGS_FIELDS)
    changed = changed_fields(before, after)
    if changed:
        practice.save(update_fields=list(changed))
        audit_record(
            actor=actor,
            action="practice.update",
            instance=practice,
            practice=practice,
            before={key: before[key] for key in changed},
            after=changed,
        )
    return practice


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
