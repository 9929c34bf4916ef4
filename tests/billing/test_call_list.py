"""The call list of My patients: the decisions it shows are those of the JSON-like facts
the API shows (on the demo month), a patient whose facts the engine refuses shows the
error while the others keep their progress, a fixed number of queries on both tabs, and
row markup that is whole and escaped in every state."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable
from dataclasses import replace
from html.parser import HTMLParser

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import format_html

from billing.call_list import (
    Badge,
    CallListRow,
    _format_escaped,
    active_patients,
    call_list_summary,
    my_recent_patients,
)
from billing.live_decisions import _decide_months_one_by_one, decide_months
from billing.rules import parse_facts
from billing.selectors import (
    patients_month_engine_facts,
    patients_month_facts,
    practice_rulebook,
)
from ccm.models import Practice, User
from ccm.periods import month_start
from patients.models import ChronicCondition, Patient
from tests.factories import log_minutes as log

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
MONTH = month_start(TODAY)
URL = "/my-patients/"


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def demo_month() -> tuple[Practice, User]:
    """The demo practice's month so far (seed_demo), and its nurse."""
    call_command("seed_demo", stdout=io.StringIO())
    nurse = User.objects.select_related("practice").get(username="nurse")
    assert nurse.practice is not None
    return nurse.practice, nurse


def test_engine_facts_equal_the_parsed_json_facts_on_the_demo_month(
    demo_month: tuple[Practice, User],
) -> None:
    """The page builds the engine's facts directly; on a realistic month they are what
    parse_facts makes of the facts the API shows, patient by patient."""
    practice, _ = demo_month
    patients = list(
        Patient.objects.filter(practice=practice).select_related("billing_practitioner")
    )
    assert len(patients) >= 9
    keys = [(p.pk, p.billing_practitioner_id, p.billing_practitioner.npi) for p in patients]
    built = patients_month_engine_facts(keys, MONTH)
    json_facts = patients_month_facts(patients, MONTH)
    assert any(facts["time_entries"] for facts in json_facts.values())
    for patient in patients:
        facts = built[patient.pk]
        ordered = sorted(facts.time_entries, key=lambda e: (e.date, int(e.id[1:])))
        assert replace(facts, time_entries=tuple(ordered)) == parse_facts(json_facts[patient.pk])


def test_the_call_list_decides_as_the_json_facts_do_on_the_demo_month(
    demo_month: tuple[Practice, User],
) -> None:
    practice, nurse = demo_month
    listed = active_patients(nurse)
    assert {p.pk for p in listed} == set(
        Patient.objects.filter(practice=practice, is_active=True).values_list("pk", flat=True)
    )
    rulebook = practice_rulebook(practice, MONTH)
    direct = decide_months([p.key for p in listed], MONTH, rulebook)
    parsed = _decide_months_one_by_one([p.pk for p in listed], MONTH, rulebook)
    assert direct == parsed
    assert not any(isinstance(outcome, str) for outcome in direct.values())


def test_mine_lists_the_patients_of_my_time_in_three_months(
    nurse: User, make_user: Callable[..., User], make_patient: Callable[..., Patient]
) -> None:
    now, two_ago, three_ago, colleagues = (make_patient() for _ in range(4))
    inactive = make_patient(is_active=False)
    log(nurse, [now, inactive], 10)
    for patient, months_ago in ((two_ago, 2), (three_ago, 3)):
        day = MONTH
        for _ in range(months_ago):
            day = month_start(day - dt.timedelta(days=1))
        log(nurse, [patient], 10, day)
    log(make_user("lpn"), [colleagues], 10)
    mine = my_recent_patients(nurse, MONTH)
    assert [p.pk for p in mine] == [p.pk for p in sorted((now, two_ago), key=_by_name)]
    (listed,) = [p for p in mine if p.pk == now.pk]
    assert listed.key == (now.pk, now.billing_practitioner_id, now.billing_practitioner.npi)
    assert (listed.mrn, listed.last_name, listed.birth_date) == (
        now.mrn,
        now.last_name,
        now.birth_date,
    )


def _by_name(patient: Patient) -> tuple[str, str, int]:
    return (patient.last_name, patient.first_name, patient.pk)


def test_a_patient_whose_facts_the_engine_refuses_shows_the_error(
    nurse: User, make_patient: Callable[..., Patient]
) -> None:
    """A bad fact the database lets through (an ICD-10 code that is not one) stops that
    patient only: the row names the field, the others keep their progress."""
    good, bad = make_patient(last_name="Good"), make_patient(last_name="Bad")
    log(nurse, [good], 12)
    log(nurse, [bad], 15)
    ChronicCondition.objects.filter(patient=bad).update(icd10="E11..9")
    response = signed_in(nurse).get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    bad_row = re.search(rf'data-patient="{bad.pk}".*?</tr>', html, re.S)
    assert bad_row is not None
    assert (
        "The engine could not read this patient's facts: "
        "patient.chronic_conditions[0].icd10: not an ICD-10 code &#x27;E11..9&#x27;"
    ) in bad_row.group(0)
    good_row = re.search(rf'data-patient="{good.pk}".*?</tr>', html, re.S)
    assert good_row is not None and "8 min to 99490" in good_row.group(0)
    # The refused patient comes last and counts only as a patient.
    assert html.index(f'data-patient="{good.pk}"') < html.index(f'data-patient="{bad.pk}"')
    summary = response.context["summary"]
    assert (summary.patients, summary.billable, summary.blocked) == (2, 0, 0)


