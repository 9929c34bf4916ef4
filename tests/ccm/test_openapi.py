"""The OpenAPI document at /api/schema/ is a valid OpenAPI 3 document."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from ccm.models import User

pytestmark = pytest.mark.django_db


def test_schema_validates_and_lists_the_api(nurse: User) -> None:
    client = APIClient()
    client.force_authenticate(nurse)
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    document = response.json()
    validate(document)
    assert document["openapi"].startswith("3.")
    assert "/api/users/{id}/" in document["paths"]


def test_docs_page_is_served(nurse: User) -> None:
    client = APIClient()
    client.force_authenticate(nurse)
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()
