"""The session timer in the header of every page (templates/base.html): the patient's
name, the time worked, and its buttons, for the people who log care-management time.
static/js/session_timer.js keeps it counting and in step with the server."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from ccm.models import CARE_TEAM_ROLES
from timelog.timer.selectors import practice_time_zone, timer_for_user, timer_state
from timelog.timer.serializers import timer_data
from timelog.views import duration_text

register = template.Library()


@register.inclusion_tag("timelog/_session_timer.html", takes_context=True)
def session_timer(context: template.Context) -> dict[str, Any]:
    """The header's timer: hidden (but ready for a start) when the person has none; not
    there at all for roles that log no time. Two queries when there is a timer."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if (
        user is None
        or not user.is_authenticated
        or user.role not in CARE_TEAM_ROLES
        or user.practice_id is None
    ):
        return {"show": False}
    timer = timer_for_user(user)
    state = timer_state(timer) if timer is not None else None
    return {
        "show": True,
        "state": state,
        "payload": timer_data(state),
        "zone": str(practice_time_zone(user.practice)),
        "here": request.get_full_path() if request is not None else "/",
        "csrf_token": context.get("csrf_token"),
        "started_local": timezone.localtime(state.timer.started_at) if state else None,
    }


@register.filter
def clock(seconds: int) -> str:
    """Seconds as a running clock reads: '4:05', '1:02:03'."""
    hours, rest = divmod(max(int(seconds), 0), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@register.filter
def duration(seconds: int) -> str:
    """Seconds in whole minutes, as every page reads durations ('29 min')."""
    return duration_text(int(seconds))
