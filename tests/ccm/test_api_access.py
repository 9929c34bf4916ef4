"""Token auth, deny-by-default permissions and practice scoping on the users API
(the three-user check of style.md: owner, colleague, outsider)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from ccm.models import User

pytestmark = pytest.mark.django_db


def test_no_token_is_401(nurse: User) -> None:
    response = APIClient().get("/api/me/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")


def test_a_bad_token_is_401(nurse: User) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get("/api/users/").status_code == 401


def test_token_issuing_returns_the_users_token(nurse: User) -> None:
    response = APIClient().post(
        "/api/auth/token/", {"username": nurse.username, "password": "pw-for-tests-1"}
    )
    assert response.status_code == 200
    assert response.json()["token"] == nurse.auth_token.key


def test_three_user_check_on_users(
    nurse: User, billing_user: User, outsider: User, api_client_for: Callable[..., APIClient]
) -> None:
    url = f"/api/users/{nurse.pk}/"
    assert api_client_for(nurse).get(url).json()["username"] == nurse.username
    assert api_client_for(billing_user).get(url).status_code == 200
    assert api_client_for(outsider).get(url).status_code == 404


def test_lists_hold_only_the_callers_practice(
    nurse: User, billing_user: User, outsider: User, api_client_for: Callable[..., APIClient]
) -> None:
    names = {row["username"] for row in api_client_for(nurse).get("/api/users/").json()["results"]}
    assert names == {nurse.username, billing_user.username}
    foreign = {
        row["username"] for row in api_client_for(outsider).get("/api/users/").json()["results"]
    }
    assert foreign == {outsider.username}


def test_a_view_that_declares_no_roles_is_closed(nurse: User) -> None:
    from rest_framework.response import Response
    from rest_framework.test import APIRequestFactory, force_authenticate
    from rest_framework.views import APIView

    class Undeclared(APIView):
        def get(self, request: object) -> Response:
            return Response({"leaked": True})

    request = APIRequestFactory().get("/x/")
    force_authenticate(request, user=nurse)
    assert Undeclared.as_view()(request).status_code == 403


def test_a_user_without_a_practice_gets_nothing(db: None) -> None:
    loose = User.objects.create_user("loose", password="pw-loose-123")
    from rest_framework.authtoken.models import Token

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=loose).key}")
    assert client.get("/api/users/").status_code == 403
