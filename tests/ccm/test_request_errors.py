"""Every error answers JSON under /api/ and a page elsewhere, never Django's bare one; a
transaction PostgreSQL picked as a deadlock victim is run again inside the request."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse
from django.test import Client, RequestFactory, override_settings
from django.urls import include, path

from ccm import urls as site_urls
from ccm import views
from ccm.audit import audit_record
from ccm.models import AuditEvent, User

attempts: list[int] = []


def _victim_then_write(request: HttpRequest, victim_times: int) -> JsonResponse:
    """Written by the attempt PostgreSQL does not pick as a victim (a real 40P01 raised by
    the server, as a deadlock's loser gets it); the body must read the same every time."""
    attempts.append(1)
    with transaction.atomic():
        audit_record(actor=None, action="test.attempt", object_type="x", object_id=len(attempts))
        if len(attempts) <= victim_times:
            with connection.cursor() as cursor:
                cursor.execute(
                    "DO $$ BEGIN RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01';"
                    " END $$"
                )
    return JsonResponse({"attempts": len(attempts), "body": request.body.decode()})


urlpatterns = [
    path("api/test/victim-twice/", lambda request: _victim_then_write(request, 2)),
    path("api/test/always-victim/", lambda request: _victim_then_write(request, 99)),
    path("test/always-victim/", lambda request: _victim_then_write(request, 99)),
    path("", include(site_urls)),
]


@pytest.fixture(autouse=True)
def fresh_attempts() -> None:
    attempts.clear()


@pytest.mark.django_db(transaction=True)  # no outer transaction: a retry can start afresh
@override_settings(ROOT_URLCONF=__name__)
def test_a_deadlock_victim_is_run_again_and_answers_as_if_nothing_happened() -> None:
    response = Client().post(
        "/api/test/victim-twice/", {"note": "sent once"}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json() == {"attempts": 3, "body": '{"note": "sent once"}'}
    assert AuditEvent.objects.filter(action="test.attempt").count() == 1  # two rolled back


@pytest.mark.server_error_expected  # a 503 is logged, as it should be
@pytest.mark.django_db(transaction=True)
@override_settings(ROOT_URLCONF=__name__, REQUEST_ATTEMPTS=3)
@pytest.mark.parametrize(("url", "is_api"), [("/api/test/always-victim/", True)])
def test_a_victim_every_time_is_told_to_send_again_not_a_500(url: str, is_api: bool) -> None:
    response = Client().post(url, {}, content_type="application/json")
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert len(attempts) == 3
    assert response.json() == {"detail": views.ERROR_DETAILS[503]}
    assert not AuditEvent.objects.filter(action="test.attempt").exists()


@pytest.mark.server_error_expected
@pytest.mark.django_db(transaction=True)
@override_settings(ROOT_URLCONF=__name__)
def test_a_page_that_is_a_victim_every_time_gets_the_error_page(nurse: User) -> None:
    client = Client()
    client.force_login(nurse)
    response = client.post("/test/always-victim/")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert views.ERROR_DETAILS[503] in response.content.decode()


def test_the_site_names_its_error_handlers() -> None:
    assert (site_urls.handler400, site_urls.handler403, site_urls.handler404) == (
        "ccm.views.bad_request",
        "ccm.views.permission_denied",
        "ccm.views.not_found",
    )
    assert site_urls.handler500 == "ccm.views.server_error"


HANDLERS: list[tuple[int, Callable[[HttpRequest], Any]]] = [
    (400, lambda request: views.bad_request(request, ValueError())),
    (403, lambda request: views.permission_denied(request, PermissionError())),
    (404, lambda request: views.not_found(request, LookupError())),
    (500, views.server_error),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("status", "handler"), HANDLERS)
def test_each_handler_answers_json_under_the_api(status: int, handler: Any) -> None:
    response = handler(RequestFactory().get("/api/patients/1/"))
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content)["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize(("status", "handler"), HANDLERS)
def test_each_handler_renders_its_template_else_the_error_page(
    status: int, handler: Any, tmp_path: Path, settings: Any
) -> None:
    request = RequestFactory().get("/patients/1/")
    request.user = User(username="visitor")  # type: ignore[assignment]
    page = handler(request).content.decode()
    assert 'data-testid="error-detail"' in page and "app.css" in page  # error.html
    (tmp_path / f"{status}.html").write_text("the {{ status }} template: {{ detail }}")
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    response = handler(request)
    assert response.status_code == status
    assert response.content.decode().startswith(f"the {status} template: ")


@pytest.mark.django_db
def test_an_error_page_that_cannot_be_drawn_falls_back_to_a_plain_one(
    tmp_path: Path, settings: Any
) -> None:
    (tmp_path / "500.html").write_text("{% url 'no-such-page' %}")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]
    response = views.server_error(RequestFactory().get("/patients/1/"))
    assert response.status_code == 500
    assert "<h1>Error 500</h1>" in response.content.decode()


@pytest.mark.django_db
@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_body_over_the_limit_is_a_400_that_says_so(nurse: User) -> None:
    api = Client(headers={"Authorization": f"Token {nurse.auth_token.key}"})
    response = api.post("/api/time-entries/", {"note": "x" * 2000}, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": "The request body is larger than 1000 bytes."}
    page = Client()
    page.force_login(nurse)
    response = page.post("/time/log/", {"note": "x" * 2000})
    assert response.status_code == 400
    assert "larger than 1000 bytes" in response.content.decode()
