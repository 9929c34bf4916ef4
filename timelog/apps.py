from __future__ import annotations

from django.apps import AppConfig


class TimelogConfig(AppConfig):
    name = "timelog"
