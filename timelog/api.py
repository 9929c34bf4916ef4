"""The time-entry API (interface.md): log an activity for its patients, and list, edit
and delete one's own entries while the month is open."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from ccm.capabilities import Capability as C
from ccm.capabilities import roles_with
from ccm.periods import parse_month
from timelog.models import TimeActivity
from timelog.selectors import time_activities_for_practice, time_activity_list_own
from timelog.serializers import (
    TimeEntryInputSerializer,
    TimeEntryOutputSerializer,
    time_entry_data,
    validated_new_entry,
)
from timelog.services import time_activity_create, time_activity_delete, time_activity_update

LOGGERS = roles_with(C.LOG_TIME)
TIME_READERS = roles_with(C.SEE_CARE_TIME)


DURATION_KEYS = ("minutes", "started_at", "ended_at")


def _input(request: Request, base: TimeActivity) -> TimeEntryInputSerializer:
    """Validate the body of a PUT or PATCH; a PATCH is merged over the entry's current
    values (a new duration, given either way, replaces the old one whole)."""
    data: Any = request.data
    if request.method == "PATCH":
        current = _as_input(base)
        if any(key in request.data for key in DURATION_KEYS):
            current = {k: v for k, v in current.items() if k not in DURATION_KEYS}
        data = {**current, **request.data}
    serializer = TimeEntryInputSerializer(data=data, practice=request.user.practice)
    serializer.is_valid(raise_exception=True)
    return serializer


def _as_input(activity: TimeActivity) -> dict[str, Any]:
    """An existing entry in the input shape."""
    data: dict[str, Any] = {
        "patients": [share.patient_id for share in activity.shares.all()],
        "date": activity.date.isoformat(),
        "activity": activity.activity,
        "note": activity.note,
        "outcome": activity.outcome,
        "program": activity.program,
    }
    if activity.started_at is not None:
        start = dt.datetime.combine(activity.date, activity.started_at)
        data["started_at"] = start.time().isoformat()
        data["ended_at"] = (start + dt.timedelta(seconds=activity.duration_seconds)).isoformat()
    else:
        data["minutes"] = activity.duration_seconds // 60
    return data


class TimeEntryListApi(ListAPIView):  # type: ignore[type-arg]
    """POST: log one activity, split evenly between its patients (the caller performs it).
    GET: the caller's own entries (filters: month=YYYY-MM, patient=id)."""

    allowed_roles = {"GET": LOGGERS, "POST": LOGGERS}
    serializer_class = TimeEntryOutputSerializer
    filter_backends = ()

    @extend_schema(parameters=[OpenApiParameter("month", str), OpenApiParameter("patient", int)])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        request = self.request
        month = request.query_params.get("month")
        patient = request.query_params.get("patient")
        try:
            month_date = parse_month(month) if month else None
        except ValueError as error:
            raise ValidationError({"month": [str(error)]}) from None
        if patient is not None and not patient.isdigit():
            raise ValidationError({"patient": ["Give a patient id."]})
        return time_activity_list_own(
            performer=request.user,
            month=month_date,
            patient_id=int(patient) if patient else None,
        )

    @extend_schema(request=TimeEntryInputSerializer, responses={201: TimeEntryOutputSerializer})
    def post(self, request: Request) -> Response:
        # TimeEntryInputSerializer's and TimeEntryOutputSerializer's answers, without the
        # cost of making either serializer on every POST. (No docstring: it would become
        # the operation's description in the schema.)
        validated = validated_new_entry(request.data, practice=request.user.practice)
        activity, created = time_activity_create(
            performer=request.user,
            entry=validated["entry"],
            request_id=validated.get("request_id"),
        )
        if not created:  # a retry: the first entry as it is now
            activity = time_activities_for_practice(request.user.practice).get(pk=activity.pk)
        # A new entry is answered from the objects just written (its shares loaded by the
        # service): reading it back would only give the same values.
        return Response(
            time_entry_data(activity),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class TimeEntryDetailApi(GenericAPIView):  # type: ignore[type-arg]
    """One entry of the practice: the roles that see care time may read it; only its performer
    may change or delete it, and only while its month is open (else 409)."""

    allowed_roles = {"GET": TIME_READERS, "PUT": LOGGERS, "PATCH": LOGGERS, "DELETE": LOGGERS}
    serializer_class = TimeEntryOutputSerializer

    def get_object(self) -> TimeActivity:
        return get_object_or_404(
            time_activities_for_practice(self.request.user.practice), pk=self.kwargs["pk"]
        )

    def get(self, request: Request, pk: int) -> Response:
        return Response(TimeEntryOutputSerializer(self.get_object()).data)

    @extend_schema(request=TimeEntryInputSerializer, responses=TimeEntryOutputSerializer)
    def put(self, request: Request, pk: int) -> Response:
        activity = self.get_object()
        serializer = _input(request, activity)
        time_activity_update(
            activity=activity, actor=request.user, entry=serializer.validated_data["entry"]
        )
        return Response(TimeEntryOutputSerializer(self.get_object()).data)

    @extend_schema(request=TimeEntryInputSerializer, responses=TimeEntryOutputSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        return self.put(request, pk)

    def delete(self, request: Request, pk: int) -> Response:
        time_activity_delete(activity=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
