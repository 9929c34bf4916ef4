"""Reads of the shared layer: a practice's users (scoped: another practice's user is a
404, never a 403)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from ccm.models import Practice, User


def practice_users(
    *, practice: Practice, is_active: bool | None = True, role: str = ""
) -> QuerySet[User]:
    """The practice's users, by name (`is_active` None: active and inactive alike)."""
    users = User.objects.filter(practice=practice).select_related("practice")
    if is_active is not None:
        users = users.filter(is_active=is_active)
    if role:
        users = users.filter(role=role)
    return users.order_by("full_name", "username", "id")


def practice_user_get(*, practice: Practice, user_id: int) -> User:
    """One user of the practice, active or not (Http404 when not one of theirs)."""
    return get_object_or_404(User.objects.select_related("practice"), practice=practice, pk=user_id)
