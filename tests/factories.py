"""factory_boy factories shared by every test package."""

from __future__ import annotations

import datetime as dt
import itertools

import factory
from django.utils import timezone
from rest_framework.authtoken.models import Token

from ccm.models import Practice, Role, User
from patients.models import Patient
from timelog.models import TimeActivity
from timelog.services import TimeActivityInput, time_activity_create


class PracticeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Practice
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Practice {n}")
    slug = factory.Sequence(lambda n: f"practice-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    practice = factory.SubFactory(PracticeFactory)
    role = Role.RN
    full_name = factory.Faker("name")
    credential = "RN"
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-1")

    @factory.post_generation
    def token(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            self.save()
            Token.objects.get_or_create(user=self)


class PatientFactory(factory.django.DjangoModelFactory):
    """A patient eligible for CCM once given conditions, consent and a care plan."""

    class Meta:
        model = "patients.Patient"

    practice = factory.SubFactory(PracticeFactory)
    mrn = factory.Sequence(lambda n: f"MRN{n:05d}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    birth_date = factory.Faker("date_of_birth", minimum_age=65, maximum_age=90)
    billing_practitioner = factory.SubFactory(
        UserFactory,
        role=Role.PRACTITIONER,
        credential="MD",
        practice=factory.SelfAttribute("..practice"),
    )


#: Each entry's own note: a note copied onto three entries is a finding of its own
#: (ENTRY_NOTE_REPEATED).
_CALLS = itertools.count(1)


def log_minutes(
    performer: User,
    patients: list[Patient],
    minutes: int,
    day: dt.date | None = None,
    *,
    program: str = "ccm",
    started: dt.time | None = None,
    outcome: str = "",
) -> TimeActivity:
    """A phone call of `minutes` by `performer`, split evenly between `patients`, on
    `day` (today by default), through the service the pages and the API use, logged the
    day it records (rule ENTRY_LATE)."""
    activity, _ = time_activity_create(
        performer=performer,
        today=day,
        entry=TimeActivityInput(
            patients=patients,
            date=day or timezone.localdate(),
            duration_seconds=minutes * 60,
            activity="patient_call",
            note=f"Called the patient (#{next(_CALLS)})",
            outcome=outcome,
            program=program,
            started_at=started,
        ),
    )
    return activity
