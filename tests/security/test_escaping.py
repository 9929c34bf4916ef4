"""Hostile text in patient names and time-entry notes comes out escaped on every page
that shows it (pages found from the URL resolver, each opened by every role it admits),
and neutralised in the CSV export (a cell a spreadsheet would run as a formula starts
with a single quote)."""

from __future__ import annotations

import csv
import io
from html import escape

import pytest
from django.test import Client
from django.utils import timezone

from ccm.models import Role
from tests.security.conftest import Side, build_side
from tests.security.routes import PUBLIC, Route, gate_roles, page_methods, site_routes

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
HYPERLINK = '=HYPERLINK("http://evil","x")'
RAW = (SCRIPT, IMG, HYPERLINK)

#: What each page shows of the hostile practice (its first patient, or its first entry,
#: is the one in the URL), and so must show escaped. Every page is also searched for the
#: raw text, whether listed here or not.
SHOWN = {
    "patient-list": {SCRIPT},
    "patient-detail": {SCRIPT},
    "patient-edit": {SCRIPT},
    "patient-condition-edit": {SCRIPT},
    "care-plan-edit": {SCRIPT},
    "my-patients": {SCRIPT},
    "log-time": {SCRIPT},
    "my-entries": {SCRIPT, IMG, HYPERLINK},
    "my-entry-edit": {SCRIPT, IMG},
    "my-entry-delete": {SCRIPT, IMG},
    "patient-month": {SCRIPT, IMG, HYPERLINK},
    "worklist": {SCRIPT},
    "mdm-queue": {SCRIPT},
    "other-service-add": {SCRIPT},
}

PAGES = [
    route
    for route in site_routes()
    if not route.is_api and route.name not in PUBLIC and "GET" in page_methods(route.callback)
]


@pytest.fixture
def hostile() -> Side:
    """A practice whose first patient is named <script> (first name) and another one
    (last name); their notes this month carry HTML and a spreadsheet formula; 66 staff
    minutes this month put them on the practitioner's MDM queue."""
    return build_side(
        "hostile",
        "Hostile",
        names=[(SCRIPT, "Hostile"), ("Bob", SCRIPT)],
        notes=[IMG, HYPERLINK],
        minutes_this_month=66,
    )


def page_url(route: Route, side: Side) -> str:
    objects = side.object_ids()
    month = f"{timezone.localdate():%Y-%m}"
    values = {
        name: month if kind == "month" else str(objects[kind])
        for name, kind in route.parameters.items()
    }
    url = route.url(values)
    if route.name in {"worklist", "billing-dashboard"}:
        url += f"?month={side.closed_month:%Y-%m}"
    return url


@pytest.mark.parametrize("route", PAGES, ids=lambda route: route.name)
def test_hostile_text_is_escaped_on_every_page(route: Route, hostile: Side) -> None:
    url = page_url(route, hostile)
    shown: set[str] = set()
    opened = 0
    for role in sorted(gate_roles(route, "GET")):
        client = Client()
        client.force_login(hostile.users[role])
        response = client.get(url)
        # An entry's own pages are its performer's (the RN's); a colleague gets 404.
        assert response.status_code in {200, 404}, f"{url} as {role}: {response.status_code}"
        if response.status_code == 404:
            continue
        opened += 1
        if response["Content-Type"].startswith("text/csv"):  # a report's CSV download
            rows = list(csv.reader(io.StringIO(response.content.decode())))
            formulas = [cell for row in rows for cell in row if cell.startswith(("=", "+", "@"))]
            assert not formulas, f"{url} as {role}: cells a spreadsheet would run: {formulas}"
            continue
        assert response["Content-Type"].startswith("text/html")
        html = response.content.decode()
        for raw in RAW:
            assert raw not in html, f"{url} as {role} shows {raw} unescaped"
        shown |= {raw for raw in RAW if escape(raw) in html}
    assert opened, f"no role could open {url}"
    missing = SHOWN.get(route.name, set()) - shown
    assert not missing, f"{url} should show {missing}, escaped"


def test_every_page_that_shows_a_name_was_walked() -> None:
    assert {route.name for route in PAGES} >= set(SHOWN)


FORMULAS = ['=HYPERLINK("http://evil","x")', "+1+1", "-1+1", "@SUM(A1:A2)"]


def test_the_csv_export_neutralises_formulas() -> None:
    side = build_side(
        "formulas",
        "Formulas",
        names=[("Ann", formula) for formula in FORMULAS] + [(SCRIPT, "Plain")],
    )
    client = Client(headers={"Authorization": f"Token {side.users[Role.BILLING].auth_token.key}"})
    response = client.get("/api/worklist/export/", {"month": f"{side.closed_month:%Y-%m}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    text = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    rows = list(csv.DictReader(io.StringIO(text)))
    names = {row["patient_name"] for row in rows}
    assert names == {f"'{formula}, Ann" for formula in FORMULAS} | {f"Plain, {SCRIPT}"}
    for row in rows:
        for column, cell in row.items():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (column, cell)
