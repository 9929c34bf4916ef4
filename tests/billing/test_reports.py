"""Practice reports (issue 14, part 8): revenue by month and code, minutes by staff
member, missed revenue (within 5 minutes of a code at month end; 99439 units beyond the
cap), each with its chart and CSV; billing staff and admins only."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.test import Client

from billing.close import close_request, close_run_inline
from billing.reports.missed import CAPPED, NEAR, missed_revenue
from billing.reports.revenue import revenue_by_month_and_code
from billing.reports.staff_minutes import minutes_by_staff
from ccm.models import AuditEvent, Practice, Role, User
from patients.models import Patient
from tests.billing.conftest import MonthScenario, log_minutes

pytestmark = pytest.mark.django_db


@pytest.fixture
def month(
    practice: Practice,
    month_scenario: MonthScenario,
    make_patient: Callable[..., Patient],
    nurse: User,
) -> MonthScenario:
    """The scenario's month with three more patients, then closed."""
    short = make_patient(last_name="Short", first_name="Sam", mrn="MISS-1")
    log_minutes(nurse, [short], 10, 17)  # 3 min short of 99490
    nearly = make_patient(last_name="Nearly", first_name="Nia", mrn="MISS-2")
    log_minutes(nurse, [nearly], 11, 37)  # 99490; 3 min short of 99439
    capped = make_patient(last_name="Capped", first_name="Cal", mrn="MISS-3")
    log_minutes(nurse, [capped], 12, 45)
    log_minutes(nurse, [capped], 13, 40)  # 85 min: 99490 + 99439 x2, 25 min beyond
    run, _ = close_request(practice=practice, month=month_scenario.month, actor=None)
    assert run is not None
    close_run_inline(run)
    return month_scenario


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def read_csv(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode())))


def test_revenue_by_month_and_code_sums_the_current_close(
    practice: Practice, month: MonthScenario
) -> None:
    report = revenue_by_month_and_code(practice, month.month, 12)
    assert len(report.months) == 12 and report.months[-1].month == month.month
    assert all(m.codes is None for m in report.months[:-1])  # never closed
    closed = report.months[-1]
    by_code = {c.code: (c.units, c.patients, c.amount) for c in closed.codes or ()}
    # complex 99487 + 99489; Brown 99490 + 99439; Nearly 99490; Capped 99490 + 99439 x2;
    # Clark 99491 (2026 fees)
    assert by_code == {
        "99490": (3, 3, Decimal("198.90")),
        "99439": (3, 2, Decimal("151.68")),
        "99487": (1, 1, Decimal("144.00")),
        "99489": (1, 1, Decimal("78.00")),
        "99491": (1, 1, Decimal("89.00")),
    }
    assert report.codes == ("99490", "99439", "99487", "99489", "99491")
    assert report.total == Decimal("661.58")


def test_minutes_by_staff(
    practice: Practice, month: MonthScenario, nurse: User, practitioner: User
) -> None:
    rows = {row.user: row for row in minutes_by_staff(practice, month.month)}
    # nurse: 95 (complex) + 45 + 30 (blocked) + 17 + 37 + 85; practitioner: 35
    assert rows[nurse].ccm_minutes == 309 and rows[nurse].patients == 6
    assert rows[nurse].entries == 9
    assert rows[practitioner].ccm_minutes == 35 and rows[practitioner].patients == 1
    assert list(rows) == [nurse, practitioner]


def test_missed_revenue_near_a_code_and_beyond_the_cap(
    practice: Practice, month: MonthScenario
) -> None:
    found = {(m.patient.last_name, m.kind): m for m in missed_revenue(practice, month.month)}
    assert set(found) == {("Short", NEAR), ("Nearly", NEAR), ("Capped", CAPPED)}
    short, nearly, capped = found["Short", NEAR], found["Nearly", NEAR], found["Capped", CAPPED]
    assert (short.code, short.minutes, short.amount) == ("99490", 3, Decimal("66.30"))
    assert (nearly.code, nearly.minutes, nearly.amount) == ("99439", 3, Decimal("50.56"))
    assert (capped.code, capped.units, capped.minutes, capped.amount) == (
        "99439",
        1,
        25,
        Decimal("50.56"),
    )


