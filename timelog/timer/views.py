"""The session timer's steps as plain form posts: the header's and the rows' buttons work
without JavaScript (with it, static/js/session_timer.js sends the same steps to the API
and the page stays put). Stopping is the Log time form's (timelog.views.log_time): the
entry is shown, prefilled, and the person confirms it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from ccm.models import CARE_TEAM_ROLES, User
from ccm.views import role_required
from timelog.timer.serializers import TimerDraftInputSerializer, TimerStartInputSerializer
from timelog.timer.services import (
    NoTimer,
    TimerConflict,
    timer_discard,
    timer_keep_idle,
    timer_pause,
    timer_resume,
    timer_start,
    timer_update,
)

STEPS: dict[str, Callable[..., Any]] = {
    "pause": timer_pause,
    "resume": timer_resume,
    "keep-idle": timer_keep_idle,
    "discard": timer_discard,
}
STEP_NAMES = ("start", *STEPS)
#: Sent from the Log time form, these keep what was typed there with the timer first.
KEEPS_DRAFT = frozenset({"pause", "resume"})

DONE = {
    "start": "Timer started.",
    "pause": "Timer paused.",
    "resume": "Timer running again.",
    "keep-idle": "The idle time is kept: the timer runs on.",
    "discard": "Timer discarded: its time was not saved.",
}


def _back(request: HttpRequest) -> str:
    """Where the form was sent from (the `next` field), else the Log time page."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("log-time")


def _timer_id(request: HttpRequest) -> uuid.UUID | None:
    try:
        return uuid.UUID(request.POST.get("timer", ""))
    except ValueError:
        return None


def _keep_draft(user: User, request: HttpRequest) -> None:
    """What the Log time form holds, kept with the timer (as the page's script does while
    the person types); nothing is kept when any of it does not validate."""
    serializer = TimerDraftInputSerializer(data=request.POST, practice=user.practice)
    if serializer.is_valid():
        timer_update(user=user, draft=serializer.draft(), timer_id=_timer_id(request))


@role_required(CARE_TEAM_ROLES)
@require_POST
def timer_step(request: HttpRequest, step: str) -> HttpResponse:
    """One step of the signed-in person's timer, then back to the page it was sent from;
    what went wrong (a timer already running, none to pause) is said there."""
    user: User = request.user  # type: ignore[assignment]
    try:
        if step == "start":
            serializer = TimerStartInputSerializer(data=request.POST, practice=user.practice)
            if not serializer.is_valid():
                first = next(iter(serializer.errors.values()))
                raise ValidationError(first)
            draft = serializer.draft()
            timer_start(
                user=user,
                patients=draft.patients or [],
                activity=draft.activity or "",
                note=draft.note or "",
                outcome=draft.outcome or "",
                program=draft.program or "ccm",
            )
        else:
            if step in KEEPS_DRAFT and "note" in request.POST:
                _keep_draft(user, request)
            STEPS[step](user=user, timer_id=_timer_id(request))
    except (NoTimer, TimerConflict) as refused:
        messages.error(request, str(refused.detail))
    except ValidationError as invalid:
        messages.error(request, " ".join(invalid.messages))
    else:
        messages.success(request, DONE[step])
    return HttpResponseRedirect(_back(request))
