"""The CCM project: settings, URLs, the Celery app, and what every app shares."""

from __future__ import annotations

from ccm.celery import app as celery_app

__all__ = ("celery_app",)
