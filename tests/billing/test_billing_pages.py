"""The billing staff's and the practitioner's pages: the MDM queue and its one-click
attestation, the month dashboard (projection, close, progress, reopen, history), the
worklist (filters, pages, status changes, old versions) and services billed elsewhere.
Numbers, roles (403), practice scoping (404), audit, and fixed query counts."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.close import close_request, close_run_inline, reopen_month
from billing.models import ClaimLine, MdmAttestation, WorklistRow, WorklistStatus
from billing.selectors import patient_month_decision, practice_rulebook
from billing.services import mdm_attest
from ccm.models import AuditEvent, BillingMonth, Practice, Role, User
from ccm.periods import month_start
from patients.models import OtherService, Patient
from tests.billing.conftest import MonthScenario, last_month, log_minutes
from tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.django_db

QUEUE = "/billing/mdm-queue/"
ATTEST = "/billing/mdm-queue/attest/"
DASHBOARD = "/billing/"
WORKLIST = "/billing/worklist/"
OTHER = "/billing/other-services/new/"


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def this_month() -> dt.date:
    return month_start(timezone.localdate())


def log_today(performer: User, patient: Patient, minutes: int) -> None:
    """Minutes dated today (the current month); several entries never exceed 12 h."""
    log_minutes(performer, [patient], timezone.localdate().day, minutes, month=this_month())


def close(practice: Practice, month: dt.date, actor: User | None = None) -> None:
    run, claimed = close_request(practice=practice, month=month, actor=actor)
    assert claimed and run is not None
    close_run_inline(run)


def queue_rows(html: str) -> list[tuple[str, str]]:
    """(patient id, month) of each row of the MDM queue, in page order."""
    return re.findall(r'data-testid="queue-row" data-patient="(\d+)" data-month="([\d-]+)"', html)


def worklist_patients(html: str) -> list[int]:
    return [
        int(pk) for pk in re.findall(r'data-testid="worklist-row"[^>]*data-patient="(\d+)"', html)
    ]


def text_of(html: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}"[^>]*>([^<]*)<', html)
    assert found, f"no element with data-testid={testid}"
    return found.group(1).strip()


def money(amount: Decimal) -> str:
    return f"${amount:,.2f}"


# --- MDM queue -------------------------------------------------------------------------


def test_queue_lists_my_patients_with_60_minutes_and_no_mdm(
    practice: Practice,
    nurse: User,
    practitioner: User,
    make_patient: Callable[..., Patient],
) -> None:
    waiting = make_patient(last_name="Waits")
    short = make_patient(last_name="Short")
    attested = make_patient(last_name="Attested")
    colleague = UserFactory(practice=practice, role=Role.PRACTITIONER, credential="DO")
    theirs = make_patient(last_name="Theirs", billing_practitioner=colleague)
    log_today(nurse, waiting, 50)
    log_today(practitioner, waiting, 15)  # practitioner time counts toward 60 too: s = c + p
    log_today(nurse, short, 59)
    log_today(nurse, attested, 70)
    log_today(nurse, theirs, 70)
    mdm_attest(
        practitioner=practitioner,
        patient=attested,
        month=this_month(),
        level="high",
        note="Unstable CHF, new diuretic",
    )

    response = signed_in(practitioner).get(QUEUE)

    assert response.status_code == 200
    html = response.content.decode()
    assert queue_rows(html) == [(str(waiting.pk), f"{this_month():%Y-%m}")]
    row = html[
        html.index('data-testid="queue-row"') : html.index(
            "</tr>", html.index('data-testid="queue-row"')
        )
    ]
    assert text_of(row, "minutes") == "65"
    assert "staff 50 · you 15" in row
    # The clinical facts the practitioner judges from: conditions and what was done.
    assert "<strong>E11.9</strong> Type 2 diabetes mellitus without complications" in row
    assert "<strong>I50.22</strong>" in row
    assert "Patient or caregiver call: monthly call #" in row
    # The attestation already signed is listed, with the month's minutes.
    signed = html[html.index('data-testid="signed"') :]
    assert f'data-patient="{attested.pk}"' in signed and "Unstable CHF" in signed
    assert ">70<" in signed


AMOUNT = re.compile(r"\$|\b\d+\.\d{2}\b")


def test_no_fee_amount_or_difference_where_a_practitioner_attests_mdm(
    nurse: User,
    practitioner: User,
    make_patient: Callable[..., Patient],
    api_client_for: Callable[..., object],
) -> None:
    """Issue 12: the queue showed "$144.00 (-$23.42)". The tier follows the clinical
    facts, never the fee: no "$" and no amount on the queue, after attesting, or in the
    attestation's API answer."""
    waiting = make_patient(last_name="Waits")
    other = make_patient(last_name="Other")
    log_today(nurse, waiting, 65)
    log_today(nurse, other, 95)
    mdm_attest(
        practitioner=practitioner, patient=other, month=this_month(), level="high", note="CHF"
    )
    client = signed_in(practitioner)
    month = f"{this_month():%Y-%m}"

    pages = [client.get(QUEUE)]
    pages.append(
        client.post(
            ATTEST,
            {"patient": waiting.pk, "month": month, "level": "moderate", "note": "Two unstable"},
            follow=True,
        )
    )
    pages.append(
        client.post(ATTEST, {"patient": other.pk, "month": month, "level": "x", "note": ""})
    )
    for response in pages:
        html = response.content.decode()
        assert 'data-testid="signed"' in html
        main = html[html.index("<main") :]
        assert not AMOUNT.search(main), AMOUNT.search(main)
    answer = api_client_for(practitioner).post(  # type: ignore[attr-defined]
        f"/api/patients/{other.pk}/months/{month}/mdm/",
        {"level": "moderate", "note": "Reconsidered"},
        format="json",
    )
    assert answer.status_code == 201
    assert not AMOUNT.search(answer.content.decode())
    assert not {"amount", "total_amount", "fee", "lines"} & set(answer.json())


