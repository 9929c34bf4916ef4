from __future__ import annotations

from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self) -> None:
        # The patient page leads with the patient's month, which only billing works out.
        from billing.patient_page import this_month_section
        from patients.page_sections import register_leading_section

        register_leading_section(this_month_section)
