"""The time-entry POST's fast path gives TimeEntryInputSerializer's answers.

`validated_new_entry` validates a JSON body over the serializer's fields bound once per
process, DRF's walk written out; `practice_patients_by_id` scopes patient ids in one
written-out statement instead of the ORM's query; the POST answers with
`time_entry_data` instead of a TimeEntryOutputSerializer. Each is held here to what it
replaces: many bodies, valid and not, through both paths, with the same validated data or
the same errors (texts and codes, in the same order)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework import serializers
from rest_framework.test import APIClient

from ccm.models import AuditEvent, BillingMonth, Practice, User
from patients.models import Patient
from patients.selectors import practice_patients_by_id
from tests.factories import PatientFactory
from timelog.models import TimeActivity
from timelog.serializers import TimeEntryInputSerializer, validated_new_entry

pytestmark = pytest.mark.django_db

URL = "/api/time-entries/"
TODAY = timezone.localdate()
FAST_PATH_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def by_serializer(data: Any, practice: Practice) -> tuple[str, Any]:
    """What the serializer answers: ("valid", validated data) or ("invalid", errors)."""
    serializer = TimeEntryInputSerializer(data=data, practice=practice)
    if serializer.is_valid():
        return "valid", serializer.validated_data
    return "invalid", serializer.errors


def by_fast_path(data: Any, practice: Practice) -> tuple[str, Any]:
    try:
        return "valid", validated_new_entry(data, practice=practice)
    except serializers.ValidationError as error:
        return "invalid", error.detail


def assert_same_answer(data: Any, practice: Practice) -> str:
    """Both paths answer alike; returns "valid" or "invalid"."""
    expected, got = by_serializer(data, practice), by_fast_path(data, practice)
    assert got[0] == expected[0], (data, expected, got)
    if expected[0] == "invalid":
        # ErrorDetail compares its code too; the JSON compares the order of the fields.
        assert got[1] == expected[1], (data, expected, got)
        assert json.dumps(got[1]) == json.dumps(expected[1]), data
    else:
        assert got[1] == dict(expected[1]), (data, expected, got)
    return expected[0]


@pytest.fixture
def scene(
    practice: Practice, make_patient: Callable[..., Patient], other_practice: Practice
) -> Any:
    """The caller's practice with two patients (one inactive), another practice's patient,
    and an id no patient has."""
    own = [make_patient(eligible=False), make_patient(eligible=False, is_active=False)]
    foreign = PatientFactory(practice=other_practice)
    missing = max(own[-1].pk, foreign.pk) + 1000
    return practice, [p.pk for p in own], foreign.pk, missing


def any_json(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(leaves, lambda inner: st.lists(inner, max_size=3), max_leaves=4)


def bodies(own: list[int], foreign: int, missing: int) -> st.SearchStrategy[dict[str, Any]]:
    """JSON objects like a client's: a valid one with one to three fields changed to other
    right values, or to right or wrong ones, maybe one left out; or any set of fields."""
    right = right_values(own)
    wrong = wrong_values(own, foreign, missing)
    either = {key: st.one_of(right[key], wrong[key]) for key in right}
    base = valid(own)

    def edited(values: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
        keys = st.lists(st.sampled_from(sorted(values)), min_size=1, max_size=3, unique=True)
        edits = keys.flatmap(lambda chosen: st.fixed_dictionaries({k: values[k] for k in chosen}))
        dropped = st.sets(st.sampled_from(sorted(base)), max_size=1)
        return st.tuples(edits, dropped).map(
            lambda parts: {k: v for k, v in {**base, **parts[0]}.items() if k not in parts[1]}
        )

    return st.one_of(edited(right), edited(either), st.fixed_dictionaries({}, optional=either))


def right_values(own: list[int]) -> dict[str, st.SearchStrategy[Any]]:
    """For each field of a body (and an unknown one), values it accepts."""
    past = [TODAY, TODAY - dt.timedelta(days=40)]
    return {
        "patients": st.lists(st.sampled_from(own), min_size=1, unique=True),
        "date": st.sampled_from([day.isoformat() for day in past]),
        "minutes": st.sampled_from([1, 5, 720, "12", " 7 ", "7.0", 7.0]),
        "started_at": st.sampled_from(["09:00", "09:10:01", f"{TODAY}T09:00:00", None]),
        "ended_at": st.sampled_from(["09:30", f"{TODAY}T14:20:00Z", None]),
        "activity": st.sampled_from(["patient_call", "care_plan_review", "other"]),
        "note": st.sampled_from(["Called", "  Called  ", 12]),
        "outcome": st.sampled_from(["", "Better", 1.5]),
        "program": st.sampled_from(["ccm", "rpm", "bhi"]),
        "request_id": st.sampled_from([str(uuid.UUID(int=7)), uuid.UUID(int=8).hex, None]),
        "colour": st.integers(),
    }


def wrong_values(own: list[int], foreign: int, missing: int) -> dict[str, st.SearchStrategy[Any]]:
    """For each field of a body (and an unknown one), values of every kind, most of them
    refused."""
    ids = st.sampled_from([*own, foreign, missing, 0, -1, 2**70])
    junk = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**7), 10**7),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=6),
        st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    )
    clock = st.sampled_from(
        ["9:00", "25:00", "08:59:59.5", f"{TODAY}T09:20:00-05:00", "2020-01-01T09:00", ""]
    )
    future = (TODAY + dt.timedelta(days=1)).isoformat()
    return {
        "patients": st.one_of(st.lists(ids, max_size=3), any_json(st.one_of(ids, junk))),
        "date": st.one_of(st.sampled_from([future, "2026-02-30", "yesterday"]), junk),
        "minutes": st.one_of(st.sampled_from([0, -5, 721, 10**6, 10**6 + 1, 7.5, "1e3"]), junk),
        "started_at": st.one_of(clock, junk),
        "ended_at": st.one_of(clock, junk),
        "activity": st.one_of(st.sampled_from(["gardening", "", "  "]), junk),
        "note": st.one_of(st.sampled_from(["", "   ", "a\x00b"]), junk),
        "outcome": st.one_of(st.sampled_from(["a\x00b", None]), junk),
        "program": st.one_of(st.sampled_from(["xyz", ""]), junk),
        "request_id": st.one_of(st.just("not-a-uuid"), junk),
        "colour": junk,
    }


def test_many_bodies_get_the_serializers_answer(scene: Any) -> None:
    practice, own, foreign, missing = scene
    answers: list[str] = []

    @FAST_PATH_SETTINGS
    @given(bodies(own, foreign, missing))
    def check(data: dict[str, Any]) -> None:
        answers.append(assert_same_answer(data, practice))

    check()
    assert answers.count("valid") >= 30 and answers.count("invalid") >= 100, answers


def valid(own: list[int], **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "patients": own[:1],
        "date": TODAY.isoformat(),
        "minutes": 12,
        "activity": "patient_call",
        "note": "Called",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not ...}


@pytest.mark.parametrize(
    "overrides",
    [
        {},  # valid, minutes
        {"minutes": None, "started_at": "09:00", "ended_at": "09:10:01"},  # timer fields
        {"minutes": None, "date": ..., "started_at": f"{TODAY}T08:00", "ended_at": "08:20"},
        {"minutes": None, "started_at": f"{TODAY}T09:00:00Z", "ended_at": f"{TODAY}T09:05Z"},
        {"request_id": str(uuid.UUID(int=1)), "outcome": "  Better  ", "program": "bhi"},
        {"colour": "blue", "id": 5, "performer": 1},  # unknown fields: ignored
        {"patients": ...},  # missing fields
        {"activity": ..., "note": ...},
        {"patients": "1"},  # wrong types
        {"patients": {"0": 1}},
        {"patients": [True]},
        {"patients": ["1", 1.0, "x"]},
        {"minutes": "twelve"},
        {"minutes": True},
        {"date": 20260101},
        {"note": ["x"]},
        {"request_id": 12},
        {"patients": []},  # empty, twice, too many, foreign, unknown
        {"patients": "twice"},
        {"patients": "many"},
        {"patients": "foreign"},
        {"patients": "missing"},
        {"patients": [2**70, -1, 0]},
        {"date": (TODAY + dt.timedelta(days=1)).isoformat()},  # the service refuses it
        {"minutes": None, "started_at": "10:00", "ended_at": "09:00"},
        {"minutes": None, "ended_at": "09:00"},
        {"minutes": 5, "started_at": "10:00", "ended_at": "10:30"},
        {"minutes": None},
        {
            "started_at": f"{TODAY - dt.timedelta(days=2)}T09:00",
            "minutes": None,
            "ended_at": "9:30",
        },
        {"activity": "gardening", "program": "xyz", "patients": "foreign", "minutes": None},
        {"note": "", "outcome": None, "program": None},
        {"note": "a\x00b", "activity": "\ud800"},
        {"minutes": 10**6 + 1, "started_at": "nope"},
    ],
)
def test_each_kind_of_body_gets_the_serializers_answer(
    scene: Any, make_patient: Callable[..., Patient], overrides: dict[str, Any]
) -> None:
    practice, own, foreign, missing = scene
    named = {
        "twice": [own[0], own[0]],
        "many": own + [make_patient(eligible=False).pk for _ in range(40)],
        "foreign": [own[0], foreign],
        "missing": [missing, own[1]],
    }
    patients = overrides.get("patients")
    if isinstance(patients, str) and patients in named:
        overrides = {**overrides, "patients": named[patients]}
    assert_same_answer(valid(own, **overrides), practice)


@pytest.mark.parametrize("data", [None, [], ["patients"], "patients", 5, True])
def test_a_body_that_is_no_json_object_gets_the_serializers_answer(scene: Any, data: Any) -> None:
    assert_same_answer(data, scene[0])


def test_form_data_is_validated_by_the_serializer_itself(scene: Any) -> None:
    from django.http import QueryDict

    practice, own, _, _ = scene
    form = QueryDict(mutable=True)
    form.update({"date": TODAY.isoformat(), "minutes": "5", "activity": "other", "note": "x"})
    form.setlist("patients", [str(own[0]), str(own[1])])
    assert_same_answer(form, practice)


def test_the_fast_path_covers_what_the_serializer_declares(practice: Practice) -> None:
    """What the written-out walk relies on: fields whose source is their name, none
    read-only, no validators of the serializer's own (its validate_<field> methods, which
    the walk calls itself, are these three)."""
    serializer = TimeEntryInputSerializer()
    assert all(field.source == name for name, field in serializer.fields.items())
    assert not any(field.read_only for field in serializer.fields.values())
    assert serializer.validators == []
    validated = {name for name in serializer.fields if hasattr(serializer, f"validate_{name}")}
    assert validated == {"patients", "activity", "program"}


def test_patient_ids_are_scoped_as_the_orm_query_scoped_them(scene: Any) -> None:
    practice, own, foreign, missing = scene

    @FAST_PATH_SETTINGS
    @given(st.lists(st.sampled_from([*own, foreign, missing, 0, -5, 2**63 - 1, 2**70]), max_size=6))
    def check(ids: list[int]) -> None:
        found = practice_patients_by_id(practice=practice, ids=ids)
        orm = Patient.objects.filter(practice=practice, pk__in=ids)
        assert sorted(found) == sorted(patient.pk for patient in orm)
        assert all(isinstance(found[pk], Patient) and found[pk].pk == pk for pk in found)

    check()


def test_the_post_answers_as_the_serializer_and_the_output_serializer_would(
    nurse: User, scene: Any, api_client_for: Callable[..., APIClient]
) -> None:
    """Through the API: a bad body is the serializer's 400; a good one the entry as
    TimeEntryOutputSerializer renders it, with its audit event."""
    from timelog.selectors import time_activities_for_practice
    from timelog.serializers import TimeEntryOutputSerializer

    practice, own, foreign, _ = scene
    client = api_client_for(nurse)
    for data in (
        valid(own, patients=[own[0], foreign], activity="gardening"),
        valid(own, minutes=None),
        [valid(own)],
    ):
        response = client.post(URL, data, format="json")
        assert response.status_code == 400
        assert response.json() == json.loads(json.dumps(by_serializer(data, practice)[1]))
    response = client.post(URL, valid(own, patients=own[::-1]), format="json")
    assert response.status_code == 201, response.json()
    stored = time_activities_for_practice(practice).get(pk=response.json()["id"])
    assert response.json() == json.loads(json.dumps(TimeEntryOutputSerializer(stored).data))
    assert AuditEvent.objects.filter(
        action="time_activity.create", object_id=str(stored.pk)
    ).exists()


def test_a_closed_month_is_still_409_through_the_fast_path(
    nurse: User, scene: Any, api_client_for: Callable[..., APIClient]
) -> None:
    practice, own, _, _ = scene
    BillingMonth.objects.create(practice=practice, month=TODAY.replace(day=1), status="closed")
    response = api_client_for(nurse).post(URL, valid(own), format="json")
    assert response.status_code == 409
    assert not TimeActivity.objects.exists()
