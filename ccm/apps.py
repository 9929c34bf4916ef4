from __future__ import annotations

from django.apps import AppConfig


class CcmConfig(AppConfig):
    name = "ccm"
    verbose_name = "CCM: practices, users, audit"

    def ready(self) -> None:
        from ccm.celery import ensure_broker_folders

        ensure_broker_folders()
