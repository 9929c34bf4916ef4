"""Every list endpoint of the API answers in a fixed number of queries (issue 6).

The list endpoints are found by walking the URLconf: a DRF list view (ListModelMixin), or
any GET whose documented answer is a list (a JSON array, a paginated page of results, or
CSV rows). Each one must have an entry in ENDPOINTS below, which says how to seed its
rows, with their related rows (conditions, shares of activities done for several
patients, claim lines...), and how many queries its GET takes. A list endpoint added
without an entry here fails `test_every_list_endpoint_is_covered`.

For each endpoint: seed one row, GET it as an authorised user of the practice and count
the queries; seed five more and count again. The two counts must be equal (a count that
grows with rows is an N+1) and equal to the number written here, so it cannot creep up
unnoticed. A warm-up GET before each count keeps per-process caches out of the figure.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.http import HttpResponseBase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.mixins import ListModelMixin
from rest_framework.test import APIClient

from billing.close import close_request, close_run_inline, reopen_month
from billing.models import FeeScheduleEntry
from billing.selectors import rulebook_for_month
from ccm.models import BillingMonth, Practice, Role, User
from patients.models import Patient
from tests.billing.conftest import last_month, log_minutes
from tests.patients.factories import (
    CarePlanFactory,
    ChronicConditionFactory,
    ConsentFactory,
    InpatientStayFactory,
    OtherServiceFactory,
    VisitFactory,
)
from tests.security.routes import api_roles, site_routes
from timelog.services import TimeActivityInput, time_activity_create

pytestmark = pytest.mark.django_db

FIRST, MORE = 1, 5
FEE_YEAR = 2026  # a year with a rulebook (billing/rules)
ICD10 = ("E11.9", "I50.22", "J44.9", "N18.30", "I10", "E78.5")


# -- the world each endpoint is measured in ----------------------------------------------


@dataclass
class World:
    """The home practice, its people, and a bare patient for the per-patient lists."""

    practice: Practice
    nurse: User
    billing_user: User
    make_user: Callable[..., User]
    make_patient: Callable[..., Patient]
    patient: Patient
    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def practitioner(self) -> User:
        """A new practitioner, so rows point at different users (an N+1 on them shows)."""
        return self.make_user(Role.PRACTITIONER, credential="MD")

    def staff(self) -> User:
        return self.make_user(Role.MA, credential="CMA")


@pytest.fixture
def world(
    practice: Practice,
    nurse: User,
    billing_user: User,
    make_user: Callable[..., User],
    make_patient: Callable[..., Patient],
) -> World:
    return World(
        practice=practice,
        nurse=nurse,
        billing_user=billing_user,
        make_user=make_user,
        make_patient=make_patient,
        patient=make_patient(eligible=False, last_name="Bare"),
    )


# -- how many seeded rows an answer shows --------------------------------------------------


def page_count(response: HttpResponseBase, body: bytes) -> int:
    page = json.loads(body)
    assert page["count"] <= settings.REST_FRAMEWORK["PAGE_SIZE"], "seed within one page"
    return int(page["count"])


def practice_fees_shown(response: HttpResponseBase, body: bytes) -> int:
    return sum(1 for fee in json.loads(body) if fee["source"] == "practice")


def csv_patients(response: HttpResponseBase, body: bytes) -> int:
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    return len({row["mrn"] for row in rows})


# -- seeders: add `n` rows (with their related rows) the endpoint lists ------------------


def seed_users(world: World, n: int) -> None:
    roles = itertools.cycle([Role.RN, Role.MA, Role.PRACTITIONER, Role.BILLING, Role.LPN])
    for _ in range(n):
        world.make_user(next(roles))


def seed_patients(world: World, n: int) -> None:
    # Eligible patients (conditions, consent, care plan, visit), each billed by a
    # practitioner of their own.
    for _ in range(n):
        world.make_patient(billing_practitioner=world.practitioner())


def seed_conditions(world: World, n: int) -> None:
    for _ in range(n):
        ChronicConditionFactory(patient=world.patient, icd10=ICD10[next(world.counter) % 6])


def seed_consents(world: World, n: int) -> None:
    for _ in range(n):
        ConsentFactory(
            patient=world.patient,
            billing_practitioner=world.practitioner(),
            recorded_by=world.staff(),
        )


def seed_visits(world: World, n: int) -> None:
    for _ in range(n):
        VisitFactory(patient=world.patient, practitioner=world.practitioner())


def seed_care_plans(world: World, n: int) -> None:
    for _ in range(n):
        CarePlanFactory(
            patient=world.patient,
            version=next(world.counter),
            signed_by=world.practitioner(),
            signed_at=timezone.now(),
            created_by=world.staff(),
        )


def seed_other_services(world: World, n: int) -> None:
    for _ in range(n):
        day = next(world.counter)
        OtherServiceFactory(
            patient=world.patient, date=dt.date(2026, 3, day), practitioner_npi="1234567893"
        )


def seed_inpatient_stays(world: World, n: int) -> None:
    for _ in range(n):
        day = 2 * next(world.counter)
        InpatientStayFactory(
            patient=world.patient,
            admitted=dt.date(2026, 4, day),
            discharged=dt.date(2026, 4, day + 1),
        )


def seed_time_entries(world: World, n: int) -> None:
    # The nurse's own activities, each shared by three patients.
    for _ in range(n):
        patients = [world.make_patient(eligible=False) for _ in range(3)]
        time_activity_create(
            performer=world.nurse,
            entry=TimeActivityInput(
                patients=patients,
                date=timezone.localdate(),
                duration_seconds=15 * 60,
                activity="care_coordination",
                note="shared call",
            ),
        )


def seed_closed_month(world: World, n: int) -> None:
    """`n` more billable patients in last month's close: reopen it if closed, log their
    minutes (one activity shared by all of them when there are several), close again."""
    month = last_month()
    if BillingMonth.objects.filter(
        practice=world.practice, month=month, status=BillingMonth.Status.CLOSED
    ).exists():
        reopen_month(
            practice=world.practice, month=month, actor=world.billing_user, reason="more rows"
        )
    patients = [world.make_patient(billing_practitioner=world.practitioner()) for _ in range(n)]
    for patient in patients:
        log_minutes(world.nurse, [patient], day=3, minutes=40)
    log_minutes(world.nurse, patients, day=4, minutes=5 * len(patients))
    run, _ = close_request(practice=world.practice, month=month, actor=world.billing_user)
    assert run is not None
    close_run_inline(run)


def seed_fees(world: World, n: int) -> None:
    codes = sorted(rulebook_for_month(dt.date(FEE_YEAR, 1, 1)).fees)
    have = FeeScheduleEntry.objects.filter(practice=world.practice, year=FEE_YEAR).count()
    for code in codes[have : have + n]:
        FeeScheduleEntry.objects.create(
            practice=world.practice, code=code, year=FEE_YEAR, locality="", amount="42.00"
        )


# -- the endpoints -------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    role: str
    url: Callable[[World], str]
    seed: Callable[[World, int], None]
    queries: int  # the fixed number of queries of one GET
    shown: Callable[[HttpResponseBase, bytes], int] = page_count


def patient_url(tail: str) -> Callable[[World], str]:
    return lambda world: f"/api/patients/{world.patient.pk}/{tail}"


def closed_month_url(path: str) -> Callable[[World], str]:
    return lambda world: f"{path}?month={last_month():%Y-%m}"


#: URL name → how to seed and measure it. Every list endpoint of the API is here.
#: The counts: 1 for the token (with its user and practice, ccm.authentication); a
#: paginated list adds its COUNT and its page; a per-patient list first finds the patient
#: in the caller's practice; the time entries add their shares (one prefetch), the worklist
#: the month's close version and the rows' claim lines (one prefetch); the export reads the
#: version, writes its audit event and streams the lines from one server-side cursor; the
#: fee schedule reads the practice's own fees.
ENDPOINTS: dict[str, Endpoint] = {
    "api-users": Endpoint(Role.RN, lambda w: "/api/users/", seed_users, queries=3),
    "api-patients": Endpoint(Role.RN, lambda w: "/api/patients/", seed_patients, queries=3),
    "api-patient-conditions": Endpoint(
        Role.RN, patient_url("conditions/"), seed_conditions, queries=4
    ),
    "api-patient-consents": Endpoint(Role.RN, patient_url("consents/"), seed_consents, queries=4),
    "api-patient-visits": Endpoint(Role.RN, patient_url("visits/"), seed_visits, queries=4),
    "api-patient-care-plan-versions": Endpoint(
        Role.RN, patient_url("care-plan/versions/"), seed_care_plans, queries=4
    ),
    "api-patient-other-services": Endpoint(
        Role.RN, patient_url("other-services/"), seed_other_services, queries=4
    ),
    "api-patient-inpatient-stays": Endpoint(
        Role.RN, patient_url("inpatient-stays/"), seed_inpatient_stays, queries=4
    ),
    "api-time-entries": Endpoint(
        Role.RN, lambda w: "/api/time-entries/", seed_time_entries, queries=4
    ),
    "api-worklist": Endpoint(
        Role.BILLING, closed_month_url("/api/worklist/"), seed_closed_month, queries=5
    ),
    "api-worklist-export": Endpoint(
        Role.BILLING,
        closed_month_url("/api/worklist/export/"),
        seed_closed_month,
        # The token, the month, the audit event, then the COPY's transaction (savepoint,
        # its settings, release); the COPY itself is not a captured query.
        queries=6,
        shown=csv_patients,
    ),
    "api-fee-schedule": Endpoint(
        Role.BILLING,
        lambda w: f"/api/fee-schedule/?year={FEE_YEAR}",
        seed_fees,
        queries=2,
        shown=practice_fees_shown,
    ),
}


# -- finding the list endpoints in the URLconf ---------------------------------------------


def _blank(path: str) -> str:
    """An OpenAPI path with its parameter names blanked, as routes.Route.openapi_path."""
    return (
        "/" + "/".join("{}" if p.startswith("{") else p for p in path.strip("/").split("/")) + "/"
    )


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _answers_a_list(schema: dict[str, Any], operation: dict[str, Any]) -> bool:
    for media_type, content in (
        operation.get("responses", {}).get("200", {}).get("content", {}).items()
    ):
        if media_type == "text/csv":
            return True
        body = _resolve(schema, content.get("schema", {}))
        results = _resolve(schema, body.get("properties", {}).get("results", {}))
        if body.get("type") == "array" or results.get("type") == "array":
            return True
    return False


def list_endpoints() -> dict[str, Any]:
    """URL name → route of every API route whose GET lists rows."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = {_blank(path): ops for path, ops in schema["paths"].items()}
    found = {}
    for route in site_routes():
        if not route.is_api:
            continue
        view = route.view_class
        get = operations.get(route.openapi_path, {}).get("get")
        by_schema = get is not None and _answers_a_list(schema, get)
        by_class = isinstance(view, type) and issubclass(view, ListModelMixin)
        if by_class and get is not None:
            assert by_schema, f"{route}: a list view whose documented answer is not a list"
        if by_schema or by_class:
            found[route.name] = route
    return found


