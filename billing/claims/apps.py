from __future__ import annotations

from django.apps import AppConfig


class ClaimsConfig(AppConfig):
    """billing.claims: its own app (label `claims`) so its tables and migrations stand
    beside the billing app's."""

    name = "billing.claims"
    label = "claims"
    verbose_name = "Claims out and audit packets"

    def ready(self) -> None:
        from billing.claims import tasks  # noqa: F401 - registers the Celery task
