"""Domain errors that every app raises and the API turns into status codes."""

from __future__ import annotations

from rest_framework import status
from rest_framework.exceptions import APIException


class PeriodClosed(APIException):
    """A change touches a billing month that is closed (or closing): 409."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "This billing month is closed; reopen it before changing its data."
    default_code = "month_closed"


class LastAdmin(APIException):
    """A change would leave the practice without an active admin: 409."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The practice's last active admin cannot be removed."
    default_code = "last_admin"
