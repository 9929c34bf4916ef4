"""The pages that show the engine's decision: My patients (the call list) and a patient's
month. Roles, practice scoping, order, and a fixed number of queries."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import MdmAttestation
from ccm.models import Role, User
from ccm.periods import month_end, month_start
from patients.models import Consent, Patient
from tests.factories import PatientFactory
from tests.factories import log_minutes as log

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
MONTH = f"{TODAY:%Y-%m}"
URL = "/my-patients/"


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def rows(html: str) -> list[tuple[str, str]]:
    """(patient id, 'next' text) of each call-list row, in page order."""
    found = re.findall(
        r'data-testid="patient-row" data-patient="(\d+)".*?data-testid="next">([^<]*)<', html, re.S
    )
    return [(pk, text.strip()) for pk, text in found]


def month_url(patient: Patient, month: str = MONTH) -> str:
    return f"/patients/{patient.pk}/months/{month}/"


# --- My patients ---------------------------------------------------------------------------


def test_call_list_orders_by_minutes_needed_and_blocked_last(
    nurse: User, make_patient: Callable[..., Patient]
) -> None:
    needs_1 = make_patient(last_name="Ayala")
    needs_9 = make_patient(last_name="Brown")
    needs_15 = make_patient(last_name="Chen")
    blocked = make_patient(last_name="Adams")
    Consent.objects.filter(patient=blocked).delete()
    log(nurse, [needs_1], 19)
    log(nurse, [needs_9], 31)
    log(nurse, [needs_15], 5)
    log(nurse, [blocked], 19)
    response = signed_in(nurse).get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert rows(html) == [
        (str(needs_1.pk), "1 min to 99490"),
        (str(needs_9.pk), "9 min to 99439"),
        (str(needs_15.pk), "15 min to 99490"),
        (str(blocked.pk), "Blocked"),
    ]
    assert re.search(r'<span class="badge block" title="[^"]*consent[^"]*">No consent</span>', html)
    assert '<span class="badge code">99490</span>' in html
    assert 'data-percent="95"' in html  # 19 of 20 min
    assert f"/time/log/?patient={needs_1.pk}" in html
    days = (month_end(TODAY) - TODAY).days + 1
    assert f"{days} day{'s' if days != 1 else ''} left" in html


def test_mine_is_my_recent_patients_and_all_is_every_active_patient(
    nurse: User, make_user: Callable[..., User], make_patient: Callable[..., Patient]
) -> None:
    mine_now, mine_before, colleagues, untouched = (make_patient() for _ in range(4))
    inactive = make_patient(is_active=False)
    two_months_ago = month_start(
        month_start(month_start(TODAY) - dt.timedelta(days=1)) - dt.timedelta(days=1)
    )
    log(nurse, [mine_now], 10)
    log(nurse, [mine_before], 10, day=two_months_ago)
    log(make_user(Role.LPN), [colleagues], 10)
    client = signed_in(nurse)
    mine = {pk for pk, _ in rows(client.get(URL).content.decode())}
    assert mine == {str(mine_now.pk), str(mine_before.pk)}
    every = {pk for pk, _ in rows(client.get(f"{URL}?tab=all").content.decode())}
    assert every == {str(p.pk) for p in (mine_now, mine_before, colleagues, untouched)}
    assert str(inactive.pk) not in every


def test_mine_falls_back_to_all_when_empty(
    nurse: User, make_user: Callable[..., User], patient: Patient
) -> None:
    log(make_user(Role.LPN), [patient], 10)
    response = signed_in(nurse).get(URL)
    assert response.context["tab"] == "all"
    assert "showing all active patients" in response.content.decode()
    assert [pk for pk, _ in rows(response.content.decode())] == [str(patient.pk)]
    explicit = signed_in(nurse).get(f"{URL}?tab=mine")
    assert explicit.context["tab"] == "mine" and rows(explicit.content.decode()) == []


def test_another_practices_patients_never_appear(
    nurse: User, patient: Patient, other_practice: object
) -> None:
    # A name no home patient has (the factory's random names can coincide).
    stranger = PatientFactory(practice=other_practice, last_name="Elsewhere-Only")
    html = signed_in(nurse).get(f"{URL}?tab=all").content.decode()
    assert str(stranger.pk) not in {pk for pk, _ in rows(html)}
    assert stranger.last_name not in html


def test_month_is_selectable(nurse: User, patient: Patient) -> None:
    last_month = month_start(month_start(TODAY) - dt.timedelta(days=1))
    log(nurse, [patient], 25, day=last_month)
    client = signed_in(nurse)
    current = client.get(URL).content.decode()
    assert rows(current) == [(str(patient.pk), "20 min to 99490")]
    before = client.get(f"{URL}?month={last_month:%Y-%m}").content.decode()
    assert rows(before) == [(str(patient.pk), "15 min to 99439")]
    assert "Month ended" in before
    assert client.get(f"{URL}?month=March").status_code == 404


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.BILLING, Role.ADMIN])
def test_my_patients_is_for_the_care_team(make_user: Callable[..., User], role: str) -> None:
    assert signed_in(make_user(role, credential="")).get(URL).status_code == 403


def test_practitioners_see_it_too(practitioner: User, patient: Patient) -> None:
    assert signed_in(practitioner).get(URL).status_code == 200


def _count_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(URL)
    assert response.status_code == 200
    return len(captured)


def test_a_fixed_number_of_queries_however_many_patients(
    nurse: User, make_patient: Callable[..., Patient], practitioner: User
) -> None:
    client = signed_in(nurse)
    first = [make_patient() for _ in range(2)]
    for patient in first:
        log(nurse, [patient], 12)
        log(nurse, [patient], 3, program="rpm")
    MdmAttestation.objects.create(
        patient=first[0],
        month=month_start(TODAY),
        level="moderate",
        practitioner=practitioner,
        note="complex",
        signed_at=timezone.now(),
    )
    # One count when progress is worked out, a smaller one when it is stored and current.
    worked_out, stored = _count_queries(client), _count_queries(client)
    assert stored < worked_out
    assert len(rows(client.get(URL).content.decode())) == 2
    more = [make_patient() for _ in range(10)]
    for patient in more:
        log(nurse, [patient], 25)
    log(nurse, more[:5], 10)
    assert _count_queries(client) == worked_out
    assert len(rows(client.get(URL).content.decode())) == 12
    assert _count_queries(client) == stored


# --- A patient's month ---------------------------------------------------------------------


def test_patient_month_shows_the_decision_and_the_timeline(
    nurse: User, make_patient: Callable[..., Patient]
) -> None:
    patient, other_a, other_b = make_patient(), make_patient(), make_patient()
    log(nurse, [patient], 12)
    shared = log(nurse, [patient, other_a, other_b], 30)
    log(nurse, [patient], 10, program="rpm")
    response = signed_in(nurse).get(month_url(patient))
    assert response.status_code == 200
    html = response.content.decode()
    # 12 + 30/3 = 22 min counted: 99490 at the 2026 fee; the RPM entry is named.
    assert "Non-complex CCM · $66.30" in html
    assert re.search(
        r"<strong>99490</strong></td><td[^>]*>[^<]+</td><td class=\"num\"[^>]*>1</td>", html
    )
    assert 'data-testid="counted">22 min<' in html
    assert "18 min to 99439" in html
    assert "Time of another program" in html and "ENTRY_EXCLUDED_PROGRAM" in html
    assert "Advice" in html
    assert "3 patients" in html and "30 min in all" in html
    assert response.context["timeline"][1].share.activity == shared
    assert f"/time/log/?patient={patient.pk}" in html
    previous = month_start(month_start(TODAY) - dt.timedelta(days=1))
    assert month_url(patient, f"{previous:%Y-%m}") in html


def test_patient_month_names_every_block_in_plain_words(
    nurse: User, make_patient: Callable[..., Patient]
) -> None:
    patient = make_patient(eligible=False)
    html = signed_in(nurse).get(month_url(patient)).content.decode()
    assert "Not billable" in html
    for label in ("Fewer than 2 chronic conditions", "No consent", "No care plan"):
        assert label in html
    assert "Blocks billing" in html
    assert "No claim line this month." in html


def test_everyone_in_the_practice_may_view_but_only_the_care_team_logs(
    make_user: Callable[..., User], patient: Patient
) -> None:
    for role in (Role.BILLING, Role.FRONT_DESK, Role.ADMIN):
        response = signed_in(make_user(role, credential="")).get(month_url(patient))
        assert response.status_code == 200
        assert "/time/log/?patient=" not in response.content.decode()


def test_another_practices_patient_is_not_found(outsider: User, patient: Patient) -> None:
    assert signed_in(outsider).get(month_url(patient)).status_code == 404


def test_a_malformed_month_is_not_found(nurse: User, patient: Patient) -> None:
    assert signed_in(nurse).get(month_url(patient, "2026-13")).status_code == 404
