"""Demo data for `make run`: one practice, one user per role, and (once the clinical apps
provide them) patients with a realistic month. Running it twice changes nothing."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from ccm.models import Practice, Role, User
from ccm.services import practice_get_or_create, user_create

DEMO_PRACTICE_SLUG = "demo"
DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - printed on purpose: demo sign-in details


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    full_name: str
    credential: str = ""
    npi: str = ""


DEMO_USERS = (
    DemoUser("nurse", Role.RN, "Nora Nurse", "RN"),
    DemoUser("lpn", Role.LPN, "Leo Practical", "LPN"),
    DemoUser("ma", Role.MA, "Maya Assistant", "CMA"),
    DemoUser("caremanager", Role.CARE_MANAGER, "Carla Manager", "MSW"),
    DemoUser("doctor", Role.PRACTITIONER, "Dr. Diane Doctor", "MD", "1234567893"),
    DemoUser("billing", Role.BILLING, "Bill Biller"),
    DemoUser("admin", Role.ADMIN, "Ada Admin"),
    DemoUser("frontdesk", Role.FRONT_DESK, "Fran Desk"),
)


@transaction.atomic
def seed_demo_users() -> tuple[Practice, list[User]]:
    """The demo practice and one user per role (existing ones are left as they are)."""
    practice = practice_get_or_create(slug=DEMO_PRACTICE_SLUG, name="Demo Family Medicine")
    users = []
    for demo in DEMO_USERS:
        user = User.objects.filter(username=demo.username).first()
        if user is None:
            user = user_create(
                username=demo.username, role=demo.role, practice=practice,
                password=DEMO_PASSWORD, full_name=demo.full_name,
                credential=demo.credential, npi=demo.npi,
            )
        users.append(user)
    return practice, users
