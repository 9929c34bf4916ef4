"""The practice's fee schedule (billing-rules.md section 1: fees are data per year and
locality; the rulebook's amounts are only the shipped national defaults). Loaded from a
CSV with the header `code,year,locality,amount`; the engine takes the fees it is given."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction

from billing.models import FeeScheduleEntry
from billing.rules import RULEBOOKS
from billing.selectors import practice_fees, rulebook_for_month
from ccm.audit import audit_record
from ccm.limits import UNSTORABLE, is_storable
from ccm.models import Practice, Role, User

FEE_EDITORS = frozenset({Role.ADMIN, Role.BILLING})
FEE_CSV_HEADER = ("code", "year", "locality", "amount")
MAX_FEE_ROWS = 10_000


@dataclass(frozen=True)
class FeeRow:
    code: str
    year: int
    locality: str
    amount: Decimal


@dataclass(frozen=True)
class FeeImportResult:
    created: int
    updated: int
    unchanged: int


@dataclass(frozen=True)
class EffectiveFee:
    code: str
    description: str
    amount: Decimal
    shipped_default: Decimal
    source: str  # "practice" or "shipped default"


def _known_codes() -> set[str]:
    return {code for book in RULEBOOKS.values() for code in book.codes}


def _parse_row(number: int, row: dict[str, str | None]) -> FeeRow:
    def cell(name: str) -> str:
        return (row.get(name) or "").strip()

    where = f"row {number}"
    code = cell("code").upper()
    if code not in _known_codes():
        raise ValidationError(
            {
                "file": [
                    f"{where}, code: {code or '(empty)'} is not a CCM code "
                    f"({', '.join(sorted(_known_codes()))})."
                ]
            }
        )
    try:
        year = int(cell("year"))
    except ValueError:
        raise ValidationError(
            {"file": [f"{where}, year: {cell('year')!r} is not a year."]}
        ) from None
    if not 2000 <= year <= 2100:
        raise ValidationError({"file": [f"{where}, year: {year} is out of range."]})
    try:
        amount = Decimal(cell("amount").lstrip("$").replace(",", ""))
    except InvalidOperation:
        raise ValidationError(
            {"file": [f"{where}, amount: {cell('amount')!r} is not an amount."]}
        ) from None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise ValidationError(
            {
                "file": [
                    f"{where}, amount: {cell('amount')!r} must be a "
                    "non-negative amount with at most two decimals."
                ]
            }
        )
    locality = cell("locality")
    if len(locality) > 20:
        raise ValidationError({"file": [f"{where}, locality: longer than 20 characters."]})
    return FeeRow(code=code, year=year, locality=locality, amount=amount)


def parse_fee_csv(text: str) -> list[FeeRow]:
    """Parse the whole file first (all or nothing); errors name the row and the column."""
    if not is_storable(text):
        raise ValidationError({"file": [f"The file: {UNSTORABLE}"]})
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = tuple((name or "").strip().lower() for name in reader.fieldnames or ())
    if set(FEE_CSV_HEADER) - set(header):
        raise ValidationError(
            {
                "file": [
                    f"The header must be {','.join(FEE_CSV_HEADER)}; "
                    f"got {','.join(header) or 'nothing'}."
                ]
            }
        )
    reader.fieldnames = list(header)
    rows: list[FeeRow] = []
    seen: dict[tuple[str, int, str], int] = {}
    for number, raw in enumerate(reader, start=2):
        if len(rows) >= MAX_FEE_ROWS:
            raise ValidationError({"file": [f"More than {MAX_FEE_ROWS} rows."]})
        if not any((value or "").strip() for value in raw.values() if isinstance(value, str)):
            continue
        row = _parse_row(number, raw)
        key = (row.code, row.year, row.locality)
        if key in seen:
            raise ValidationError(
                {
                    "file": [
                        f"row {number} repeats row {seen[key]} "
                        f"({row.code} {row.year} {row.locality or 'national'})."
                    ]
                }
            )
        seen[key] = number
        rows.append(row)
    if not rows:
        raise ValidationError({"file": ["The file holds no fee rows."]})
    return rows


@transaction.atomic
def fee_schedule_import(*, practice: Practice, actor: User | None, text: str) -> FeeImportResult:
    """Load a fee-schedule CSV into the practice's schedule (insert or replace per code,
    year and locality); every changed amount is audited with its old value."""
    rows = parse_fee_csv(text)
    existing = {
        (e.code, e.year, e.locality): e
        for e in FeeScheduleEntry.objects.select_for_update(no_key=True).filter(practice=practice)
    }
    created = updated = unchanged = 0
    for row in rows:
        entry = existing.get((row.code, row.year, row.locality))
        if entry is None:
            entry = FeeScheduleEntry.objects.create(
                practice=practice,
                code=row.code,
                year=row.year,
                locality=row.locality,
                amount=row.amount,
            )
            created += 1
            before = None
        elif entry.amount != row.amount:
            before = {"amount": str(entry.amount)}
            entry.amount = row.amount
            entry.save(update_fields=["amount", "updated_at"])
            updated += 1
        else:
            unchanged += 1
            continue
        audit_record(
            actor=actor,
            action="fee_schedule.set",
            instance=entry,
            practice=practice,
            before=before,
            after={
                "code": row.code,
                "year": row.year,
                "locality": row.locality,
                "amount": str(row.amount),
            },
        )
    return FeeImportResult(created=created, updated=updated, unchanged=unchanged)


def effective_fees(practice: Practice, year: int) -> list[EffectiveFee]:
    """What the engine will use for the practice in `year`: its own amounts where loaded,
    else the rulebook's shipped default."""
    rulebook = rulebook_for_month(dt.date(year, 1, 1))
    own = practice_fees(practice, year)
    return [
        EffectiveFee(
            code=code,
            description=billing_code.description,
            amount=own.get(code, rulebook.fees[code]),
            shipped_default=rulebook.fees[code],
            source="practice" if code in own else "shipped default",
        )
        for code, billing_code in rulebook.codes.items()
    ]
