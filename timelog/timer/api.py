"""The session timer's API: the caller's own timer (there is no other's to name).

GET /api/timer/ the timer as it stands; PATCH /api/timer/ what the entry will say;
POST /api/timer/start/, pause/, resume/ (idle time dropped), keep-idle/ (idle time
kept), heartbeat/ (the page's activity), stop/ (saved as entries, one per day),
discard/. Each answers the envelope {timer, server_time} (stop: {entries, created, ...});
a second start answers 409 with the timer that runs.

A timer is idle once the practice's idle minutes pass with no activity reported
(heartbeat/, which the pages send): its time then ends at the last activity unless
keep-idle/ says the person kept working. A script that times work reports it too."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ccm.models import CARE_TEAM_ROLES, User
from ccm.openapi import ErrorSerializer
from timelog.models import Timer
from timelog.timer.selectors import timer_for_user, timer_state
from timelog.timer.serializers import (
    TimerActionInputSerializer,
    TimerDraftInputSerializer,
    TimerEnvelopeSerializer,
    TimerHeartbeatInputSerializer,
    TimerStartInputSerializer,
    TimerStoppedSerializer,
    timer_data,
    timer_stopped_data,
)
from timelog.timer.services import (
    TimerConflict,
    timer_discard,
    timer_keep_idle,
    timer_pause,
    timer_resume,
    timer_start,
    timer_stop,
    timer_touch,
    timer_update,
)

LOGGERS = frozenset(CARE_TEAM_ROLES)
CONFLICT = OpenApiResponse(TimerEnvelopeSerializer, description="The timer that runs.")
NO_TIMER = OpenApiResponse(ErrorSerializer, description="The caller has no timer.")


def _envelope(timer: Timer | None) -> dict[str, Any]:
    return timer_data(timer_state(timer) if timer is not None else None)


def _user(request: Request) -> User:
    user: User = request.user  # type: ignore[assignment]
    return user


class TimerApi(APIView):
    """GET: the caller's timer ({timer: null} when none). PATCH: keep what the entry
    will say (patients, activity, note, outcome, program) while it runs."""

    allowed_roles = {"GET": LOGGERS, "PATCH": LOGGERS}

    @extend_schema(responses=TimerEnvelopeSerializer)
    def get(self, request: Request) -> Response:
        return Response(_envelope(timer_for_user(_user(request))))

    @extend_schema(
        request=TimerDraftInputSerializer,
        responses={200: TimerEnvelopeSerializer, 404: NO_TIMER, 409: CONFLICT},
    )
    def patch(self, request: Request) -> Response:
        user = _user(request)
        serializer = TimerDraftInputSerializer(data=request.data, practice=user.practice)
        serializer.is_valid(raise_exception=True)
        timer = timer_update(
            user=user, draft=serializer.draft(), timer_id=serializer.validated_data.get("timer")
        )
        return Response(_envelope(timer))


class TimerStartApi(APIView):
    """Start the caller's timer for one patient or several (a shared activity). One timer
    per person: while one exists, 409 with it."""

    allowed_roles = {"POST": LOGGERS}

    @extend_schema(
        request=TimerStartInputSerializer,
        responses={201: TimerEnvelopeSerializer, 409: CONFLICT},
    )
    def post(self, request: Request) -> Response:
        user = _user(request)
        serializer = TimerStartInputSerializer(data=request.data, practice=user.practice)
        serializer.is_valid(raise_exception=True)
        draft = serializer.draft()
        try:
            timer = timer_start(
                user=user,
                patients=draft.patients or [],
                activity=draft.activity or "",
                note=draft.note or "",
                outcome=draft.outcome or "",
                program=draft.program or "ccm",
            )
        except TimerConflict as conflict:
            return _conflict(user, conflict)
        return Response(_envelope(timer), status=status.HTTP_201_CREATED)


def _conflict(user: User, conflict: TimerConflict) -> Response:
    return Response(
        {"detail": conflict.detail, **_envelope(timer_for_user(user))},
        status=status.HTTP_409_CONFLICT,
    )


class TimerStepApi(APIView):
    """One step of the caller's timer; `timer`, when sent, is the timer the page shows
    (another: 409)."""

    allowed_roles = {"POST": LOGGERS}

    @staticmethod
    def step(*, user: User, timer_id: Any) -> Timer:
        raise NotImplementedError

    @extend_schema(
        request=TimerActionInputSerializer,
        responses={200: TimerEnvelopeSerializer, 404: NO_TIMER, 409: CONFLICT},
    )
    def post(self, request: Request) -> Response:
        user = _user(request)
        serializer = TimerActionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            timer = self.step(user=user, timer_id=serializer.validated_data.get("timer"))
        except TimerConflict as conflict:
            return _conflict(user, conflict)
        return Response(_envelope(timer))


class TimerPauseApi(TimerStepApi):
    """Pause: from now (idle: from the last activity) nothing counts until resumed."""

    step = staticmethod(timer_pause)


class TimerResumeApi(TimerStepApi):
    """Count again from now; an idle timer's idle time is dropped."""

    step = staticmethod(timer_resume)


class TimerKeepIdleApi(TimerStepApi):
    """The person worked through the idle time: it counts, and the timer runs on
    (audited). 409 when the timer is not idle."""

    step = staticmethod(timer_keep_idle)


class TimerHeartbeatApi(APIView):
    """The page saw activity `inactive_seconds` ago: a running timer that is not idle
    counts on. Answers the timer, idle or not, so the page can ask "still working?"."""

    allowed_roles = {"POST": LOGGERS}

    @extend_schema(request=TimerHeartbeatInputSerializer, responses=TimerEnvelopeSerializer)
    def post(self, request: Request) -> Response:
        serializer = TimerHeartbeatInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        timer = timer_touch(
            user=_user(request), inactive_seconds=serializer.validated_data["inactive_seconds"]
        )
        return Response(_envelope(timer))


class TimerStopApi(APIView):
    """Save the timer's work as time entries, one per day (through the time-entry
    service), and end it; the body may set what the entries say. Sent again with the same
    `timer`, it answers the entries saved the first time (200, created false)."""

    allowed_roles = {"POST": LOGGERS}

    @extend_schema(
        request=TimerDraftInputSerializer,
        responses={
            201: TimerStoppedSerializer,
            200: TimerStoppedSerializer,
            404: NO_TIMER,
            409: CONFLICT,
        },
    )
    def post(self, request: Request) -> Response:
        user = _user(request)
        serializer = TimerDraftInputSerializer(data=request.data, practice=user.practice)
        serializer.is_valid(raise_exception=True)
        try:
            stopped = timer_stop(
                user=user,
                timer_id=serializer.validated_data.get("timer"),
                draft=serializer.draft(),
            )
        except TimerConflict as conflict:
            return _conflict(user, conflict)
        return Response(
            timer_stopped_data(stopped.entries, created=stopped.created),
            status=status.HTTP_201_CREATED if stopped.created else status.HTTP_200_OK,
        )


class TimerDiscardApi(APIView):
    """Throw the timer away unsaved (audited)."""

    allowed_roles = {"POST": LOGGERS}

    @extend_schema(
        request=TimerActionInputSerializer,
        responses={200: TimerEnvelopeSerializer, 404: NO_TIMER, 409: CONFLICT},
    )
    def post(self, request: Request) -> Response:
        user = _user(request)
        serializer = TimerActionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            timer_discard(user=user, timer_id=serializer.validated_data.get("timer"))
        except TimerConflict as conflict:
            return _conflict(user, conflict)
        return Response(timer_data(None))
