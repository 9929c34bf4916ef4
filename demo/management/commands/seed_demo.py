"""`seed_demo`: the demo practice, one user per role (sign-in details printed) and demo
patients; running it twice changes nothing."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from demo.claim_data import seed_demo_claim_data
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
        # Last, so every demo patient (of any month) has what its claims need.
        provider = seed_demo_claim_data(practice)
        self.stdout.write(f"Billing provider: {provider.name} (NPI {provider.npi})")
