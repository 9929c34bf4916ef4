"""Deny-by-default access: every API view names the roles that may use it, per HTTP
method, and every query is scoped to the caller's practice (another practice's objects
are 404, never 403, so their existence is not confirmed)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from django.db import models
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from ccm.models import Practice

AllowedRoles = Collection[str] | Mapping[str, Collection[str]]


def roles_for_method(allowed_roles: AllowedRoles | None, method: str) -> Collection[str]:
    """The roles a view opens to for `method`; none when the view declares nothing."""
    if allowed_roles is None:
        return ()
    if isinstance(allowed_roles, Mapping):
        if method == "HEAD":
            method = "GET"
        return allowed_roles.get(method, ())
    return allowed_roles


class RolePermission(BasePermission):
    """The default permission of every API view: signed in, in a practice, and of a role
    the view declares in `allowed_roles` (a set, or a mapping of HTTP method to set).
    A view that declares nothing is closed to everyone."""

    message = "Your role may not do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if getattr(user, "practice_id", None) is None:
            return False
        if request.method == "OPTIONS":
            return True
        allowed = roles_for_method(getattr(view, "allowed_roles", None), request.method or "")
        return user.role in allowed


def caller_practice(request: Request) -> Practice:
    practice: Practice = request.user.practice
    return practice


class PracticeScopedMixin:
    """For DRF views: `get_queryset` keeps only rows of the caller's practice, reached
    through `practice_lookup` (e.g. "practice" or "patient__practice"), so any object
    lookup outside it is a 404."""

    practice_lookup = "practice"
    request: Request

    def scope_to_practice(self, queryset: models.QuerySet[Any]) -> models.QuerySet[Any]:
        return queryset.filter(**{self.practice_lookup: caller_practice(self.request)})

    def get_queryset(self) -> models.QuerySet[Any]:
        queryset = super().get_queryset()  # type: ignore[misc]
        return self.scope_to_practice(queryset)
