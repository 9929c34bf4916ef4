"""Fixtures every test package shares: practices, a user per role, API clients; and the
guard that fails any test during which the server logged a 5xx (issue 15: the server
log of the test run has no 500)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from ccm.models import Practice, Role, User
from patients.models import CarePlan, ChronicCondition, Consent, Patient, Visit
from tests.factories import PatientFactory, PracticeFactory, UserFactory


class ServerErrors(logging.Handler):
    """The django.request log records of answers with a 5xx status (any thread: the
    live server's too)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "status_code", 500) >= 500:
            self.records.append(record)


@pytest.fixture(autouse=True)
def no_server_error_is_logged(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test when the server answered a 5xx meanwhile, unless it is marked
    `server_error_expected` (a test of the 5xx answers themselves)."""
    errors = ServerErrors()
    logger = logging.getLogger("django.request")
    logger.addHandler(errors)
    try:
        yield
    finally:
        logger.removeHandler(errors)
    if errors.records and request.node.get_closest_marker("server_error_expected") is None:
        messages = sorted({record.getMessage() for record in errors.records})
        pytest.fail(f"the server answered {len(errors.records)} 5xx: {messages}", pytrace=False)


@pytest.fixture
def practice(db: None) -> Practice:
    return PracticeFactory(slug="home-practice", name="Home Practice")


@pytest.fixture
def other_practice(db: None) -> Practice:
    return PracticeFactory(slug="other-practice", name="Other Practice")


@pytest.fixture
def make_user(practice: Practice) -> Callable[..., User]:
    def make(role: str = Role.RN, **fields: object) -> User:
        fields.setdefault("practice", practice)
        return UserFactory(role=role, **fields)

    return make


@pytest.fixture
def nurse(make_user: Callable[..., User]) -> User:
    return make_user(Role.RN, credential="RN")


@pytest.fixture
def practitioner(make_user: Callable[..., User]) -> User:
    return make_user(Role.PRACTITIONER, credential="MD", npi="1234567893")


@pytest.fixture
def billing_user(make_user: Callable[..., User]) -> User:
    return make_user(Role.BILLING, credential="")


@pytest.fixture
def admin_user(make_user: Callable[..., User]) -> User:
    return make_user(Role.ADMIN, credential="")


@pytest.fixture
def front_desk(make_user: Callable[..., User]) -> User:
    return make_user(Role.FRONT_DESK, credential="")


@pytest.fixture
def outsider(other_practice: Practice) -> User:
    """A user of another practice: every object of `practice` must be 404 to them."""
    return UserFactory(role=Role.ADMIN, practice=other_practice)


@pytest.fixture
def api_client_for() -> Callable[[User | None], APIClient]:
    """An API client authenticated with the user's DRF token (None: anonymous)."""

    def make(user: User | None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Token {user.auth_token.key}")
        return client

    return make


def make_eligible(patient: Patient, since: dt.date = dt.date(2025, 1, 10)) -> Patient:
    """Two chronic conditions, consent to the billing practitioner at their initiating
    visit, and a care plan they signed and reviewed a month ago: eligible for CCM in every
    month from `since` (revision 2 counts only the billing practitioner's own visit and
    flags a plan they did not sign or nobody reviewed in a year)."""
    ChronicCondition.objects.create(patient=patient, icd10="E11.9", onset=dt.date(2019, 5, 1))
    ChronicCondition.objects.create(patient=patient, icd10="I50.22", onset=dt.date(2021, 2, 1))
    Consent.objects.create(
        patient=patient,
        date=since,
        method="verbal",
        billing_practitioner=patient.billing_practitioner,
    )
    CarePlan.objects.create(
        patient=patient,
        version=1,
        established=since,
        problems="DM2, CHF",
        goals="A1c < 8",
        interventions="calls",
        reviewed=max(since, timezone.localdate() - dt.timedelta(days=30)),
        signed_by=patient.billing_practitioner,
        signed_at=dt.datetime.combine(since, dt.time(12), tzinfo=dt.UTC),
    )
    Visit.objects.create(
        patient=patient,
        date=since,
        code="99214",
        ccm_discussed=True,
        practitioner=patient.billing_practitioner,
    )
    return patient


@pytest.fixture
def make_patient(practice: Practice, practitioner: User) -> Callable[..., Patient]:
    """Patients of the home practice billed by `practitioner`; eligible unless told not."""

    def make(eligible: bool = True, **fields: object) -> Patient:
        fields.setdefault("practice", practice)
        fields.setdefault("billing_practitioner", practitioner)
        patient = PatientFactory(**fields)
        return make_eligible(patient) if eligible else patient

    return make


@pytest.fixture
def patient(make_patient: Callable[..., Patient]) -> Patient:
    return make_patient()
