"""`seed_demo`: the demo practice, one user per role (sign-in details printed), demo
patients with this month so far, and a previous month ready to close
(demo.previous_month); running it twice changes nothing."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from demo.claim_data import seed_demo_claim_data
from demo.previous_month import CASES, previous_month, seed_previous_month
from demo.seed import DEMO_PASSWORD, DEMO_PATIENTS, seed_demo_patients, seed_demo_users


class Command(BaseCommand):
    help = "Load the demo practice, users and patients (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        practice, users = seed_demo_users()
        self.stdout.write(f"Demo practice: {practice.name} ({practice.slug})")
        self.stdout.write(
            f"Sign in at http://127.0.0.1:8000/login/ with password {DEMO_PASSWORD!r} as:"
        )
        for user in users:
            self.stdout.write(f"  {user.username:<12} {user.get_role_display()}")
        patients = seed_demo_patients(practice)
        self.stdout.write(f"{len(patients)} demo patients:")
        for demo, patient in zip(DEMO_PATIENTS, patients, strict=True):
            self.stdout.write(f"  {patient.mrn} {patient.full_name:<18} {demo.note}")
        last = seed_previous_month(practice)
        month = f"{previous_month(timezone.localdate()):%Y-%m}"
        self.stdout.write(
            f"{len(last)} patients with a {month} ready to close: sign in as billing and "
            f"close it on the dashboard (or `close_month {month} --practice {practice.slug}`)."
        )
        for case, patient in zip(CASES, last, strict=True):
            self.stdout.write(f"  {patient.mrn} {patient.full_name:<18} {case.story}")
        # Last, so every demo patient (of any month) has what its claims need.
        provider = seed_demo_claim_data(practice)
        self.stdout.write(f"Billing provider: {provider.name} (NPI {provider.npi})")