def test_every_list_endpoint_is_covered() -> None:
    found = list_endpoints()
    assert set(found) == set(ENDPOINTS), (
        f"list endpoints without a query-count entry: {sorted(set(found) - set(ENDPOINTS))}; "
        f"entries for no list endpoint: {sorted(set(ENDPOINTS) - set(found))}"
    )
    for name, endpoint in ENDPOINTS.items():
        view = found[name].view_class
        assert endpoint.role in api_roles(view, "GET"), f"{name}: {endpoint.role} may not GET it"


# -- measuring -----------------------------------------------------------------------------


def _get(client: APIClient, url: str) -> tuple[HttpResponseBase, bytes]:
    response = client.get(url)
    body = (
        b"".join(response.streaming_content)  # type: ignore[attr-defined]
        if response.streaming
        else response.content
    )
    assert response.status_code == 200, (url, body[:500])
    return response, body


def measure(client: APIClient, url: str) -> tuple[int, list[str], HttpResponseBase, bytes]:
    _get(client, url)  # warm-up: per-process caches are not the endpoint's cost
    with CaptureQueriesContext(connection) as captured:
        response, body = _get(client, url)  # a streamed body is read inside the count
    return len(captured), [q["sql"] for q in captured.captured_queries], response, body


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_list_endpoint_answers_in_a_fixed_number_of_queries(
    name: str, world: World, api_client_for: Callable[[User | None], APIClient]
) -> None:
    endpoint = ENDPOINTS[name]
    callers: dict[str, User] = {Role.RN: world.nurse, Role.BILLING: world.billing_user}
    caller = callers[endpoint.role]
    client = api_client_for(caller)
    url = endpoint.url(world)

    endpoint.seed(world, FIRST)
    one, one_sql, response, body = measure(client, url)
    shown_first = endpoint.shown(response, body)
    assert shown_first >= FIRST, f"{name}: the seeded row is not in the answer"

    endpoint.seed(world, MORE)
    more, more_sql, response, body = measure(client, url)
    assert endpoint.shown(response, body) == shown_first + MORE, f"{name}: seeding failed"

    extra = "\n".join(more_sql[len(one_sql) :]) if more > one else ""
    assert more == one, (
        f"{name}: {one} queries for {shown_first} rows, {more} after +{MORE}\n{extra}"
    )
    assert one == endpoint.queries, f"{name}: {one} queries (was {endpoint.queries})\n" + "\n".join(
        one_sql
    )
