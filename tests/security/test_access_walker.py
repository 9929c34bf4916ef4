"""Walks every URL pattern of the site (Django's resolver, and the OpenAPI document for
the API's methods) with GET, POST, PUT, PATCH and DELETE, as anonymous, as each role of
the home practice, and as each role of another practice using the home practice's ids:

- anonymous: 401 from the API, the sign-in page for pages;
- a role the view does not declare: 403;
- another practice: 404 for any of our objects, the home practice's data unchanged
  (a checksum of every row of its tables, audit log included), and never one of our rows
  in a list, a page or an export (nor one of theirs in ours);
- nobody: a 500, or a 2xx for a method the view does not offer.

It fails when a view declares no roles: every DRF view must name `allowed_roles`, every
page `role_required`, unless listed in routes.PUBLIC or routes.FOR_EVERY_SIGNED_IN_USER.

Each request runs in a savepoint that is rolled back, so what one caller deletes or
changes is back for the next one."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import transaction
from django.http import HttpResponseBase
from django.test import Client
from django.utils import timezone
from rest_framework.views import APIView

from ccm.models import ALL_ROLES, Role
from ccm.permissions import RolePermission
from tests.security.conftest import Side, World, practice_fingerprint
from tests.security.routes import (
    FOR_EVERY_SIGNED_IN_USER,
    PUBLIC,
    VERBS,
    Route,
    admin_prefixes,
    gate_roles,
    page_methods,
    page_needs_sign_in,
    page_roles,
    site_routes,
)

pytestmark = pytest.mark.django_db

ROUTES = site_routes()
WALKED = [route for route in ROUTES if route.name not in PUBLIC]


# -- declarations: every view names who may use it ------------------------------------


def test_the_public_list_names_real_routes_only() -> None:
    names = {route.name for route in ROUTES}
    assert set(PUBLIC) | FOR_EVERY_SIGNED_IN_USER <= names, "stale entries in routes.py"


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_routes_show_no_data(name: str, world: World) -> None:
    route = next(route for route in ROUTES if route.name == name)
    for method in VERBS:
        response = Client().generic(method, route.url({}))
        assert response.status_code < 500, f"{method} {route}"
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert world.home.marker.encode() not in body, f"{method} {route} shows PHI"


@pytest.mark.parametrize("route", [r for r in WALKED if r.is_api], ids=lambda route: route.name)
def test_every_api_view_declares_its_roles(route: Route) -> None:
    view = route.view_class
    assert view is not None and issubclass(view, APIView), (
        f"{route} is under /api/ but is not a DRF view: it escapes RolePermission"
    )
    declared = getattr(view, "allowed_roles", None)
    assert declared is not None, f"{view.__qualname__} ({route}) declares no allowed_roles"
    assert RolePermission in view.permission_classes, (
        f"{view.__qualname__} replaced permission_classes: RolePermission no longer guards it"
    )
    per_method = declared if isinstance(declared, Mapping) else {"*": declared}
    for method, roles in per_method.items():
        assert method in {*VERBS, "*"}, f"{view.__qualname__}: {method!r} is not a method"
        assert set(roles) <= ALL_ROLES, f"{view.__qualname__}: unknown roles {set(roles)}"
        if method != "*":
            assert hasattr(view, method.lower()), (
                f"{view.__qualname__} opens {method} but has no handler for it"
            )


@pytest.mark.parametrize("route", [r for r in WALKED if not r.is_api], ids=lambda route: route.name)
def test_every_page_declares_its_roles(route: Route) -> None:
    assert page_needs_sign_in(route.callback), f"{route} does not require signing in"
    roles = page_roles(route.callback)
    assert roles is not None or route.name in FOR_EVERY_SIGNED_IN_USER, (
        f"{route} names no roles: wrap it in ccm.views.role_required(...)"
    )
    assert roles is None or set(roles) <= ALL_ROLES


_OPENAPI: dict[str, Any] = {}


@pytest.fixture
def openapi(db: None) -> dict[str, Any]:
    """The OpenAPI document the site serves (built once per run)."""
    if not _OPENAPI:
        response = Client().get("/api/schema/", {"format": "json"})
        assert response.status_code == 200
        _OPENAPI.update(json.loads(response.content))
    return _OPENAPI


def documented_methods(openapi: dict[str, Any]) -> dict[str, set[str]]:
    """OpenAPI path, its parameter names blanked ("/api/patients/{}/") → its methods."""
    return {
        "/"
        + "/".join("{}" if p.startswith("{") else p for p in path.strip("/").split("/"))
        # A path ends with a slash unless it names a file (packets.zip, interface.md).
        + ("/" if path.endswith("/") else ""): {
            method.upper() for method in operations if method.upper() in VERBS
        }
        for path, operations in openapi["paths"].items()
    }


def test_the_openapi_document_and_the_api_views_agree(openapi: dict[str, Any]) -> None:
    """The document lists every API route with exactly the methods its view handles and
    opens to some role, and no route that does not exist."""
    documented = documented_methods(openapi)
    api = {r.openapi_path: r for r in WALKED if r.is_api}
    assert set(documented) - set(api) <= {"/api/auth/token/"}, "documented, not routed"
    assert set(api) <= set(documented), f"routed, not documented: {set(api) - set(documented)}"
    for path, route in api.items():
        view = route.view_class
        assert view is not None
        handled = {m for m in VERBS if hasattr(view, m.lower())}
        assert documented[path] == handled, f"{route}: documents {documented[path]}, has {handled}"
        declared = view.allowed_roles  # type: ignore[attr-defined]
        if isinstance(declared, Mapping):
            assert set(declared) == handled, f"{route}: roles for {set(declared)}, has {handled}"


# -- the walk --------------------------------------------------------------------------


@dataclass
class Caller:
    label: str
    role: str | None  # None: anonymous
    side: Side | None
    pages: Client  # signed in with a session
    api: Client  # a DRF token, no session


@dataclass(frozen=True)
class Answer:
    status: int
    location: str
    body: str


def callers(world: World) -> list[Caller]:
    made = [Caller("anonymous", None, None, Client(), Client())]
    for side, where in ((world.home, "home"), (world.other, "other practice")):
        for role, user in side.users.items():
            pages = Client()
            pages.force_login(user)
            api = Client(headers={"Authorization": f"Token {user.auth_token.key}"})
            made.append(Caller(f"{role} ({where})", role, side, pages, api))
    return made


def path_values(route: Route, side: Side, month: str) -> dict[str, str]:
    """Real ids of `side`'s objects for the route's parameters."""
    objects = side.object_ids()
    months = {
        "closed": f"{side.closed_month:%Y-%m}",
        "current": f"{timezone.localdate():%Y-%m}",
    }
    return {
        name: months[month] if kind == "month" else str(objects[kind])
        for name, kind in route.parameters.items()
    }


def query_for(route: Route, side: Side) -> str:
    """Query parameters a list needs to show rows (the closed month's worklist)."""
    closed = f"{side.closed_month:%Y-%m}"
    needs_month = {"api-worklist", "api-worklist-export", "worklist", "billing-dashboard"}
    return f"?month={closed}" if route.name in needs_month else ""


def body_for(route: Route, side: Side) -> dict[str, Any]:
    """A valid body where one is cheap to write, so allowed callers reach the service
    (and another practice's caller sends what an attacker would: our ids)."""
    today = timezone.localdate().isoformat()
    entry = {
        "patients": [side.patient.pk],
        "date": today,
        "minutes": 5,
        "activity": "patient_call",
        "note": "walker",
    }
    bodies: dict[str, dict[str, Any]] = {
        "api-patients": {
            "mrn": "WALK-1",
            "first_name": "Walk",
            "last_name": "Er",
            "birth_date": "1950-01-01",
            "billing_practitioner": side.practitioner.pk,
        },
        "api-patient": {"first_name": "Renamed"},
        "api-patient-conditions": {"icd10": "J44.9", "onset": "2020-01-01"},
        "api-patient-condition": {"description": "corrected"},
        "api-patient-consents": {"date": today, "method": "verbal"},
        "api-patient-consent-revoke": {"date": today, "reason": "walker"},
        "api-patient-visits": {"date": today, "code": "99214", "ccm_discussed": True},
        "api-patient-care-plan": {
            "established": today,
            "problems": "p",
            "goals": "g",
            "interventions": "i",
        },
        "api-patient-other-services": {"code": "G0181", "date": today},
        "api-patient-inpatient-stays": {"admitted": today, "discharged": today},
        "api-time-entries": entry,
        "api-time-entry": entry,
        "api-mdm-attest": {"level": "moderate", "note": "walker"},
        "api-billing-month-reopen": {"reason": "walker"},
        "api-worklist-row": {"status": "submitted"},
        "mdm-queue-attest": {
            "patient": side.patient.pk,
            "month": f"{timezone.localdate():%Y-%m}",
            "level": "moderate",
            "note": "walker",
        },
        "billing-month-reopen": {"reason": "walker"},
        "worklist-row-status": {"status": "submitted"},
        "api-worklist-bulk-status": {"ids": [side.worklist_row.pk], "status": "submitted"},
        "worklist-bulk-status": {"row": [side.worklist_row.pk]},
        "other-service-add": {"patient": side.patient.pk, "code": "G0181", "date": today},
        "api-users": {"username": "walker", "role": "rn", "full_name": "Walk Er"},
        "api-user": {"role": "lpn"},
        "practice-user-new": {"username": "walker", "role": "rn", "full_name": "Walk Er"},
        "practice-user": {"full_name": "Walk Er", "role": "lpn"},
        "practice-settings": {"name": "Walked Clinic", "fee_locality": "01"},
    }
    return bodies.get(route.name, {})


def send(
    caller: Caller,
    route: Route,
    method: str,
    url: str,
    data: dict[str, Any],
    inspect: Callable[[], str] | None = None,
) -> tuple[Answer, str | None]:
    """One request in a savepoint that is rolled back; `inspect` runs before the
    rollback (to read what the request changed)."""
    client = caller.api if route.is_api else caller.pages
    if route.is_api:
        payload, content_type = json.dumps(data), "application/json"
    else:
        payload, content_type = urlencode(data, doseq=True), "application/x-www-form-urlencoded"
    if method in {"GET", "DELETE"}:
        payload = ""
    with transaction.atomic():
        try:
            response: HttpResponseBase = client.generic(
                method, url, payload, content_type=content_type
            )
            body = (
                b"".join(response.streaming_content)  # type: ignore[attr-defined]
                if response.streaming
                else response.content
            )
        except Exception as error:
            raise AssertionError(f"{method} {url} as {caller.label} raised {error!r}") from error
        seen = inspect() if inspect else None
        transaction.set_rollback(True)
    answer = Answer(
        response.status_code, response.get("Location", ""), body.decode(errors="replace")
    )
    return answer, seen


def offered_methods(route: Route, documented: dict[str, set[str]]) -> set[str]:
    """The methods a route answers: the OpenAPI document's for the API; for a page, all
    unless require_POST or the like narrows them (a page answers PUT like GET)."""
    if route.is_api:
        return documented.get(route.openapi_path, set())
    return set(page_methods(route.callback))


def asked(
    everyone: list[Caller], world: World, allowed: Collection[str], offered: bool
) -> list[Caller]:
    """Anonymous, every home role, and those of another practice that matter: for a
    method the route offers, every role that passes the gate (each reaches our objects'
    lookups) and one that does not; for any other method, one."""
    strangers = [c for c in everyone if c.side is world.other]
    passing = [c for c in strangers if c.role in allowed]
    stopped = [c for c in strangers if c.role not in allowed]
    chosen = passing + stopped[:1] if offered else (stopped or passing)[:1]
    return [c for c in everyone if c.side is not world.other] + chosen


def verdict(
    route: Route,
    method: str,
    caller: Caller,
    answer: Answer,
    *,
    allowed: Collection[str],
    offered: Collection[str],
    stranger: bool,
    foreign_marker: str,
) -> list[str]:
    """What is wrong with one answer (nothing: an empty list). `stranger`: the caller is
    of another practice; `foreign_marker`: the text of the practice it must not see."""
    status = answer.status
    if caller.side is None:
        if route.is_api:
            return [] if status == 401 else [f"{status}, not 401"]
        if status == 302 and answer.location.startswith("/login/"):
            return []
        return [f"{status} {answer.location}, not the sign-in page"]
    wrong = []
    if status >= 500:
        wrong.append(f"{status}")
    if status == 401 or answer.location.startswith("/login/"):
        wrong.append(f"{status} {answer.location}: a signed-in user treated as anonymous")
    if foreign_marker in answer.body:
        wrong.append(f"the answer shows a row of {foreign_marker}")
    if caller.role not in allowed:
        if status != 403 and not (stranger and status == 404):
            wrong.append(f"{status}, not 403")
    elif method not in offered:
        if status not in {403, 404, 405}:
            wrong.append(f"{status} for a method the route does not offer")
    elif stranger and route.names_objects and status != 404:
        wrong.append(f"{status}, not 404 for another practice's object")
    return wrong


def walk(route: Route, month: str, world: World, documented: dict[str, set[str]]) -> list[str]:
    """Every verb as every caller that matters; the problems found, one line each."""
    home = world.home
    offered = offered_methods(route, documented)
    everyone = callers(world)
    problems = []
    for method in VERBS:
        allowed = gate_roles(route, method)
        url = route.url(path_values(route, home, month)) + query_for(route, home)
        data = body_for(route, home)
        # What an HTML form cannot send to a page needs one stranger, not all.
        real = method in offered and (route.is_api or method in {"GET", "POST"})
        for caller in asked(everyone, world, allowed, real):
            stranger = caller.side is world.other
            inspect = (lambda: practice_fingerprint(home.practice)) if stranger else None
            before = inspect() if inspect else None
            answer, after = send(caller, route, method, url, data, inspect)
            wrong = verdict(
                route,
                method,
                caller,
                answer,
                allowed=allowed,
                offered=offered,
                stranger=stranger,
                foreign_marker=(home if stranger else world.other).marker,
            )
            if before != after:
                wrong.append("changed the home practice's data")
            problems += [f"{method} {url} as {caller.label}: {what}" for what in wrong]
    return problems


def month_cases() -> list[Any]:
    cases = []
    for route in WALKED:
        months = ["closed", "current"] if "month" in route.parameters.values() else [""]
        for month in months:
            name = f"{route.name}-{month}" if month else route.name
            cases.append(pytest.param(route, month, id=name))
    return cases


@pytest.mark.parametrize(("route", "month"), month_cases())
def test_access_matrix(route: Route, month: str, world: World, openapi: dict[str, Any]) -> None:
    lines = walk(route, month, world, documented_methods(openapi))
    assert not lines, f"{route}:\n  " + "\n  ".join(lines)


# -- lists and exports -----------------------------------------------------------------

LISTS = [
    ("/api/patients/", Role.RN),
    ("/api/users/", Role.RN),
    ("/api/time-entries/", Role.RN),
    ("/api/worklist/?month={closed}", Role.BILLING),
    ("/api/worklist/export/?month={closed}", Role.BILLING),
    ("/patients/", Role.RN),
    ("/my-patients/", Role.RN),
    ("/time/mine/", Role.RN),
    ("/billing/?month={closed}", Role.BILLING),
    ("/billing/worklist/?month={closed}", Role.BILLING),
    ("/billing/other-services/new/", Role.BILLING),
]


@pytest.mark.parametrize(("url", "role"), LISTS)
def test_lists_and_exports_hold_only_the_callers_practice(
    url: str, role: str, world: World
) -> None:
    for mine, theirs in ((world.home, world.other), (world.other, world.home)):
        client = Client()
        user = mine.users[role]
        client.force_login(user)
        client.defaults["HTTP_AUTHORIZATION"] = f"Token {user.auth_token.key}"
        response = client.get(url.format(closed=f"{mine.closed_month:%Y-%m}"))
        assert response.status_code == 200, url
        body = (
            b"".join(response.streaming_content) if response.streaming else response.content
        ).decode()
        assert mine.marker in body, f"{url} shows none of {user}'s own rows: a vacuous check"
        assert theirs.marker not in body, f"{url} shows a row of {theirs.marker} to {user}"


# -- the admin -------------------------------------------------------------------------


def test_the_admin_asks_anonymous_and_non_staff_to_sign_in(world: World) -> None:
    from django.contrib import admin

    (prefix,) = admin_prefixes()
    urls = [f"/{prefix}"] + [
        f"/{prefix}{model._meta.app_label}/{model._meta.model_name}/"
        for model in admin.site._registry
    ]
    staffless = Client()
    staffless.force_login(world.home.users[Role.ADMIN])  # a practice admin, not Django staff
    for client in (Client(), staffless):
        for url in urls:
            response = client.get(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith(f"/{prefix}login/"), url
    assert Client().get(f"/{prefix}login/").status_code == 200
