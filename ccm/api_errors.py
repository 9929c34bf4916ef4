"""API error handling: Django ValidationErrors raised by services become 400s naming the
field, like DRF's own; everything else is DRF's default."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ccm.exceptions import PeriodClosed


def database_guard_error(exc: BaseException) -> Exception | None:
    """The API error for a database guard's refusal (ccm migration 0005): a change in a
    closed month (SQLSTATE CC409) or to the audit log (CC403); None for anything else."""
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    if sqlstate == "CC409":
        return PeriodClosed("This billing month is closed; reopen it before changing its data.")
    if sqlstate == "CC403":
        return PermissionDenied("The audit log cannot be changed.")
    return None


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DatabaseError):
        exc = database_guard_error(exc) or exc
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            exc = ValidationError(exc.message_dict)
        else:
            exc = ValidationError({"non_field_errors": exc.messages})
    return drf_exception_handler(exc, context)