def test_previous_month_is_queued_while_open_and_leaves_once_closed(
    practice: Practice,
    nurse: User,
    practitioner: User,
    make_patient: Callable[..., Patient],
) -> None:
    patient = make_patient()
    log_minutes(nurse, [patient], 3, 62)
    client = signed_in(practitioner)

    assert queue_rows(client.get(QUEUE).content.decode()) == [
        (str(patient.pk), f"{last_month():%Y-%m}")
    ]
    close(practice, last_month())
    html = client.get(QUEUE).content.decode()
    assert queue_rows(html) == []
    assert f'data-month="{last_month():%Y-%m}"' not in html


def test_one_click_attest_from_the_queue(
    nurse: User, practitioner: User, make_patient: Callable[..., Patient]
) -> None:
    patient = make_patient()
    log_today(nurse, patient, 95)
    client = signed_in(practitioner)
    month = f"{this_month():%Y-%m}"
    assert queue_rows(client.get(QUEUE).content.decode()) == [(str(patient.pk), month)]

    response = client.post(
        ATTEST,
        {"patient": patient.pk, "month": month, "level": "moderate", "note": "Two unstable"},
    )

    assert response.status_code == 302 and response["Location"] == QUEUE
    attestation = MdmAttestation.objects.get(patient=patient, month=this_month())
    assert (attestation.level, attestation.practitioner, attestation.note) == (
        "moderate",
        practitioner,
        "Two unstable",
    )
    event = AuditEvent.objects.get(action="mdm.attest", object_id=str(attestation.pk))
    assert event.actor == practitioner and event.after["level"] == "moderate"
    page = client.get(QUEUE).content.decode()
    assert queue_rows(page) == []
    assert "Moderate MDM attested for" in page
    _, decision = patient_month_decision(patient=patient, month=this_month())
    assert decision.tier == "complex"


