"""Pages of the shared layer: sign-in and sign-out come from django.contrib.auth; the
home page sends each role to where its work is."""

from __future__ import annotations

from collections.abc import Callable, Collection
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.defaults import page_not_found


def role_required(
    roles: Collection[str],
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Page decorator: signed in (else the sign-in page), in a practice, of one of `roles`
    (else 403)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if getattr(user, "practice_id", None) is None or user.role not in roles:  # type: ignore[union-attr]
                raise PermissionDenied("Your role may not open this page.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The signed-in home page: who you are and the pages your role uses."""
    return render(request, "home.html", {})


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The 404 of a URL nothing answers: JSON under /api/ (the API's clients parse every
    answer, and the OpenAPI document promises JSON), Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)
