"""Property-based runs of the input bounds (issue 15), beside the schemathesis run: for any
JSON at all, with any text (NUL, unpaired surrogates sent as JSON's \\ud800 escapes,
every plane) and any nesting, the parser's verdict is exactly right, and the API never
answers a 5xx; a NUL anywhere in a query string is a 400 or, in a search, dropped."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ParseError, ValidationError

from ccm.limits import is_storable
from ccm.models import User
from ccm.parsers import check_json
from patients.models import Patient

MAX_DEPTH = 4
# Any text (NUL included), and unpaired surrogates, which st.text() never draws.
NASTY_TEXT = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["\x00", "a\x00b", "\ud800", "x\udfffy", "\udbff\x00"]),
    st.builds("{}{}".format, st.text(max_size=4), st.sampled_from(["\ud83d", "\x00"])),
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | NASTY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NASTY_TEXT, inner, max_size=3),
    max_leaves=12,
)
SEARCH_PARAMETERS = {"q", "search"}


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth(item) for item in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(item) for item in value), default=0)
    return 0


def texts(value: Any, path: str = "") -> list[tuple[str, str]]:
    """Every text of `value` (keys too) with the path check_json names for it."""
    found: list[tuple[str, str]] = []
    if isinstance(value, str):
        found.append((path or "body", value))
    elif isinstance(value, dict):
        for key, item in value.items():
            found.append((path or "body", key))
            found.extend(texts(item, f"{path}.{key}" if path else key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(texts(item, f"{path}[{index}]"))
    return found


@settings(max_examples=500, deadline=None, derandomize=True, database=None)
@given(JSON)
def test_the_verdict_on_any_json_is_exact(value: Any) -> None:
    bad = {path for path, text in texts(value) if not is_storable(text)}
    try:
        check_json(value, max_depth=MAX_DEPTH)
    except ParseError:
        assert depth(value) > MAX_DEPTH
    except ValidationError as error:
        (named,) = error.detail
        assert named in bad
    else:
        assert depth(value) <= MAX_DEPTH and not bad


@pytest.mark.django_db
@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=JSON, url=st.sampled_from(["/api/time-entries/", "/api/billing/evaluate/", "OTHER"]))
def test_any_json_body_is_answered_without_a_server_error(
    nurse: User, patient: Patient, body: Any, url: str
) -> None:
    """As ASCII JSON, so an unpaired surrogate travels as its \\ud800 escape."""
    url = f"/api/patients/{patient.pk}/other-services/" if url == "OTHER" else url
    client = Client(headers={"Authorization": f"Token {nurse.auth_token.key}"})
    response = client.post(url, json.dumps(body), content_type="application/json")
    assert response.status_code < 500
    if any(not is_storable(text) for _, text in texts(body)) and depth(body) <= 32:
        assert response.status_code == 400, response.content


@pytest.mark.django_db
@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    name=st.sampled_from(["search", "q", "month", "status", "patient", "page", "anything"]),
    value=NASTY_TEXT.filter(lambda text: "\x00" in text or not text),
    path=st.sampled_from(["/api/patients/", "/api/time-entries/", "/patients/", "/time/mine/"]),
)
def test_a_nul_in_any_query_parameter_is_a_400_or_dropped_from_a_search(
    nurse: User, name: str, value: str, path: str
) -> None:
    client = Client(headers={"Authorization": f"Token {nurse.auth_token.key}"})
    client.force_login(nurse)
    response = client.get(path, {name: value.encode("utf-8", "surrogatepass")})
    assert response.status_code < 500
    if "\x00" in value and name not in SEARCH_PARAMETERS:
        assert response.status_code == 400