def test_attest_needs_a_note_and_keeps_the_patient_queued(
    nurse: User, practitioner: User, make_patient: Callable[..., Patient]
) -> None:
    patient = make_patient()
    log_today(nurse, patient, 61)
    month = f"{this_month():%Y-%m}"

    response = signed_in(practitioner).post(
        ATTEST, {"patient": patient.pk, "month": month, "level": "high", "note": "  "}
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "Say what made the decision-making moderate or high." in html
    assert queue_rows(html) == [(str(patient.pk), month)]
    assert 'value="high" selected' in html  # the choice survives the error
    assert not MdmAttestation.objects.exists()


def test_attest_in_a_closed_month_is_409_with_a_clear_message(
    practice: Practice, nurse: User, practitioner: User, make_patient: Callable[..., Patient]
) -> None:
    patient = make_patient()
    log_minutes(nurse, [patient], 3, 65)
    close(practice, last_month())

    response = signed_in(practitioner).post(
        ATTEST,
        {
            "patient": patient.pk,
            "month": f"{last_month():%Y-%m}",
            "level": "moderate",
            "note": "Late",
        },
    )

    assert response.status_code == 409
    message = text_of(response.content.decode(), "queue-error")
    assert f"{last_month():%Y-%m} is closed" in message and "reopen" in message
    assert not MdmAttestation.objects.exists()


def test_attest_for_someone_elses_patient_is_403_and_another_practice_404(
    practice: Practice,
    other_practice: Practice,
    nurse: User,
    practitioner: User,
    make_patient: Callable[..., Patient],
) -> None:
    colleague = UserFactory(practice=practice, role=Role.PRACTITIONER, credential="DO")
    theirs = make_patient(billing_practitioner=colleague)
    log_today(nurse, theirs, 70)
    foreign = PatientFactory(practice=other_practice)
    form = {"month": f"{this_month():%Y-%m}", "level": "moderate", "note": "x"}
    client = signed_in(practitioner)

    assert client.post(ATTEST, {**form, "patient": theirs.pk}).status_code == 403
    assert client.post(ATTEST, {**form, "patient": foreign.pk}).status_code == 404
    assert not MdmAttestation.objects.exists()


@pytest.mark.parametrize("role", [Role.RN, Role.BILLING, Role.ADMIN, Role.FRONT_DESK])
def test_only_practitioners_open_the_queue(
    make_user: Callable[..., User], practitioner: User, role: str
) -> None:
    client = signed_in(make_user(role))
    assert client.get(QUEUE).status_code == 403
    assert client.post(ATTEST, {}).status_code == 403
    assert Client().get(QUEUE).status_code == 302  # anonymous: to the sign-in page


def test_queue_query_count_does_not_grow_with_patients(
    nurse: User, practitioner: User, make_patient: Callable[..., Patient]
) -> None:
    def count_for(n: int) -> int:
        patients = [make_patient() for _ in range(n)]
        for patient in patients:
            log_today(nurse, patient, 65)
        client = signed_in(practitioner)
        client.get(QUEUE)  # warm the session
        with CaptureQueriesContext(connection) as queries:
            html = client.get(QUEUE).content.decode()
        assert len(queue_rows(html)) >= n
        return len(queries)

    two = count_for(2)
    twelve = count_for(10)  # 12 patients in all
    assert two == twelve


# --- month dashboard -------------------------------------------------------------------


def test_dashboard_shows_a_live_projection_of_the_open_month(
    practice: Practice, month_scenario: MonthScenario, billing_user: User
) -> None:
    response = signed_in(billing_user).get(DASHBOARD)  # default: the previous month

    assert response.status_code == 200
    html = response.content.decode()
    assert f"{month_scenario.month:%B %Y}" in html
    assert text_of(html, "month-status") == "open"
    assert "Projection" in html and "live, not closed" in html
    assert text_of(html, "projection-ready") == "3"
    assert text_of(html, "projection-needs_review") == "0"
    assert text_of(html, "projection-not_billable") == "1"
    fees = practice_rulebook(practice, month_scenario.month).fees
    expected = sum((fees[c] for c in ("99487", "99489", "99490", "99439", "99491")), Decimal("0"))
    assert text_of(html, "projection-revenue-total") == money(expected)
    assert 'data-testid="close-form"' in html
    assert 'data-testid="status-counts"' not in html  # no close yet: no worklist counts


def test_the_projection_equals_what_the_close_writes(
    practice: Practice, month_scenario: MonthScenario, billing_user: User
) -> None:
    client = signed_in(billing_user)
    before = client.get(DASHBOARD).content.decode()
    projected = re.search(r'data-testid="projection-revenue".*?</table>', before, re.S)
    assert projected

    close(practice, month_scenario.month, billing_user)
    after = client.get(DASHBOARD).content.decode()

    assert text_of(after, "month-status") == "closed"
    assert text_of(after, "month-version") == "version 1"
    assert 'data-testid="projection"' not in after
    for status, count in (("ready", 3), ("needs_review", 0), ("not_billable", 1)):
        assert text_of(before, f"projection-{status}") == str(count)
        assert text_of(after, f"count-{status}") == str(count)
    for status in ("submitted", "paid", "denied"):
        assert text_of(after, f"count-{status}") == "0"
    closed = re.search(r'data-testid="revenue".*?</table>', after, re.S)
    assert closed

    # Same codes, units and amounts, line for line.
    def cells(table: str) -> list[tuple[str, str, str]]:
        return re.findall(
            r'data-code="(\w+)">.*?data-testid="units">(\d+)<.*?data-testid="amount">([^<]+)<',
            table,
            re.S,
        )

    assert cells(projected.group(0)) == cells(closed.group(0))
    assert [c[0] for c in cells(closed.group(0))] == ["99490", "99439", "99487", "99489", "99491"]
    total = WorklistRow.objects.filter(month=month_scenario.month).values_list(
        "total_amount", flat=True
    )
    assert text_of(after, "closed-total") == money(sum(total, Decimal("0")))
    assert text_of(after, "revenue-total") == money(sum(total, Decimal("0")))


def test_history_chart_sums_only_each_closed_months_current_version(
    practice: Practice, month_scenario: MonthScenario, billing_user: User
) -> None:
    close(practice, month_scenario.month, billing_user)
    reopen_month(
        practice=practice, month=month_scenario.month, actor=billing_user, reason="late claim"
    )
    close(practice, month_scenario.month, billing_user)  # version 2: same rows again
    version_total = sum(
        WorklistRow.objects.filter(month=month_scenario.month, version=2).values_list(
            "total_amount", flat=True
        ),
        Decimal("0"),
    )
    assert version_total > 0

    html = signed_in(billing_user).get(DASHBOARD).content.decode()

    bar = re.search(rf'data-month="{month_scenario.month:%Y-%m}"><title>([^<]+)</title>', html)
    assert bar and bar.group(1) == (
        f"{month_scenario.month:%Y-%m}: {money(version_total)} (version 2)"
    )
    assert html.count('class="bar"') == 1  # the other eleven months are not closed
    table = html[html.index('data-testid="history-table"') :]
    assert len(re.findall(r"<tr><th scope=\"row\">", table)) == 12


def test_close_from_the_dashboard_claims_the_month_and_shows_progress(
    practice: Practice,
    month_scenario: MonthScenario,
    billing_user: User,
    django_capture_on_commit_callbacks: Callable[..., object],
) -> None:
    client = signed_in(billing_user)
    url = f"/billing/months/{month_scenario.month:%Y-%m}/close/"

    with django_capture_on_commit_callbacks() as callbacks:  # type: ignore[attr-defined]
        response = client.post(url)

    assert response.status_code == 302
    assert response["Location"] == f"{DASHBOARD}?month={month_scenario.month:%Y-%m}"
    assert len(callbacks) == 1  # the Celery dispatch, after the claim commits
    month = BillingMonth.objects.get(practice=practice, month=month_scenario.month)
    assert (month.status, month.version) == ("closing", 1)
    assert AuditEvent.objects.filter(action="billing_month.close", actor=billing_user).count() == 1
    html = client.get(response["Location"]).content.decode()
    assert text_of(html, "month-status") == "closing"
    assert f'data-url="/api/billing-months/{month_scenario.month:%Y-%m}/"' in html
    assert re.search(r'data-role="done">0</span> of <span data-role="total">1</span>', html)
    assert "js/billing.js" in html
    # Asking again changes nothing.
    with django_capture_on_commit_callbacks() as again:  # type: ignore[attr-defined]
        client.post(url)
    month.refresh_from_db()
    assert (month.status, month.version) == ("closing", 1)
    assert AuditEvent.objects.filter(action="billing_month.close").count() == 1
    assert len(again) == 1  # re-dispatching pending chunks is harmless (idempotent)


def test_a_month_that_has_not_ended_cannot_be_closed(billing_user: User) -> None:
    response = signed_in(billing_user).post(f"/billing/months/{this_month():%Y-%m}/close/")
    assert response.status_code == 400
    assert "has not ended" in text_of(response.content.decode(), "dashboard-error")
    assert not BillingMonth.objects.filter(status="closing").exists()


def test_reopen_needs_a_reason_and_is_audited(
    practice: Practice, month_scenario: MonthScenario, billing_user: User
) -> None:
    close(practice, month_scenario.month, billing_user)
    client = signed_in(billing_user)
    url = f"/billing/months/{month_scenario.month:%Y-%m}/reopen/"

    refused = client.post(url, {"reason": "   "})
    assert refused.status_code == 400
    assert "Say why the month is reopened" in refused.content.decode()
    assert BillingMonth.objects.get(month=month_scenario.month).status == "closed"

    response = client.post(url, {"reason": "Hospice claim found for Davis"})
    assert response.status_code == 302
    month = BillingMonth.objects.get(month=month_scenario.month)
    assert (month.status, month.version) == ("open", 1)
    event = AuditEvent.objects.get(action="billing_month.reopen")
    assert event.actor == billing_user and event.reason == "Hospice claim found for Davis"
    html = client.get(response["Location"]).content.decode()
    assert 'data-testid="reopened-note"' in html and 'data-testid="projection"' in html
    assert "Close " in html and " again</button>" in html


def test_reopen_of_an_open_month_is_refused(
    month_scenario: MonthScenario, billing_user: User
) -> None:
    response = signed_in(billing_user).post(
        f"/billing/months/{month_scenario.month:%Y-%m}/reopen/", {"reason": "why not"}
    )
    assert response.status_code == 400
    assert "is not closed" in response.content.decode()


def test_dashboard_roles(
    make_user: Callable[..., User], practitioner: User, admin_user: User, month_scenario: object
) -> None:
    month = f"{last_month():%Y-%m}"
    assert signed_in(make_user(Role.RN)).get(DASHBOARD).status_code == 403
    assert signed_in(make_user(Role.FRONT_DESK)).get(DASHBOARD).status_code == 403
    viewer = signed_in(practitioner)
    page = viewer.get(DASHBOARD)
    assert page.status_code == 200 and 'data-testid="close-form"' not in page.content.decode()
    assert viewer.post(f"/billing/months/{month}/close/").status_code == 403
    assert viewer.post(f"/billing/months/{month}/reopen/", {"reason": "x"}).status_code == 403
    assert 'data-testid="close-form"' in signed_in(admin_user).get(DASHBOARD).content.decode()
    assert not BillingMonth.objects.filter(status="closing").exists()


def test_dashboard_malformed_month_is_404(billing_user: User) -> None:
    client = signed_in(billing_user)
    assert client.get(DASHBOARD, {"month": "2026-13"}).status_code == 404
    assert client.post("/billing/months/nope/close/").status_code == 404


def test_dashboard_projection_query_count_does_not_grow_with_patients(
    nurse: User, billing_user: User, make_patient: Callable[..., Patient]
) -> None:
    def count_for(n: int) -> tuple[int, str]:
        for _ in range(n):
            patient = make_patient()
            log_minutes(nurse, [patient], 2, 25)
        client = signed_in(billing_user)
        client.get(DASHBOARD)
        with CaptureQueriesContext(connection) as queries:
            html = client.get(DASHBOARD).content.decode()
        return len(queries), text_of(html, "projection-ready")

    two, ready_two = count_for(2)
    ten, ready_twelve = count_for(10)
    assert (ready_two, ready_twelve) == ("2", "12")
    assert two == ten


# --- worklist --------------------------------------------------------------------------


def test_worklist_lists_each_patient_with_codes_amount_minutes_and_findings(
    practice: Practice, month_scenario: MonthScenario, billing_user: User
) -> None:
    close(practice, month_scenario.month, billing_user)

    response = signed_in(billing_user).get(WORKLIST)  # default: the previous month

    assert response.status_code == 200
    html = response.content.decode()
    s = month_scenario
    assert worklist_patients(html) == [
        s.complex.pk,
        s.non_complex.pk,
        s.practitioner_only.pk,
        s.blocked.pk,
    ]
    rows = {
        int(pk): body
        for pk, body in re.findall(
            r'data-testid="worklist-row"[^>]*data-patient="(\d+)".*?>(.*?)</tr>', html, re.S
        )
    }
    complex_row = rows[s.complex.pk]
    assert "Complex CCM" in complex_row and "99487" in complex_row and "99489" in complex_row
    assert text_of(complex_row, "minutes") == "95"
    amount = WorklistRow.objects.get(patient=s.complex).total_amount
    assert text_of(complex_row, "amount") == money(amount)
    assert s.complex.mrn in complex_row and "E11.9, I50.22" in complex_row
    assert text_of(complex_row, "status") == "Ready"
    blocked = rows[s.blocked.pk]
    assert text_of(blocked, "status") == "Not billable"
    assert 'data-rule="CONSENT_MISSING"' in blocked
    assert "Blocks billing" in blocked and "No consent" in blocked
    assert "Mark submitted" in complex_row and "Final" in blocked
    assert text_of(html, "export-csv") == "Export CSV"
    assert f'href="/api/worklist/export/?month={s.month:%Y-%m}&amp;version=1"' in html


def test_worklist_filters_by_status_tier_and_practitioner(
    practice: Practice,
    month_scenario: MonthScenario,
    billing_user: User,
    nurse: User,
    make_patient: Callable[..., Patient],
) -> None:
    colleague = UserFactory(practice=practice, role=Role.PRACTITIONER, credential="NP")
    theirs = make_patient(billing_practitioner=colleague, last_name="Evans")
    log_minutes(nurse, [theirs], 7, 21)
    close(practice, month_scenario.month, billing_user)
    client = signed_in(billing_user)
    month = f"{month_scenario.month:%Y-%m}"

    def shown(**filters: object) -> list[int]:
        response = client.get(WORKLIST, {"month": month, **filters})
        assert response.status_code == 200
        return worklist_patients(response.content.decode())

    assert shown(status="not_billable") == [month_scenario.blocked.pk]
    assert shown(tier="complex") == [month_scenario.complex.pk]
    assert shown(tier="practitioner") == [month_scenario.practitioner_only.pk]
    assert shown(tier="none") == [month_scenario.blocked.pk]
    assert shown(practitioner=colleague.pk) == [theirs.pk]
    assert shown(practitioner=colleague.pk, status="not_billable") == []
    filtered = client.get(WORKLIST, {"month": month, "status": "ready", "tier": "non_complex"})
    html = filtered.content.decode()
    assert (
        f'href="/api/worklist/export/?month={month}&amp;status=ready&amp;tier=non_complex'
        '&amp;version=1"' in html
    )
    bad = client.get(WORKLIST, {"month": month, "status": "lost"})
    assert bad.status_code == 400 and 'data-testid="worklist"' not in bad.content.decode()


def test_worklist_of_a_month_never_closed_points_to_the_dashboard(billing_user: User) -> None:
    html = signed_in(billing_user).get(WORKLIST).content.decode()
    assert 'data-testid="not-closed"' in html and 'data-testid="worklist"' not in html


def test_worklist_pages_fifty_rows(
    practice: Practice, billing_user: User, make_patient: Callable[..., Patient]
) -> None:
    for index in range(51):
        make_patient(eligible=False, last_name=f"P{index:03d}")
    close(practice, last_month(), billing_user)
    client = signed_in(billing_user)

    first = client.get(WORKLIST, {"status": "not_billable"}).content.decode()
    second = client.get(WORKLIST, {"status": "not_billable", "page": 2}).content.decode()

    assert len(worklist_patients(first)) == 50 and len(worklist_patients(second)) == 1
    assert "page 1 of 2" in first and 'rel="next"' in first
    assert f"?month={last_month():%Y-%m}&amp;status=not_billable&amp;page=2" in first
    assert set(worklist_patients(first)).isdisjoint(worklist_patients(second))


def test_status_changes_through_the_worklist_are_audited(
    practice: Practice, month_scenario: MonthScenario, billing_user: User
) -> None:
    close(practice, month_scenario.month, billing_user)
    row = WorklistRow.objects.get(patient=month_scenario.complex)
    client = signed_in(billing_user)
    url = f"/billing/worklist/{row.pk}/status/"
    back = f"month={month_scenario.month:%Y-%m}&status=ready"

    response = client.post(url, {"status": "submitted", "back": back})
    assert response.status_code == 302
    assert response["Location"] == f"{WORKLIST}?{back}#row-{row.pk}"
    row.refresh_from_db()
    assert row.status == WorklistStatus.SUBMITTED
    assert "Adams, Ann: Ready → Submitted." in client.get(response["Location"]).content.decode()

    refused = client.post(url, {"status": "denied", "denial_reason": "", "back": back})
    assert refused.status_code == 400
    assert "Give the payer" in text_of(refused.content.decode(), "worklist-error")
    illegal = client.post(url, {"status": "ready", "back": back})
    assert illegal.status_code == 400
    assert "cannot become ready" in illegal.content.decode()

    denied = client.post(url, {"status": "denied", "denial_reason": "CO-16 missing info"})
    assert denied.status_code == 302
    row.refresh_from_db()
    assert (row.status, row.denial_reason) == ("denied", "CO-16 missing info")
    events = AuditEvent.objects.filter(action="worklist.status", object_id=str(row.pk))
    assert [(e.before["status"], e.after["status"]) for e in events.order_by("id")] == [
        ("ready", "submitted"),
        ("submitted", "denied"),
    ]
    assert all(e.actor == billing_user for e in events)
    page = client.get(WORKLIST).content.decode()
    assert "Denied: CO-16 missing info" in page


def test_needs_review_row_becomes_ready(
    practice: Practice, month_scenario: MonthScenario, billing_user: User
) -> None:
    close(practice, month_scenario.month, billing_user)
    row = WorklistRow.objects.get(patient=month_scenario.non_complex)
    WorklistRow.objects.filter(pk=row.pk).update(status=WorklistStatus.NEEDS_REVIEW)
    client = signed_in(billing_user)
    html = client.get(WORKLIST, {"status": "needs_review"}).content.decode()
    assert worklist_patients(html) == [month_scenario.non_complex.pk]
    assert 'name="status" value="ready"' in html

    assert (
        client.post(f"/billing/worklist/{row.pk}/status/", {"status": "ready"}).status_code == 302
    )
    row.refresh_from_db()
    assert row.status == WorklistStatus.READY


def test_an_older_version_is_read_only(
    practice: Practice, month_scenario: MonthScenario, billing_user: User
) -> None:
    close(practice, month_scenario.month, billing_user)
    reopen_month(practice=practice, month=month_scenario.month, actor=billing_user, reason="fix")
    close(practice, month_scenario.month, billing_user)
    old = WorklistRow.objects.get(patient=month_scenario.complex, version=1)
    client = signed_in(billing_user)

    html = client.get(WORKLIST, {"version": 1}).content.decode()
    assert 'data-testid="read-only"' in html and "Version 1 of 2" in html
    assert len(worklist_patients(html)) == 4
    assert 'data-testid="status-form"' not in html
    assert '<option value="1" selected>Version 1</option>' in html
    current = client.get(WORKLIST).content.decode()
    assert 'data-testid="read-only"' not in current and 'data-testid="status-form"' in current
    assert ClaimLine.objects.filter(row__version=2).count() == 5

    response = client.post(f"/billing/worklist/{old.pk}/status/", {"status": "submitted"})
    assert response.status_code == 409
    assert "belongs to version 1" in response.content.decode()
    old.refresh_from_db()
    assert old.status == WorklistStatus.SUPERSEDED  # never billed: the re-close superseded it


def test_worklist_roles_and_scoping(
    practice: Practice,
    month_scenario: MonthScenario,
    billing_user: User,
    practitioner: User,
    make_user: Callable[..., User],
    outsider: User,
) -> None:
    close(practice, month_scenario.month, billing_user)
    row = WorklistRow.objects.get(patient=month_scenario.complex)
    url = f"/billing/worklist/{row.pk}/status/"

    assert signed_in(make_user(Role.RN)).get(WORKLIST).status_code == 403
    viewer = signed_in(practitioner)
    html = viewer.get(WORKLIST).content.decode()
    assert len(worklist_patients(html)) == 4
    assert 'data-testid="status-form"' not in html and 'data-testid="export-csv"' not in html
    assert viewer.post(url, {"status": "submitted"}).status_code == 403
    assert signed_in(outsider).post(url, {"status": "submitted"}).status_code == 404
    assert worklist_patients(signed_in(outsider).get(WORKLIST).content.decode()) == []
    row.refresh_from_db()
    assert row.status == WorklistStatus.READY


# --- services billed elsewhere ---------------------------------------------------------


def test_billing_records_a_service_billed_elsewhere(
    practice: Practice, billing_user: User, nurse: User, make_patient: Callable[..., Patient]
) -> None:
    patient = make_patient(last_name="Hospice")
    log_today(nurse, patient, 30)
    client = signed_in(billing_user)
    page = client.get(OTHER, {"patient": patient.pk}).content.decode()
    assert f'<option value="{patient.pk}" selected>' in page
    assert '<option value="G0182">' in page and '<option value="90951">' in page

    response = client.post(
        OTHER,
        {
            "patient": patient.pk,
            "code": "g 0182",
            "date": timezone.localdate().isoformat(),
            "practitioner_npi": "1234567893",
            "note": "Hospice agency notice",
        },
    )

    assert response.status_code == 302
    service = OtherService.objects.get(patient=patient)
    assert (service.code, service.practitioner_npi) == ("G0182", "1234567893")
    event = AuditEvent.objects.get(action="other_service.create", object_id=str(service.pk))
    assert event.actor == billing_user
    _, decision = patient_month_decision(patient=patient, month=this_month())
    assert not decision.billable
    assert "EXCLUSIVE_SERVICE" in [f.rule for f in decision.findings]
    after = client.get(response["Location"]).content.decode()
    assert "G0182 on" in after and "recorded for Hospice" in after
    assert 'class="just-recorded"' in after


def test_a_bad_npi_and_a_missing_code_are_shown(
    billing_user: User, make_patient: Callable[..., Patient]
) -> None:
    patient = make_patient()
    response = signed_in(billing_user).post(
        OTHER,
        {
            "patient": patient.pk,
            "code": "",
            "date": timezone.localdate().isoformat(),
            "practitioner_npi": "1234567890",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "check digit is wrong" in html and "This field is required." in html
    assert not OtherService.objects.exists()


def test_a_service_in_a_closed_month_is_409(
    practice: Practice, billing_user: User, make_patient: Callable[..., Patient]
) -> None:
    patient = make_patient()
    close(practice, last_month(), billing_user)
    response = signed_in(billing_user).post(
        OTHER,
        {"patient": patient.pk, "code": "G0181", "date": last_month().replace(day=5).isoformat()},
    )
    assert response.status_code == 409
    message = re.search(r'data-testid="form-errors"><li>([^<]*)<', response.content.decode())
    assert message and message.group(1).startswith("Not recorded")
    assert f"{last_month():%Y-%m} is closed" in message.group(1)
    assert not OtherService.objects.exists()


def test_other_service_roles_and_scoping(
    billing_user: User,
    practitioner: User,
    make_user: Callable[..., User],
    other_practice: Practice,
) -> None:
    foreign = PatientFactory(practice=other_practice)
    assert signed_in(make_user(Role.RN)).get(OTHER).status_code == 403
    assert signed_in(practitioner).get(OTHER).status_code == 403
    assert signed_in(make_user(Role.ADMIN)).get(OTHER).status_code == 200
    client = signed_in(billing_user)
    assert client.get(OTHER, {"patient": foreign.pk}).status_code == 404
    response = client.post(
        OTHER,
        {"patient": foreign.pk, "code": "G0181", "date": timezone.localdate().isoformat()},
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not OtherService.objects.exists()
