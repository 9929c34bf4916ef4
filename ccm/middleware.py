"""Middleware that protects PHI in the browser: security headers on every response, no
caching of anything a signed-in user sees, and session time limits."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class SecurityHeadersMiddleware:
    """A strict content security policy (no inline script or style, no framing), a
    permissions policy, and Cache-Control: no-store on every page or API answer given to a
    signed-in user or under /api/, so no browser or proxy keeps PHI."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        response.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        user = getattr(request, "user", None)
        if request.path.startswith("/api/") or (user is not None and user.is_authenticated):
            response["Cache-Control"] = "no-store, private"
            response["Pragma"] = "no-cache"
        return response


class SessionTimeoutMiddleware:
    """Signs a browser session out after SESSION_IDLE_SECONDS without a request (15 min)
    and SESSION_ABSOLUTE_SECONDS after sign-in (12 h), whatever the activity."""

    AUTH_AT = "ccm_auth_at"
    SEEN_AT = "ccm_seen_at"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = int(time.time())
            session = request.session
            auth_at = session.setdefault(self.AUTH_AT, now)
            seen_at = session.get(self.SEEN_AT, now)
            idle = now - seen_at > settings.SESSION_IDLE_SECONDS
            expired = now - auth_at > settings.SESSION_ABSOLUTE_SECONDS
            if idle or expired:
                logout(request)  # flushes the server-side session
                if request.path.startswith("/api/"):
                    return self.get_response(request)
                return redirect(f"{settings.LOGIN_URL_PATH}?next={request.path}")
            if now - seen_at >= 30 or self.SEEN_AT not in session:
                session[self.SEEN_AT] = now
        return self.get_response(request)


def stamp_session_at_sign_in(
    sender: object, request: HttpRequest, user: object, **kwargs: object
) -> None:
    """Signal receiver (user_logged_in): the session's sign-in and last-seen times start
    now, so the first request after sign-in does not need to write the session."""
    if hasattr(request, "session"):
        now = int(time.time())
        request.session[SessionTimeoutMiddleware.AUTH_AT] = now
        request.session[SessionTimeoutMiddleware.SEEN_AT] = now


class PasswordChoiceMiddleware:
    """A user signed in with a one-time password (given by the practice admin) must choose
    their own before anything else: pages lead to the password page, the API answers 403.
    Signing out and static files stay open."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.must_change_password:
            choose = reverse("password-choose")
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {
                        "detail": "Choose your own password first: you signed in with a "
                        "one-time one."
                    },
                    status=403,
                )
            if request.path not in {choose, reverse("logout")} and not request.path.startswith(
                f"/{settings.STATIC_URL.lstrip('/')}"
            ):
                return redirect(choose)
        return self.get_response(request)
