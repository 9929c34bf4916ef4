"""URLs of the timelog app: the time-entry API (interface.md) and the time pages."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from timelog import api, views
from timelog.timer import api as timer_api
from timelog.timer import views as timer_views

urlpatterns: list[URLPattern | URLResolver] = [
    path("api/time-entries/", api.TimeEntryListApi.as_view(), name="api-time-entries"),
    path("api/time-entries/<int:pk>/", api.TimeEntryDetailApi.as_view(), name="api-time-entry"),
    path("time/log/", views.log_time, name="log-time"),
    path("time/mine/", views.my_entries, name="my-entries"),
    path("time/mine/<int:pk>/edit/", views.my_entry_edit, name="my-entry-edit"),
    path("time/mine/<int:pk>/delete/", views.my_entry_delete, name="my-entry-delete"),
    # The session timer: the caller's own, so no id in the path.
    path("api/timer/", timer_api.TimerApi.as_view(), name="api-timer"),
    path("api/timer/start/", timer_api.TimerStartApi.as_view(), name="api-timer-start"),
    path("api/timer/pause/", timer_api.TimerPauseApi.as_view(), name="api-timer-pause"),
    path("api/timer/resume/", timer_api.TimerResumeApi.as_view(), name="api-timer-resume"),
    path("api/timer/keep-idle/", timer_api.TimerKeepIdleApi.as_view(), name="api-timer-keep-idle"),
    path("api/timer/heartbeat/", timer_api.TimerHeartbeatApi.as_view(), name="api-timer-heartbeat"),
    path("api/timer/stop/", timer_api.TimerStopApi.as_view(), name="api-timer-stop"),
    path("api/timer/discard/", timer_api.TimerDiscardApi.as_view(), name="api-timer-discard"),
    # The same steps as form posts, for pages without JavaScript.
    *[
        path(f"time/timer/{step}/", timer_views.timer_step, {"step": step}, name=f"timer-{step}")
        for step in timer_views.STEP_NAMES
    ],
]
