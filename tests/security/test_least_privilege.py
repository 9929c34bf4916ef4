"""The route matrix: the least-privilege table of ccm/capabilities.py (HIPAA's minimum
necessary; issue 14, part 5) holds for every role on every page and API route.

1. The table says what product.md says (front desk: demographics, visits and consents;
   only billing and admin see revenue and the worklist; only the admin manages users).
2. Every route names the capability it needs (NEEDS below: a new route must be added),
   and the roles its gate lets through are exactly the roles the table gives that
   capability. tests/security/test_access_walker.py proves each gate answers 403 to every
   other role, for every verb, so together they prove the table on every route.
3. Every role of the practice (and a practitioner who does not bill the patient) GETs
   every route: 403 exactly where the table says no; and where it may look, no answer
   carries money it may not see (the practices' fees are amounts no rulebook has, and
   JSON money keys are looked for), and front desk's answers carry no note, condition,
   care plan, stay, service billed elsewhere or minutes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from ccm.capabilities import ROLE_CAPABILITIES, roles_with, sight_of
from ccm.capabilities import Capability as C
from ccm.models import CLINICAL_STAFF_ROLES, Role, User
from tests.factories import UserFactory
from tests.security.conftest import MONEY_MARKER, World
from tests.security.routes import (
    FOR_EVERY_SIGNED_IN_USER,
    PUBLIC,
    VERBS,
    Route,
    gate_roles,
    page_methods,
    site_routes,
)
from tests.security.test_access_walker import path_values, query_for

pytestmark = pytest.mark.django_db

ROUTES = [route for route in site_routes() if route.name not in PUBLIC]

#: What each route needs: one capability for every method it offers, or one per method.
#: A route missing here fails test_every_route_names_its_capability.
NEEDS: dict[str, C | dict[str, C]] = {
    # the shared layer: who works here; the admin's pages
    "api-me": C.SEE_STAFF,
    "api-users": {"GET": C.SEE_STAFF, "POST": C.MANAGE_USERS},
    "api-user": {"GET": C.SEE_STAFF, "PATCH": C.MANAGE_USERS},
    "api-user-deactivate": C.MANAGE_USERS,
    "api-user-reactivate": C.MANAGE_USERS,
    "api-user-reset-password": C.MANAGE_USERS,
    "practice-users": C.MANAGE_USERS,
    "practice-user-new": C.MANAGE_USERS,
    "practice-user": C.MANAGE_USERS,
    "practice-user-deactivate": C.MANAGE_USERS,
    "practice-user-reactivate": C.MANAGE_USERS,
    "practice-user-reset-password": C.MANAGE_USERS,
    "practice-settings": C.EDIT_PRACTICE_SETTINGS,
    "api-billing-provider": C.EDIT_BILLING_PROVIDER,
    "billing-provider": C.EDIT_BILLING_PROVIDER,
    # patients: demographics, visits and consents for everyone; the rest is clinical
    "api-patients": {"GET": C.SEE_DEMOGRAPHICS, "POST": C.REGISTER_PATIENTS},
    "api-patient": {"GET": C.SEE_DEMOGRAPHICS, "PATCH": C.REGISTER_PATIENTS},
    "patient-list": C.SEE_DEMOGRAPHICS,
    "patient-detail": C.SEE_DEMOGRAPHICS,
    "patient-create": C.REGISTER_PATIENTS,
    "patient-edit": C.REGISTER_PATIENTS,
    "api-patient-claim-data": {"GET": C.SEE_DEMOGRAPHICS, "PATCH": C.RECORD_COVERAGE},
    "patient-claim-data": C.RECORD_COVERAGE,
    "api-patient-import": C.ENROLL_PATIENTS,
    "patient-import": C.ENROLL_PATIENTS,
    "api-patient-visits": {"GET": C.SEE_DEMOGRAPHICS, "POST": C.RECORD_VISITS},
    "patient-visit-add": C.RECORD_VISITS,
    "api-patient-consents": {"GET": C.SEE_DEMOGRAPHICS, "POST": C.RECORD_CONSENTS},
    "api-patient-consent-revoke": C.RECORD_CONSENTS,
    "patient-consent-add": C.RECORD_CONSENTS,
    "patient-consent-revoke": C.RECORD_CONSENTS,
    "api-patient-conditions": {"GET": C.SEE_CLINICAL, "POST": C.WRITE_CLINICAL},
    "api-patient-condition": {
        "GET": C.SEE_CLINICAL,
        "PATCH": C.WRITE_CLINICAL,
        "DELETE": C.WRITE_CLINICAL,
    },
    "patient-condition-add": C.WRITE_CLINICAL,
    "patient-condition-edit": C.WRITE_CLINICAL,
    "patient-condition-delete": C.WRITE_CLINICAL,
    "api-patient-care-plan": {"GET": C.SEE_CLINICAL, "PUT": C.WRITE_CLINICAL},
    "api-patient-care-plan-versions": C.SEE_CLINICAL,
    "api-patient-care-plan-sign": C.SIGN_CARE_PLAN,
    "api-patient-condition-attest-chronic": C.ATTEST_CHRONIC,
    "patient-condition-attest-chronic": C.ATTEST_CHRONIC,
    "care-plan-edit": C.SEE_CLINICAL,  # its POST checks WRITE_CLINICAL inside (walked below)
    "care-plan-sign": C.SIGN_CARE_PLAN,
    "api-patient-other-services": {"GET": C.SEE_CLINICAL, "POST": C.RECORD_OTHER_SERVICES},
    "api-patient-other-service": {"GET": C.SEE_CLINICAL, "DELETE": C.RECORD_OTHER_SERVICES},
    "patient-other-service-add": C.RECORD_OTHER_SERVICES,
    "patient-other-service-delete": C.RECORD_OTHER_SERVICES,
    "api-patient-inpatient-stays": {"GET": C.SEE_CLINICAL, "POST": C.WRITE_CLINICAL},
    "api-patient-inpatient-stay": {"GET": C.SEE_CLINICAL, "DELETE": C.WRITE_CLINICAL},
    "patient-inpatient-stay-add": C.WRITE_CLINICAL,
    "patient-inpatient-stay-delete": C.WRITE_CLINICAL,
    # care time: minutes and notes
    "api-time-entries": C.LOG_TIME,
    "api-time-entry": {
        "GET": C.SEE_CARE_TIME,
        "PUT": C.LOG_TIME,
        "PATCH": C.LOG_TIME,
        "DELETE": C.LOG_TIME,
    },
    "log-time": C.LOG_TIME,
    "my-entries": C.LOG_TIME,
    "my-entry-edit": C.LOG_TIME,
    "my-entry-delete": C.LOG_TIME,
    "my-patients": C.LOG_TIME,
    # the session timer: one's own, for those who log time
    "api-timer": C.LOG_TIME,
    "api-timer-start": C.LOG_TIME,
    "api-timer-pause": C.LOG_TIME,
    "api-timer-resume": C.LOG_TIME,
    "api-timer-keep-idle": C.LOG_TIME,
    "api-timer-heartbeat": C.LOG_TIME,
    "api-timer-stop": C.LOG_TIME,
    "api-timer-discard": C.LOG_TIME,
    "timer-start": C.LOG_TIME,
    "timer-pause": C.LOG_TIME,
    "timer-resume": C.LOG_TIME,
    "timer-keep-idle": C.LOG_TIME,
    "timer-discard": C.LOG_TIME,
    "patient-month": C.SEE_CARE_TIME,
    "api-patient-month": C.SEE_CARE_TIME,
    "api-evaluate": C.SEE_CARE_TIME,
    # the practitioner's MDM
    "api-mdm-attest": C.ATTEST_MDM,
    "mdm-queue": C.ATTEST_MDM,
    "mdm-queue-attest": C.ATTEST_MDM,
    # revenue and the claims
    "api-fee-schedule": C.SEE_REVENUE,
    "fee-schedule": C.SEE_REVENUE,
    "api-fee-schedule-import": C.EDIT_FEES,
    "api-billing-month": C.SEE_REVENUE,
    "api-billing-month-close": C.WORK_CLAIMS,
    "api-billing-month-reopen": C.WORK_CLAIMS,
    "api-worklist": C.SEE_REVENUE,
    "api-worklist-export": C.WORK_CLAIMS,
    "api-worklist-row": {"GET": C.SEE_REVENUE, "PATCH": C.WORK_CLAIMS},
    "billing-dashboard": C.SEE_REVENUE,
    "billing-month-close": C.WORK_CLAIMS,
    "billing-month-reopen": C.WORK_CLAIMS,
    "worklist": C.SEE_REVENUE,
    "worklist-row-status": C.WORK_CLAIMS,
    "worklist-bulk-status": C.WORK_CLAIMS,
    "api-worklist-bulk-status": C.WORK_CLAIMS,
    "other-service-add": C.WORK_CLAIMS,
    "api-worklist-export-837p": C.WORK_CLAIMS,
    "api-worklist-export-fhir": C.WORK_CLAIMS,
    "api-worklist-packet": C.WORK_CLAIMS,
    "api-billing-month-packets": C.WORK_CLAIMS,
    "month-packets": C.WORK_CLAIMS,
    "reports": C.SEE_REVENUE,
    "report-revenue-csv": C.SEE_REVENUE,
    "report-minutes-csv": C.SEE_REVENUE,
    "report-missed-csv": C.SEE_REVENUE,
}


def offered(route: Route) -> list[str]:
    """The methods a route handles: its DRF view's handlers, or the page's methods."""
    if route.is_api:
        return [verb for verb in VERBS if hasattr(route.view_class, verb.lower())]
    return [verb for verb in VERBS if verb in page_methods(route.callback)]


def needed(route: Route, method: str) -> C:
    if route.name in FOR_EVERY_SIGNED_IN_USER:
        return C.SEE_STAFF  # held by every role
    need = NEEDS[route.name]
    return need[method] if isinstance(need, dict) else need


# -- 1. the table says what product.md says -------------------------------------------


def test_the_table_says_what_the_product_says() -> None:
    assert ROLE_CAPABILITIES[Role.FRONT_DESK] == {
        C.SEE_DEMOGRAPHICS,
        C.SEE_STAFF,
        C.REGISTER_PATIENTS,
        C.RECORD_COVERAGE,
        C.RECORD_VISITS,
        C.RECORD_CONSENTS,
    }, "front desk: demographics, visits and consents; no notes, care plans, minutes, money"
    assert roles_with(C.SEE_REVENUE) == {Role.BILLING, Role.ADMIN}
    assert roles_with(C.WORK_CLAIMS) == {Role.BILLING, Role.ADMIN}
    assert roles_with(C.MANAGE_USERS) == roles_with(C.ENROLL_PATIENTS) == {Role.ADMIN}
    assert roles_with(C.EDIT_BILLING_PROVIDER) == {Role.BILLING, Role.ADMIN}
    assert roles_with(C.EDIT_PRACTICE_SETTINGS) == {Role.ADMIN}
    assert roles_with(C.SEE_OWN_PATIENTS_MONEY) == {Role.PRACTITIONER}
    assert roles_with(C.LOG_TIME) == {*CLINICAL_STAFF_ROLES, Role.PRACTITIONER}
    assert roles_with(C.ATTEST_MDM) == roles_with(C.SIGN_CARE_PLAN) == {Role.PRACTITIONER}
    assert set(ROLE_CAPABILITIES) == set(Role.values)
    for role in CLINICAL_STAFF_ROLES:
        held = ROLE_CAPABILITIES[role]
        assert C.SEE_CARE_TIME in held and C.SEE_CLINICAL in held
        assert not held & {C.SEE_REVENUE, C.SEE_OWN_PATIENTS_MONEY}, f"{role} sees no dollars"


# -- 2. every route's gate is the table's ----------------------------------------------


def test_every_route_names_its_capability() -> None:
    routed = {route.name for route in ROUTES} - FOR_EVERY_SIGNED_IN_USER
    assert routed - set(NEEDS) == set(), "routes that name no capability in NEEDS"
    assert set(NEEDS) - routed == set(), "NEEDS names routes that do not exist"


@pytest.mark.parametrize(
    "route",
    [r for r in ROUTES if r.name not in FOR_EVERY_SIGNED_IN_USER],
    ids=lambda route: route.name,
)
def test_each_gate_lets_through_exactly_the_tables_roles(route: Route) -> None:
    need = NEEDS[route.name]
    if isinstance(need, dict):
        assert set(need) == set(offered(route)), f"{route}: NEEDS names other methods"
    for method in offered(route):
        assert set(gate_roles(route, method)) == roles_with(needed(route, method)), (
            f"{method} {route}: the gate's roles are not those the table gives "
            f"{needed(route, method)}"
        )


# -- 3. every role GETs every route: 403 where the table says no; no unseen money or notes


@dataclass(frozen=True)
class Viewer:
    label: str
    user: User

    @property
    def role(self) -> str:
        return self.user.role


def viewers(world: World) -> list[Viewer]:
    home = world.home
    not_billing = UserFactory(
        username="homeward_other_practitioner",
        practice=home.practice,
        role=Role.PRACTITIONER,
        full_name="Homeward Colleague",
        credential="DO",
        npi="1245319599",
    )
    made = [Viewer(role, user) for role, user in home.users.items()]
    return [*made, Viewer("practitioner who does not bill the patient", not_billing)]


#: JSON keys that carry money, minutes or notes (the answers of billing-rules.md section 3,
#: the worklist, time entries).
MONEY_KEYS = {"amount", "unit_amount", "total_amount", "shipped_default"}
CARE_TIME_KEYS = {"seconds", "duration_seconds", "minutes", "counted_minutes", "note", "entries"}
CLINICAL_KEYS = {"conditions", "care_plan", "other_services", "inpatient_stays", "diagnoses"}
MONEY_IN_HTML = re.compile(r"\$\s?\d")


def json_keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from json_keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from json_keys(item)


def clinical_texts(world: World) -> list[str]:
    """Text only the clinical record holds: notes, a diagnosis, the care plan, a stay,
    a service billed elsewhere (tests/security/conftest.py writes them)."""
    marker = world.home.marker
    return [
        "call last month",
        "call this month",
        "I50.22",
        "DM2, CHF",
        f"{marker} General",
        f"{marker} hospice",
    ]


def month_variants(route: Route) -> list[str]:
    return ["closed", "current"] if "month" in route.parameters.values() else [""]


def get(viewer: Viewer, route: Route, url: str) -> tuple[int, str]:
    client = Client()
    if route.is_api:
        client.defaults["HTTP_AUTHORIZATION"] = f"Token {viewer.user.auth_token.key}"
    else:
        client.force_login(viewer.user)
    response = client.get(url)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, body.decode(errors="replace")


def problems_with(
    viewer: Viewer, route: Route, url: str, status: int, body: str, world: World
) -> list[str]:
    allowed = viewer.role in roles_with(needed(route, "GET"))
    if not allowed:
        return [] if status == 403 else [f"{status}, not 403"]
    if status in {401, 403} or status >= 500:
        return [f"{status} for a role the table lets in"]
    wrong = []
    parsed: Any = None
    if route.is_api and body.startswith(("{", "[")):
        parsed = json.loads(body)
    keys = set(json_keys(parsed))
    sight = sight_of(viewer.user, world.home.patient)
    if not sight.money:
        if MONEY_MARKER in body:
            wrong.append(f"shows the amount {MONEY_MARKER}")
        if keys & MONEY_KEYS:
            wrong.append(f"carries money keys {sorted(keys & MONEY_KEYS)}")
        if not route.is_api and MONEY_IN_HTML.search(body):
            wrong.append(f"shows dollars: {MONEY_IN_HTML.search(body)}")
    if not sight.care_time and keys & CARE_TIME_KEYS:
        wrong.append(f"carries minutes or notes {sorted(keys & CARE_TIME_KEYS)}")
    if not sight.clinical:
        if keys & CLINICAL_KEYS:
            wrong.append(f"carries clinical keys {sorted(keys & CLINICAL_KEYS)}")
        wrong += [f"shows {text!r}" for text in clinical_texts(world) if text in body]
    return wrong


def test_every_role_gets_every_route_and_sees_no_more_than_its_share(world: World) -> None:
    problems: list[str] = []
    seen: dict[tuple[str, str], str] = {}
    for viewer in viewers(world):
        for route in ROUTES:
            if "GET" not in offered(route) or route.name in FOR_EVERY_SIGNED_IN_USER - {"home"}:
                continue
            for month in month_variants(route):
                url = route.url(path_values(route, world.home, month)) + query_for(
                    route, world.home
                )
                status, body = get(viewer, route, url)
                seen[(viewer.label, url)] = body if status == 200 else ""
                problems += [
                    f"GET {url} as {viewer.label}: {what}"
                    for what in problems_with(viewer, route, url, status, body, world)
                ]
    assert not problems, "\n".join(problems)

    # Not vacuous: those the table lets see money, notes and the record do see them.
    home = world.home
    closed = f"{home.closed_month:%Y-%m}"
    patient_month = f"/patients/{home.patient.pk}/months/{closed}/"
    api_month = f"/api/patients/{home.patient.pk}/months/{closed}/"
    for label in (Role.BILLING, Role.ADMIN, Role.PRACTITIONER):
        assert MONEY_MARKER in seen[(label, patient_month)], f"{label} sees the patient's money"
        assert MONEY_MARKER in seen[(label, api_month)], f"{label} sees the patient's money"
    for url in (f"/billing/worklist/?month={closed}", f"/api/worklist/?month={closed}"):
        assert MONEY_MARKER in seen[(Role.BILLING, url)]
    colleague = "practitioner who does not bill the patient"
    assert "99490" in seen[(colleague, patient_month)], "the codes, without their dollars"
    assert "call last month" in seen[(Role.RN, patient_month)]
    assert "I50.22" in seen[(Role.RN, f"/patients/{home.patient.pk}/")]
    front_desk_page = seen[(Role.FRONT_DESK, f"/patients/{home.patient.pk}/")]
    assert home.patient.mrn in front_desk_page and "Consents" in front_desk_page
    front_desk_api = json.loads(seen[(Role.FRONT_DESK, f"/api/patients/{home.patient.pk}/")])
    assert front_desk_api["mrn"] == home.patient.mrn and front_desk_api["consents"]


def test_what_if_amounts_only_for_revenue_roles(world: World) -> None:
    """POST /api/billing/evaluate/ names no patient of the practice: amounts only for the
    roles that see revenue."""
    month = timezone.localdate().replace(day=1)
    facts = {
        "month": f"{month:%Y-%m}",
        "billing_practitioner": "P1",
        "patient": {
            "chronic_conditions": [
                {"icd10": "E11.9", "onset": "2019-05-01"},
                {"icd10": "I50.22", "onset": "2021-02-01"},
            ],
            "consents": [{"date": "2025-01-10", "billing_practitioner": "P1"}],
            "prior_visit_date": "2025-01-10",
            "care_plan": {"established": "2025-01-10"},
        },
        "time_entries": [
            {"id": "e1", "date": f"{month:%Y-%m}-01", "minutes": 25, "performer": "clinical_staff"}
        ],
    }
    answers = {}
    for role in (Role.RN, Role.PRACTITIONER, Role.BILLING, Role.ADMIN, Role.FRONT_DESK):
        client = Client(headers={"Authorization": f"Token {world.home.users[role].auth_token.key}"})
        response = client.post("/api/billing/evaluate/", facts, content_type="application/json")
        answers[role] = response
    assert answers[Role.FRONT_DESK].status_code == 403
    for role in (Role.RN, Role.PRACTITIONER):
        decision = answers[role].json()
        assert decision["lines"] == [{"code": "99490", "units": 1}]
        assert not set(json_keys(decision)) & MONEY_KEYS
    for role in (Role.BILLING, Role.ADMIN):
        decision = answers[role].json()
        assert decision["total_amount"] == MONEY_MARKER, role
        assert decision["lines"][0]["amount"] == MONEY_MARKER