def test_the_reports_page_charts_each_report(month: MonthScenario, billing_user: User) -> None:
    response = signed_in(billing_user).get("/billing/reports/", {"month": f"{month.month:%Y-%m}"})
    assert response.status_code == 200
    html = response.content.decode()
    charts = html.split('data-testid="revenue-chart"')[1:]
    assert len(charts) == 2  # wide and narrow
    for chart in (c.split("</svg>", 1)[0] for c in charts):
        assert len(re.findall(r'<rect [^>]*class="series-\d"', chart)) == 5  # 1 month, 5 codes
        assert "$662" in chart  # the closed month's total on its bar
    minutes = html.split('data-testid="minutes-chart"', 1)[1].split("</svg>", 1)[0]
    assert minutes.count("<rect") == 2 and "309 min" in minutes
    assert 'data-testid="missed-near">$116.86<' in html
    assert 'data-testid="missed-capped">$50.56<' in html
    assert html.count('data-testid="missed-row"') == 3


def test_each_report_has_its_csv_and_the_download_is_audited(
    month: MonthScenario, admin_user: User
) -> None:
    client = signed_in(admin_user)
    query = {"month": f"{month.month:%Y-%m}"}
    revenue = client.get("/billing/reports/revenue.csv", query)
    assert revenue["Content-Type"] == "text/csv"
    rows = read_csv(revenue.content)
    closed = [r for r in rows if r["status"] == "closed"]
    assert len(rows) == 11 + 5 and len(closed) == 5
    assert {r["code"]: r["amount"] for r in closed}["99490"] == "198.90"
    minutes = read_csv(client.get("/billing/reports/minutes.csv", query).content)
    assert [r["ccm_minutes"] for r in minutes] == ["309", "35"]
    missed = read_csv(client.get("/billing/reports/missed.csv", query).content)
    assert {(r["mrn"], r["kind"], r["amount"]) for r in missed} == {
        ("MISS-1", "near_threshold", "66.30"),
        ("MISS-2", "near_threshold", "50.56"),
        ("MISS-3", "addon_cap", "50.56"),
    }
    exported = AuditEvent.objects.filter(action="report.export", actor=admin_user)
    assert {e.after["report"] for e in exported} == {
        "revenue",
        "minutes-by-staff",
        "missed-revenue",
    }


@pytest.mark.parametrize("role", [Role.RN, Role.PRACTITIONER, Role.FRONT_DESK])
def test_reports_are_billing_and_admin_only(
    role: str, month: MonthScenario, make_user: Callable[..., User]
) -> None:
    client = signed_in(make_user(role, credential="", npi=""))
    for url in (
        "/billing/reports/",
        "/billing/reports/revenue.csv",
        "/billing/reports/minutes.csv",
        "/billing/reports/missed.csv",
    ):
        assert client.get(url).status_code == 403, url


def test_another_practice_sees_none_of_ours(month: MonthScenario, outsider: User) -> None:
    client = signed_in(outsider)
    query = {"month": f"{month.month:%Y-%m}"}
    html = client.get("/billing/reports/", query).content.decode()
    assert "Short" not in html and "MISS-" not in html
    assert read_csv(client.get("/billing/reports/missed.csv", query).content) == []
    assert read_csv(client.get("/billing/reports/minutes.csv", query).content) == []


def test_a_malformed_month_is_404(billing_user: User) -> None:
    assert signed_in(billing_user).get("/billing/reports/", {"month": "2026-13"}).status_code == 404


def test_csv_cells_a_spreadsheet_would_run_are_neutralised(
    practice: Practice,
    billing_user: User,
    make_patient: Callable[..., Patient],
    nurse: User,
) -> None:
    from tests.billing.conftest import last_month

    hostile = make_patient(last_name='=HYPERLINK("http://evil","x")', first_name="@SUM(A1)")
    log_minutes(nurse, [hostile], 10, 18)  # 2 min short of 99490: on the missed report
    body = signed_in(billing_user).get(
        "/billing/reports/missed.csv", {"month": f"{last_month():%Y-%m}"}
    )
    (row,) = read_csv(body.content)
    assert row["patient_name"] == '\'=HYPERLINK("http://evil","x"), @SUM(A1)'
