"""GET /api/worklist/export/ answers by Accept (issue 15: `Accept: text/csv` got 406):
text/csv, text/*, */* and no Accept get the CSV, streamed in chunks, not a row per write;
a format it does not offer is a 406 and every error is JSON. The mechanism
(ccm.exports) serves the 837P and FHIR exports the same way."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.http import StreamingHttpResponse
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from ccm.exports import CsvFormat, ExportApi, FhirJsonFormat, StreamedFormat, X12Format
from ccm.models import User
from tests.billing.conftest import MonthScenario

pytestmark = pytest.mark.django_db
EXPORT = "/api/worklist/export/"


@pytest.fixture
def closed(month_scenario: MonthScenario, billing_user: User) -> str:
    from billing.close import close_request, close_run_inline

    run, _ = close_request(
        practice=billing_user.practice, month=month_scenario.month, actor=billing_user
    )
    assert run is not None
    close_run_inline(run)
    return f"{month_scenario.month:%Y-%m}"


def export(client: APIClient, month: str, accept: str | None, **params: str) -> Any:
    headers = {"HTTP_ACCEPT": accept} if accept is not None else {}
    return client.get(EXPORT, {"month": month, **params}, **headers)


def rows(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.mark.parametrize(
    "accept",
    [
        "text/csv",
        "*/*",
        None,
        "text/*",
        "text/csv; charset=utf-8",
        "application/json;q=0.5, text/csv",
        "text/html, */*;q=0.1",
    ],
)
def test_csv_is_answered_to_every_accept_that_takes_it(
    closed: str, billing_user: User, api_client_for: Callable[..., APIClient], accept: str | None
) -> None:
    response = export(api_client_for(billing_user), closed, accept)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"] == f'attachment; filename="worklist-{closed}.csv"'
    lines = rows(response)
    assert lines[0][:3] == ["mrn", "patient_name", "birth_date"] and len(lines) == 1 + 5


def test_format_csv_in_the_query_string_is_the_same_as_the_accept_header(
    closed: str, billing_user: User, api_client_for: Callable[..., APIClient]
) -> None:
    client = api_client_for(billing_user)
    by_query = export(client, closed, None, format="csv")
    assert by_query.status_code == 200
    assert rows(by_query) == rows(export(client, closed, "text/csv"))


def test_the_export_streams_in_chunks_not_a_row_per_write(
    closed: str, billing_user: User, api_client_for: Callable[..., APIClient]
) -> None:
    response = export(api_client_for(billing_user), closed, "text/csv")
    chunks = list(response.streaming_content)
    # The header at once (before PostgreSQL has sorted the lines), then the five claim
    # lines: far below a chunk, so one.
    assert [chunk.count(b"\n") for chunk in chunks] == [1, 5]


@pytest.mark.parametrize("accept", ["application/json", "application/pdf", "image/*"])
def test_a_format_not_offered_is_a_406_in_json(
    closed: str, billing_user: User, api_client_for: Callable[..., APIClient], accept: str
) -> None:
    response = export(api_client_for(billing_user), closed, accept)
    assert response.status_code == 406
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


def test_errors_are_json_whatever_was_asked(
    closed: str,
    billing_user: User,
    nurse: User,
    outsider: User,
    api_client_for: Callable[..., APIClient],
) -> None:
    """The three users: billing staff of the practice (the CSV), a nurse of the same
    practice (403, in JSON though she asked for CSV), billing staff of another practice
    (their own practice's month: no row of ours), anonymous (401)."""
    bad_month = export(api_client_for(billing_user), "2026-13", "text/csv")
    assert bad_month.status_code == 400 and "month" in bad_month.json()
    colleague = export(api_client_for(nurse), closed, "text/csv")
    assert colleague.status_code == 403 and colleague.json()["detail"]
    outsider.role = "billing"
    outsider.save()
    foreign = export(api_client_for(outsider), closed, "text/csv")
    assert foreign.status_code == 200 and len(rows(foreign)) == 1  # the header alone
    anonymous = export(api_client_for(None), closed, "text/csv")
    assert anonymous.status_code == 401 and anonymous["Content-Type"] == "application/json"


class ClaimsExportApi(ExportApi):
    """How the 837P and FHIR endpoints plug in: their formats, and pieces of text."""

    permission_classes = ()
    authentication_classes = ()
    renderer_classes = (X12Format, FhirJsonFormat)

    def get(self, request: Request) -> StreamingHttpResponse:
        export_format: StreamedFormat = request.accepted_renderer
        return self.stream([f"{export_format.format}:", "one", "two"], name="claims-2026-03")


@pytest.mark.parametrize(
    ("accept", "media_type", "body"),
    [
        ("application/edi-x12", "application/edi-x12", b"x12:onetwo"),
        ("application/fhir+json", "application/fhir+json", b"fhir:onetwo"),
        ("*/*", "application/edi-x12", b"x12:onetwo"),
        (None, "application/edi-x12", b"x12:onetwo"),
    ],
)
def test_each_format_answers_its_media_type(
    accept: str | None, media_type: str, body: bytes
) -> None:
    headers = {"HTTP_ACCEPT": accept} if accept is not None else {}
    response = ClaimsExportApi.as_view()(APIRequestFactory().get("/x/", **headers))
    assert response.status_code == 200
    assert response["Content-Type"] == media_type
    assert b"".join(response.streaming_content) == body
    extension = {"application/edi-x12": "x12", "application/fhir+json": "json"}[media_type]
    assert response["Content-Disposition"] == f'attachment; filename="claims-2026-03.{extension}"'


def test_a_format_an_endpoint_does_not_offer_is_a_406_in_json() -> None:
    request = APIRequestFactory().get("/x/", HTTP_ACCEPT="text/csv")
    response = ClaimsExportApi.as_view()(request)
    response.render()
    assert response.status_code == 406
    assert response["Content-Type"] == "application/json"


def test_chunks_gather_pieces_up_to_the_chunk_size() -> None:
    class Small(CsvFormat):
        chunk_bytes = 10

    assert list(Small().chunks(["abcd", "efgh", "ijkl", "mn"])) == [b"abcdefghijkl", b"mn"]
    assert list(Small().chunks([])) == []
