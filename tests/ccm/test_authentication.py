"""The API's token look-up (ccm.authentication) written out as one statement: it must load
what the ORM's select_related("user__practice") loads, and refuse what DRF refuses."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from ccm.authentication import token_with_user_and_practice
from ccm.models import User
from tests.factories import UserFactory


def _fields(instance: Any) -> dict[str, Any]:
    return {name: value for name, value in vars(instance).items() if name != "_state"}


def _same_instance(mine: Any, theirs: Any) -> None:
    assert type(mine) is type(theirs)
    assert _fields(mine) == _fields(theirs)
    assert (mine._state.db, mine._state.adding) == (theirs._state.db, theirs._state.adding)


@pytest.mark.parametrize("with_practice", [True, False])
def test_the_token_comes_with_its_user_and_practice_as_the_orm_loads_them(
    nurse: User, with_practice: bool
) -> None:
    user = nurse if with_practice else UserFactory(practice=None, is_superuser=True)
    orm = Token.objects.select_related("user__practice").get(key=user.auth_token.key)
    with CaptureQueriesContext(connection) as captured:
        token = token_with_user_and_practice(user.auth_token.key)
        assert token is not None
        _same_instance(token, orm)
        _same_instance(token.user, orm.user)
        if with_practice:
            _same_instance(token.user.practice, orm.user.practice)
        else:
            assert token.user.practice is None
        assert token.user.auth_token is token  # the reverse side, as select_related sets it
    assert len(captured.captured_queries) == 1


def test_an_unknown_key_finds_no_token(db: None) -> None:
    assert token_with_user_and_practice("0" * 40) is None
    assert token_with_user_and_practice("it's; not a key") is None


@pytest.mark.parametrize(
    ("change", "answer"),
    [
        ({"is_active": False}, "User inactive or deleted."),
        ({"must_change_password": True}, "Choose your own password on the web first"),
    ],
)
def test_a_token_of_an_inactive_or_unsettled_user_is_refused(
    nurse: User, change: dict[str, bool], answer: str
) -> None:
    key = nurse.auth_token.key
    User.objects.filter(pk=nurse.pk).update(**change)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.get("/api/time-entries/")
    assert response.status_code == 401
    assert answer in response.json()["detail"]


def test_an_unknown_token_is_refused(db: None) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {'0' * 40}")
    response = client.get("/api/time-entries/")
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid token."
