"""Pages of the shared layer: sign-in and sign-out come from django.contrib.auth; the
home page sends each role to where its work is."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils.html import escape

log = logging.getLogger(__name__)


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


#: What each error answers when nothing more precise is known.
ERROR_DETAILS = {
    400: "The request could not be read.",
    403: "Your role may not open this page.",
    404: "Not found.",
    405: "This method is not allowed here.",
    500: "Something went wrong on our side; the error is logged. Try again.",
    503: "The server is busy with the same records; try again in a moment.",
}
#: The names of a request's problems that Django raises as a bad request (400).
BAD_REQUEST_DETAILS = {
    "RequestDataTooBig": "The request body is larger than {max_bytes} bytes.",
    "TooManyFieldsSent": "The request has more than {max_fields} fields.",
    "TooManyFilesSent": "The request has more than {max_files} files.",
    "DisallowedHost": "This host name is not served here.",
}


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def error_response(request: HttpRequest, status: int, detail: str | None = None) -> HttpResponse:
    """Every error the site answers outside DRF's own handling: JSON {"detail"} under
    /api/ (the API's clients parse every answer), a page elsewhere: the error's template
    (`403.html`, `404.html`, `500.html`...) or else `error.html`, with the signed-in
    layout when it can be drawn, without it when not (the error may be the database's),
    and in the last resort a plain page; never Django's bare one."""
    detail = detail or ERROR_DETAILS.get(status, ERROR_DETAILS[500])
    if is_api(request):
        return JsonResponse({"detail": detail}, status=status)
    context = {"status": status, "detail": detail, "request_path": request.path}
    templates = [f"{status}.html", "error.html"]
    for page_request in (request, None):
        try:
            return HttpResponse(
                loader.render_to_string(templates, context, request=page_request), status=status
            )
        except Exception:  # the error page must not fail: try a plainer one
            log.exception("rendering the %s page failed", status)
    return HttpResponse(
        f"<!doctype html><title>Error {status}</title><h1>Error {status}</h1>"
        f"<p>{escape(detail)}</p>",
        status=status,
    )


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: a request Django refused to read (too large, too many fields, a bad
    host), named."""
    known = BAD_REQUEST_DETAILS.get(type(exception).__name__)
    detail = known and known.format(
        max_bytes=settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
        max_fields=settings.DATA_UPLOAD_MAX_NUMBER_FIELDS,
        max_files=settings.DATA_UPLOAD_MAX_NUMBER_FILES,
    )
    return error_response(request, 400, detail or str(exception) or None)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler403."""
    return error_response(request, 403, str(exception) or None)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: the 404 of a URL nothing answers, or of an object not in the caller's
    practice."""
    return error_response(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: JSON under /api/, the 500 page elsewhere; the error itself is logged
    by Django (django.request)."""
    return error_response(request, 500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a form sent without its token (an expired page, usually)."""
    return error_response(
        request, 403, "This form expired or came from elsewhere: reload the page, send it again."
    )
