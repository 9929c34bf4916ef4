"""AnyOf: membership in a list of integer keys as one bigint[] parameter (PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db.models import F

from ccm.lookups import AnyOf, bigint_array
from patients.models import Patient


def test_the_array_literal_holds_the_keys_as_digits() -> None:
    assert bigint_array([3, 1, 2]) == "{3,1,2}"
    assert bigint_array([]) == "{}"
    assert bigint_array(iter([7, True])) == "{7,1}"


def test_a_value_that_is_not_an_integer_never_reaches_the_sql() -> None:
    with pytest.raises(ValueError):
        bigint_array([1, "2}; DROP TABLE x; --"])


def test_any_of_finds_the_listed_rows_only(make_patient: Callable[..., Patient]) -> None:
    patients = [make_patient() for _ in range(4)]
    wanted = [patients[0].pk, patients[2].pk, 10**12]  # an id that does not exist
    found = Patient.objects.filter(AnyOf(F("pk"), wanted)).values_list("pk", flat=True)
    assert sorted(found) == sorted([patients[0].pk, patients[2].pk])
    assert not Patient.objects.filter(AnyOf(F("pk"), [])).exists()
    many = [p.pk for p in patients] + list(range(10**9, 10**9 + 20000))
    assert Patient.objects.filter(AnyOf(F("pk"), many)).count() == 4
