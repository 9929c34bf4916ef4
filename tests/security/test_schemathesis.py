"""Schemathesis against the OpenAPI document of a live server, signed in with a DRF
token as a nurse, as billing staff and as a practitioner (the only one who attests MDM):
no input may produce a 500 or hang, and every answer must match the document
(documented status code, content type, body schema).

Each operation of the document is run as a Hypothesis test built from schemathesis's
strategies (`operation.as_strategy()`, then `case.call_and_validate()`), drawing from
four: generated data with real ids of the caller's practice in the path (so bodies
reach the services), wholly generated data, negative (invalid) data, and generated data
poisoned with what issue 15 found answered 500 (a NUL in a text, a text far over its
length, a body nested 100 levels deep). Bounded in
time: a few examples per operation, no shrinking, derandomised so CI sees the same cases
every run, and a budget for the whole run. A request that hangs (schemathesis waits 10
seconds) fails like a 500."""

from __future__ import annotations

import time
import warnings
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.test import Client
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ccm.models import Role
from tests.security.conftest import Side, build_side, this_month

EXAMPLES_PER_OPERATION = 20
BUDGET_SECONDS = 120
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# No operation is left out: even the streamed CSV export matches its document.


def real_ids(side: Side, path: str) -> dict[str, Any]:
    """Path parameters naming real objects of the caller's practice, so the generated
    bodies reach the services instead of stopping at a 404."""
    ids: dict[str, Any] = {}
    if "{patient_id}" in path:
        ids["patient_id"] = side.patient.pk
    if "{id}" in path:
        inner = {
            "/api/patients/{id}/": side.patient.pk,
            "/api/patients/{id}/months/{month}/": side.patient.pk,
            "/api/patients/{id}/months/{month}/mdm/": side.patient.pk,
            "/api/patients/{patient_id}/conditions/{id}/": side.condition.pk,
            "/api/patients/{patient_id}/consents/{id}/revoke/": side.consent.pk,
            "/api/patients/{patient_id}/other-services/{id}/": side.other_service.pk,
            "/api/patients/{patient_id}/inpatient-stays/{id}/": side.stay.pk,
            "/api/time-entries/{id}/": side.time_entry.pk,
            "/api/worklist/{id}/": side.worklist_row.pk,
            "/api/users/{id}/": side.users[Role.RN].pk,
        }
        if path in inner:
            ids["id"] = inner[path]
    if "{month}" in path:
        month = side.closed_month if path.startswith("/api/billing-months/") else this_month()
        ids["month"] = f"{month:%Y-%m}"
    return ids


#: How a generated case is spoiled: a text of its body or query gets one of these, or
#: (for a JSON body) the body gets an array nested far past the parser's depth. (An
#: unpaired surrogate cannot be sent from here: the client encodes bodies as UTF-8.
#: tests/security/test_input_properties.py sends it as JSON's \ud800 escape.)
POISONS: dict[str, Any] = {
    "nul": lambda text: f"{text}\x00",
    "overlong": lambda text: text + "x" * 20_000,
}


def poisoned(case: schemathesis.Case, how: str, which: int) -> schemathesis.Case:
    """`case` with one of its texts (the `which`-th, in a stable order) spoiled `how`, or
    its JSON body nested 100 levels deep; unchanged when it has no text to spoil."""
    body = case.body if isinstance(case.body, dict) else None
    if how == "deep":
        if body is not None and case.media_type == "application/json":
            deep: Any = []
            for _ in range(100):
                deep = [deep]
            case.body = {**body, "nested": deep}
        return case
    texts = [("body", key) for key, value in sorted((body or {}).items()) if isinstance(value, str)]
    texts += [("query", key) for key, value in sorted(case.query.items()) if isinstance(value, str)]
    if not texts:
        return case
    where, key = texts[which % len(texts)]
    spoil = POISONS[how]
    if where == "body" and body is not None:
        case.body = {**body, key: spoil(body[key])}
    else:
        case.query = {**case.query, key: spoil(case.query[key])}
    return case


def poisoned_cases(operation: Any, path_parameters: dict[str, Any]) -> Any:
    return st.builds(
        poisoned,
        operation.as_strategy(path_parameters=path_parameters),
        st.sampled_from([*POISONS, "deep"]),
        st.integers(min_value=0, max_value=20),
    )


def assert_error_answers_documented(document: dict[str, Any]) -> None:
    """Without them every 400/401/403/404/409 below is "undocumented"."""
    answers = document["paths"]["/api/patients/{id}/"]["patch"]["responses"]
    assert {"400", "401", "403", "404", "409"} <= set(answers), (
        "the OpenAPI document lists no error answers: set REST_FRAMEWORK"
        '["DEFAULT_SCHEMA_CLASS"] = "ccm.openapi.AutoSchema" in ccm/settings/base.py'
    )


@pytest.mark.django_db
def test_the_openapi_document_declares_the_error_answers(client: Client) -> None:
    assert_error_answers_documented(client.get("/api/schema/", {"format": "json"}).json())


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", [Role.RN, Role.BILLING, Role.PRACTITIONER])
def test_the_api_keeps_its_schema_under_generated_input(role: str, live_server: Any) -> None:
    side = build_side("fuzzed", "Fuzzed")
    token = side.users[role].auth_token.key
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/?format=json")
    assert_error_answers_documented(schema.raw_schema)
    headers = {"Authorization": f"Token {token}"}
    started = time.monotonic()
    failures: list[str] = []
    skipped: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if time.monotonic() - started > BUDGET_SECONDS:
            skipped.append(operation.label)
            continue
        ids = real_ids(side, operation.path)
        strategy = st.one_of(
            operation.as_strategy(path_parameters=ids),
            operation.as_strategy(),
            operation.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE),
            poisoned_cases(operation, ids),
        )

        @given(case=strategy)
        @hypothesis.settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=False,
        )
        def exercise(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=live_server.url, headers=headers, checks=CHECKS)

        try:
            exercise()
        except (Exception, BaseExceptionGroup) as error:  # check failures, timeouts
            failures.append(f"{operation.label}:\n{error}")
    if skipped:
        warnings.warn(f"out of time before {skipped}", stacklevel=1)
    assert not failures, "\n\n".join(failures)
