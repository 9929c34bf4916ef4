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
from django.views.defaults import page_not_found, permission_denied
from django.views.defaults import server_error as django_server_error


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
    """The 404 of a URL nothing answers, or of an object outside the caller's practice:
    JSON under /api/ (the API's clients parse every answer, and the OpenAPI document
    promises JSON), the styled page with a way back elsewhere (templates/404.html)."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)


def forbidden(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The 403 of a role that may not open a page: JSON under /api/, else the styled page
    that says why and leads home (templates/403.html)."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": str(exception) or "Your role may not do this."}, status=403)
    return permission_denied(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500: JSON under /api/, else the styled page (templates/500.html, rendered
    without the request's context: it must work when the database does not)."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": "Something went wrong on our side; it has been logged."}, status=500
        )
    return django_server_error(request)
