from __future__ import annotations

import pytest
from django.utils import timezone

from billing.claims.claims import interchange_claims
from billing.claims.services import claim_interchange_create
from billing.claims.x12 import x12_837p
from tests.billing.claims.conftest import ClaimsMonth
from tests.billing.claims.x12_validation import pyx12_problems

pytestmark = pytest.mark.django_db


def test_smoke(claims_month: ClaimsMonth, practice, billing_user) -> None:
    interchange = claim_interchange_create(
        practice=practice, actor=billing_user, month=claims_month.scenario.month, kind="837p"
    )
    text = "".join(
        x12_837p(interchange, claims_month.provider, interchange_claims(interchange.pk), timezone.localtime())
    )
    print(text)
    print("\n".join(pyx12_problems(text)))
    assert 0
