from __future__ import annotations

from django.apps import AppConfig


class CcmConfig(AppConfig):
    name = "ccm"
    verbose_name = "CCM: practices, users, audit"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from ccm.celery import ensure_broker_folders
        from ccm.middleware import stamp_session_at_sign_in

        ensure_broker_folders()
        user_logged_in.connect(stamp_session_at_sign_in, dispatch_uid="ccm_session_stamp")
