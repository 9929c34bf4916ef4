"""The claims exports read their chunks one ahead on a second connection (ccm.read_ahead)
when no transaction is open, as in a request: the files are the ones read in turn, byte
for byte, for any chunk size, and still validate."""

from __future__ import annotations

import json

import pytest
from django.db import transaction
from django.utils import timezone

from billing.claims.claims import interchange_claims
from billing.claims.fhir import fhir_bundle
from billing.claims.services import claim_interchange_create
from billing.claims.x12 import x12_837p
from ccm.models import Practice, User
from tests.billing.claims.conftest import ClaimsMonth
from tests.billing.claims.fhir_validation import fhir_problems
from tests.billing.claims.x12_validation import pyx12_problems

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("chunk_size", [1, 2, 2000])
def test_files_read_ahead_are_the_files_read_in_turn(
    claims_month: ClaimsMonth, billing_user: User, practice: Practice, chunk_size: int
) -> None:
    provider, month = claims_month.provider, claims_month.scenario.month
    x12 = claim_interchange_create(practice=practice, actor=billing_user, month=month, kind="837p")
    fhir = claim_interchange_create(practice=practice, actor=billing_user, month=month, kind="fhir")
    now = timezone.now()

    def files() -> tuple[str, str]:
        return (
            "".join(x12_837p(x12, provider, interchange_claims(x12.pk, chunk_size), now)),
            "".join(fhir_bundle(fhir, provider, interchange_claims(fhir.pk, chunk_size))),
        )

    assert not transaction.get_connection().in_atomic_block
    ahead = files()
    with transaction.atomic():  # a second connection would not see this one's writes
        in_turn = files()
    assert ahead == in_turn
    assert ahead[0].count("CLM*") == x12.claims == 3
    assert pyx12_problems(ahead[0]) == []
    assert fhir_problems(json.loads(ahead[1])) == []