def _count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("tab", ["mine", "all"])
def test_a_fixed_number_of_queries_on_both_tabs(
    tab: str, nurse: User, make_patient: Callable[..., Patient]
) -> None:
    """However many patients: one count when their progress has to be worked out (their
    facts and one write more), a smaller one when it is stored and current."""
    client = signed_in(nurse)
    url = f"{URL}?tab={tab}"
    first = [make_patient() for _ in range(2)]
    for patient in first:
        log(nurse, [patient], 12)
    worked_out, stored = _count_queries(client, url), _count_queries(client, url)
    assert stored < worked_out
    more = [make_patient() for _ in range(15)]
    for patient in more:
        log(nurse, [patient], 25)
    log(nurse, more[:6], 10)
    assert _count_queries(client, url) == worked_out
    assert client.get(url).content.decode().count('data-testid="patient-row"') == 17
    assert _count_queries(client, url) == stored


class _Balance(HTMLParser):
    """The tags a piece of HTML leaves open (or closes without opening)."""

    VOID = frozenset({"br", "img", "input", "meta", "link", "hr"})

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.stray: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.open and self.open[-1] == tag:
            self.open.pop()
        else:
            self.stray.append(tag)


def _row(**fields: object) -> CallListRow:
    values: dict[str, object] = {
        "patient_id": 7,
        "name": "O'Brien, <b>Ann</b>",
        "full_name": "<b>Ann</b> O'Brien",
        "details": "M-1 · 1950-01-02",
        "month_url": "/patients/7/months/2026-10/",
        "log_url": "/time/log/?patient=7",
        "sort_key": (0,),
    }
    values.update(fields)
    return CallListRow(**values)  # type: ignore[arg-type]


ROWS = {
    "next": _row(
        counted_minutes=19,
        bar="next",
        next_code="99490",
        target_minutes=20,
        percent=95,
        next_text="1 min to 99490",
        close=True,
    ),
    "done": _row(
        counted_minutes=61,
        bar="done",
        next_text="Every code reached",
        billable=True,
        codes=("99490", "99439 ×2"),
    ),
    "blocked": _row(
        counted_minutes=30,
        next_text="Blocked",
        blocked=True,
        blocks=(Badge("No consent", 'Consent "missing" <here>'), Badge("No care plan", "x")),
    ),
    "error": _row(error="patient.chronic_conditions[0].icd10: not an ICD-10 code '<X>'"),
}


@pytest.mark.parametrize("state", ROWS)
def test_a_row_is_one_whole_escaped_tr(state: str) -> None:
    html = str(ROWS[state].html)
    checker = _Balance()
    checker.feed(html)
    assert checker.open == [] and checker.stray == []
    assert html.startswith('<tr data-testid="patient-row" data-patient="7"')
    assert "<b>" not in html and "&lt;b&gt;Ann&lt;/b&gt;" in html
    assert "O&#x27;Brien, &lt;b&gt;Ann&lt;/b&gt;" in html
    cells = re.findall(r"<t[hd][ >]", html)
    assert len(cells) == (3 if state == "error" else 6)


def test_rows_print_each_state() -> None:
    nxt, done, blocked, error = (str(ROWS[s].html) for s in ("next", "done", "blocked", "error"))
    assert 'aria-label="Progress to 99490"' in nxt and 'data-percent="95"' in nxt
    assert 'aria-valuemin="0" aria-valuemax="20" aria-valuenow="19"' in nxt
    assert '<div class="next close" data-testid="next">1 min to 99490</div>' in nxt
    assert '<span class="muted">—</span>' in nxt and "Ready" not in nxt
    assert 'class="progress done"' in done and 'data-percent="100"' in done
    assert '<span class="badge code">99490</span> <span class="badge code">99439 ×2</span>' in done
    assert '<span class="badge ok">Ready</span>' in done
    assert 'class="is-blocked"' in blocked and "progressbar" not in blocked
    assert (
        '<span class="badge block" title="Consent &quot;missing&quot; &lt;here&gt;">'
        "No consent</span>" in blocked
    )
    assert '<td colspan="4" class="error">' in error and "&#x27;&lt;X&gt;&#x27;" in error
    assert 'href="/time/log/?patient=7" aria-label="Log time for &lt;b&gt;Ann' in error


def test_rows_are_escaped_as_format_html_escapes() -> None:
    markup = '<a href="{}" title="{}">{}</a>'
    values: list[object] = ["/p/?a=1&b=2", "\"quoted\" 'single'", "<script>x</script>", 7]
    assert _format_escaped(markup + "{}", values) == format_html(markup + "{}", *values)


def test_the_summary_counts_decided_rows_only() -> None:
    rows = list(ROWS.values())
    summary = call_list_summary(rows)
    assert (summary.patients, summary.billable, summary.close, summary.blocked) == (4, 1, 1, 1)
