"""Middleware that protects PHI in the browser (security headers on every response, no
caching of anything a signed-in user sees, session time limits) and keeps every request
answerable: a transaction that lost a deadlock or a serialization check is run again
inside the request instead of answering 500."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect

from ccm.limits import UNSTORABLE, is_storable, storable_or_stripped
from ccm.views import error_response, is_api

log = logging.getLogger(__name__)

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


#: SQLSTATEs of a transaction that PostgreSQL gave up so another could go on; running it
#: again is the documented answer (serialization_failure, deadlock_detected).
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})


def is_retryable(error: BaseException) -> bool:
    return getattr(error.__cause__, "sqlstate", None) in RETRYABLE_SQLSTATES


class RetryConflictsMiddleware:
    """Runs the view again (up to REQUEST_ATTEMPTS times in all, after a short random
    pause) when PostgreSQL chose its transaction as a deadlock or serialization victim;
    a victim every time gets a 503 with Retry-After (nothing of it was written), not a 500.

    Locks are taken in one order (ccm.locks), so this is a net for what that order cannot
    see, never the plan. A retry starts afresh: each service is one transaction, rolled
    back whole when it failed, and the body was read once so every attempt parses the same
    bytes. Inside an outer transaction (a test's, or ATOMIC_REQUESTS) nothing could start
    afresh, so the error goes on as it is."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.attempts = max(1, int(getattr(settings, "REQUEST_ATTEMPTS", 3)))

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view: Callable[..., HttpResponse],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        if connection.in_atomic_block:
            return None
        request.body  # noqa: B018 (read once: a second attempt parses the same bytes)
        for attempt in range(1, self.attempts + 1):
            try:
                return view(request, *args, **kwargs)
            except DatabaseError as error:
                if not is_retryable(error):
                    raise
                victim = error.__cause__.__class__.__name__
                if attempt == self.attempts:
                    log.error("%s %s: %s %s times", request.method, request.path, victim, attempt)
                    break
                log.warning("%s %s: %s; attempt %s", request.method, request.path, victim, attempt)
                time.sleep(random.uniform(0.01, 0.05) * attempt)  # noqa: S311 (jitter)
        # Still a victim after every attempt: nothing was written; say to send it again.
        response = error_response(request, 503)
        response["Retry-After"] = "1"
        return response


#: Query parameters that search: what cannot be stored is dropped from them, not refused.
SEARCH_PARAMETERS = frozenset({"q", "search"})
FORM_MEDIA_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _unstorable_name(values: QueryDict) -> str | None:
    """The first parameter whose name or a value cannot be stored, or None."""
    for name, items in values.lists():
        if not is_storable(name):
            return storable_or_stripped(name) or "parameter"
        if not all(is_storable(item) for item in items):
            return name
    return None


class InputGuardMiddleware:
    """Text PostgreSQL cannot store (a NUL byte, ccm.limits) in a query string or a form
    is a 400 naming the parameter (JSON under /api/, a page elsewhere), before any view
    reads it: `?month=%00` or a form field with a NUL would otherwise reach a query or an
    insert and answer 500. In a search (?q=, ?search=) it is dropped instead. JSON bodies
    are checked by their parser (ccm.parsers), which names the path inside the body."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        searched = {name: request.GET.getlist(name) for name in SEARCH_PARAMETERS}
        if any(not is_storable(value) for values in searched.values() for value in values):
            cleaned = request.GET.copy()
            for name, values in searched.items():
                if values:
                    cleaned.setlist(name, [storable_or_stripped(value) for value in values])
            cleaned._mutable = False
            request.GET = cleaned  # type: ignore[assignment]
        bad = _unstorable_name(request.GET)
        if bad is None and request.content_type in FORM_MEDIA_TYPES:
            request.body  # noqa: B018 (read once, so the views' parsers read it again)
            bad = _unstorable_name(request.POST)
        if bad is not None:
            if is_api(request):
                return JsonResponse({bad: [UNSTORABLE]}, status=400)
            return error_response(request, 400, f"{bad}: {UNSTORABLE}")
        return self.get_response(request)
