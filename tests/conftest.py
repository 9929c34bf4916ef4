"""Fixtures every test package shares: practices, a user per role, API clients."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from ccm.models import Practice, Role, User
from tests.factories import PracticeFactory, UserFactory


@pytest.fixture
def practice(db: None) -> Practice:
    return PracticeFactory(slug="home-practice", name="Home Practice")


@pytest.fixture
def other_practice(db: None) -> Practice:
    return PracticeFactory(slug="other-practice", name="Other Practice")


@pytest.fixture
def make_user(practice: Practice) -> Callable[..., User]:
    def make(role: str = Role.RN, **fields: object) -> User:
        fields.setdefault("practice", practice)
        return UserFactory(role=role, **fields)

    return make


@pytest.fixture
def nurse(make_user: Callable[..., User]) -> User:
    return make_user(Role.RN, credential="RN")


@pytest.fixture
def practitioner(make_user: Callable[..., User]) -> User:
    return make_user(Role.PRACTITIONER, credential="MD", npi="1234567893")


@pytest.fixture
def billing_user(make_user: Callable[..., User]) -> User:
    return make_user(Role.BILLING, credential="")


@pytest.fixture
def admin_user(make_user: Callable[..., User]) -> User:
    return make_user(Role.ADMIN, credential="")


@pytest.fixture
def front_desk(make_user: Callable[..., User]) -> User:
    return make_user(Role.FRONT_DESK, credential="")


@pytest.fixture
def outsider(other_practice: Practice) -> User:
    """A user of another practice: every object of `practice` must be 404 to them."""
    return UserFactory(role=Role.ADMIN, practice=other_practice)


@pytest.fixture
def api_client_for() -> Callable[[User | None], APIClient]:
    """An API client authenticated with the user's DRF token (None: anonymous)."""

    def make(user: User | None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Token {user.auth_token.key}")
        return client

    return make
