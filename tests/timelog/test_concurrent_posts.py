"""Concurrent time-entry POSTs of one performer over real HTTP (issue 15): with and without
request ids and start times, retried ids, and live-view GETs of the same patients
between them. They used to deadlock in PostgreSQL (a POST with a request id or a start
locked the user row FOR UPDATE, then waited for the practice's audit chain, which a POST
without either held while it needed that row at commit) and answer HTML 500s.

Every answer must be a 2xx, and the patients must be credited exactly the seconds sent,
each submission once."""

from __future__ import annotations

import datetime as dt
import json
import threading
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db.models import Sum
from django.utils import timezone

from ccm.models import User
from patients.models import Patient
from timelog.models import TimeActivity, TimeShare

pytestmark = pytest.mark.django_db(transaction=True)

CLIENTS = 8
POSTS_PER_CLIENT = 24


@dataclass
class Submission:
    body: dict[str, Any]
    patients: list[int]
    seconds: int
    sends: int = 1  # a client that timed out sends the same request id again


@dataclass
class Outcome:
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, status: int, detail: str = "") -> None:
        with self.lock:
            self.statuses[status] += 1
            if status >= 300:
                self.errors.append(f"{status}: {detail[:300]}")


def send(base: str, token: str, method: str, path: str, body: Any, outcome: Outcome) -> None:
    request = urllib.request.Request(  # noqa: S310 (the live server: http)
        f"{base}{path}",
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            outcome.record(response.status)
    except urllib.error.HTTPError as error:
        outcome.record(error.code, error.read().decode(errors="replace"))


def submissions(patients: list[Patient], day: dt.date) -> list[Submission]:
    """Every kind of POST, in a mix: plain minutes; a request id; a start time (each in
    its own two-minute slot, so none overlaps); both; shared by two patients; and a tenth
    sent twice with the same request id."""
    made: list[Submission] = []
    for n in range(CLIENTS * POSTS_PER_CLIENT):
        kind = n % 5
        ids = [p.pk for p in patients] if n % 7 == 0 else [patients[n % len(patients)].pk]
        body: dict[str, Any] = {
            "patients": ids,
            "date": day.isoformat(),
            "activity": "patient_call",
            "note": f"call {n}",
        }
        seconds = 60 * (1 + n % 3)
        if kind in (2, 3):  # a start time: a timed span inside its own slot
            start = dt.datetime.combine(day, dt.time(0, 0)) + dt.timedelta(minutes=4 * n)
            body["started_at"] = start.time().isoformat()
            body["ended_at"] = (start + dt.timedelta(seconds=seconds)).time().isoformat()
        else:
            body["minutes"] = seconds // 60
        if kind in (1, 3, 4):
            body["request_id"] = str(uuid.uuid4())
        made.append(Submission(body, ids, seconds, sends=2 if n % 10 == 4 else 1))
    return made


def test_concurrent_posts_of_one_performer_never_fail_nor_lose_or_double_a_second(
    live_server: Any, nurse: User, make_patient: Any
) -> None:
    day = timezone.localdate()
    patients = [make_patient(eligible=False) for _ in range(3)]
    token = nurse.auth_token.key
    base = live_server.url
    work = submissions(patients, day)
    queue: list[tuple[str, str, Any]] = []
    for number, submission in enumerate(work):
        for _ in range(submission.sends):
            queue.append(("POST", "/api/time-entries/", submission.body))
        if number % 6 == 0:  # the live view of a patient: a read audit between the writes
            patient = patients[number % len(patients)].pk
            queue.append(("GET", f"/api/patients/{patient}/months/{day:%Y-%m}/", None))
    outcome = Outcome()
    lanes = [queue[lane::CLIENTS] for lane in range(CLIENTS)]

    def client(lane: list[tuple[str, str, Any]]) -> None:
        for method, path, body in lane:
            send(base, token, method, path, body, outcome)

    threads = [threading.Thread(target=client, args=(lane,)) for lane in lanes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcome.errors == [], outcome.statuses
    assert sum(outcome.statuses.values()) == len(queue)
    assert TimeActivity.objects.filter(performer=nurse).count() == len(work)
    expected: Counter[int] = Counter()
    for submission in work:
        for patient in submission.patients:
            expected[patient] += submission.seconds // len(submission.patients)
    credited = dict(
        TimeShare.objects.filter(activity__performer=nurse)
        .values_list("patient")
        .annotate(seconds=Sum("seconds"))
    )
    assert credited == dict(expected)
