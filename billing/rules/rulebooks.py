"""The rulebooks: codes, thresholds, caps, fees and service lists as data (billing-rules.md s. 1).

Rulebook "2026" is the default; "2025" differs only in fees. A practice's fee schedule is
applied with `Rulebook.with_fees`; payer-specific choices (`service_date`, caps) with
`dataclasses.replace`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from types import MappingProxyType
from typing import Final

from billing.rules import findings as rules
from billing.rules.classification import CHRONIC_CONDITIONS_SOURCE
from billing.rules.facts import Facts, FactsError, Month
from billing.rules.findings import Finding, finding

STAFF_TIME: Final = "staff"  # s = clinical staff + practitioner seconds
PRACTITIONER_TIME: Final = "practitioner"  # p, and no clinical staff time at all

MONTH_END: Final = "month_end"
THRESHOLD_MET: Final = "threshold_met"
SERVICE_DATE_POLICIES: Final = (MONTH_END, THRESHOLD_MET)

COMPLEX: Final = "complex"
NON_COMPLEX: Final = "non_complex"
PRACTITIONER: Final = "practitioner"

_CENT = Decimal("0.01")


@dataclass(frozen=True)
class BillingCode:
    """A CCM code: a base code (its threshold) or an add-on (one full increment)."""

    code: str
    family: str
    description: str
    seconds: int
    cap: int | None
    base: str | None = None  # for an add-on, the code it is never billed without


@dataclass(frozen=True)
class Family:
    """One family of codes: a base code and its add-on, counted on staff or practitioner time."""

    name: str
    base: BillingCode
    addon: BillingCode
    time: str
    #: Needs moderate or high MDM attested by the billing practitioner personally.
    needs_mdm: bool = False


@dataclass(frozen=True)
class Rulebook:
    name: str
    year: int
    source: str
    #: In the order the engine tries them (billing-rules.md s. 4, "Family").
    families: tuple[Family, ...]
    fees: Mapping[str, Decimal]
    service_date: str
    #: Excludes CCM in the month whoever billed it (home health, hospice, ESRD).
    exclusive_any: frozenset[str]
    #: PCM and APCM: exclude CCM by the same practitioner, an overlap warning by another.
    exclusive_same_practitioner: frozenset[str]
    initiating_visit_codes: frozenset[str]
    complex_mdm_levels: frozenset[str]
    prior_visit_days: int = 365
    max_diagnoses: int = 12
    #: CARE_PLAN_NOT_REVIEWED: the plan in force was last reviewed or revised more than
    #: this many days before the month's last day (revision 2).
    care_plan_review_days: int = 365
    #: ENTRY_LATE: an entry logged more than this many days after the day it records.
    late_entry_days: int = 7
    fee_source: str = ""
    #: The classification that says which conditions are chronic (CONDITION_NOT_CHRONIC).
    conditions_source: str = CHRONIC_CONDITIONS_SOURCE
    #: The calendar year the fees are of; None means `year` (the shipped fees). A practice's
    #: schedule loaded for a year is applied with `with_fees(fees, year=...)` (revision 2:
    #: a month is priced with the fees of its own year, FEES_FROM_OTHER_YEAR otherwise).
    fees_year: int | None = None

    def __post_init__(self) -> None:
        if self.service_date not in SERVICE_DATE_POLICIES:
            raise ValueError(f"unknown service_date policy {self.service_date!r}")
        missing = sorted(set(self.codes) - set(self.fees))
        if missing:
            raise ValueError(f"rulebook {self.name} has no fee for {', '.join(missing)}")

    @property
    def codes(self) -> Mapping[str, BillingCode]:
        """Every CCM code of the rulebook by code."""
        out: dict[str, BillingCode] = {}
        for family in self.families:
            out[family.base.code] = family.base
            out[family.addon.code] = family.addon
        return MappingProxyType(out)

    @cached_property
    def fingerprint(self) -> str:
        """A digest of every value of the rulebook, fees included, the same in every
        process (sets are sorted): what a stored decision names its rulebook by, so that
        it is worked out again when the rulebook changes, even under the same name."""
        text = json.dumps(_canonical(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def family(self, name: str) -> Family:
        for family in self.families:
            if family.name == name:
                return family
        raise KeyError(name)

    def fee(self, code: str) -> Decimal:
        return self.fees[code]

    @property
    def priced_year(self) -> int:
        """The calendar year whose fees this rulebook carries."""
        return self.year if self.fees_year is None else self.fees_year

    def with_fees(
        self, fees: Mapping[str, Decimal | int | str], *, year: int | None = None
    ) -> Rulebook:
        """A copy whose fees are replaced for the codes given (a practice's fee schedule
        of `year`, when given; else the fees keep this rulebook's year).

        Raises ValueError for a code the rulebook does not bill or a fee that is not a
        non-negative amount; floats are refused (money is Decimal).
        """
        new = dict(self.fees)
        for code, raw in fees.items():
            if code not in self.codes:
                raise ValueError(f"{code} is not a code of rulebook {self.name}")
            new[code] = _money(code, raw)
        fees_year = self.fees_year if year is None else year
        return dataclasses.replace(self, fees=MappingProxyType(new), fees_year=fees_year)


def _canonical(value: object) -> object:
    """The value as JSON-ready data that prints the same in every process."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, set | frozenset):
        return sorted(str(item) for item in value)
    if isinstance(value, tuple | list):
        return [_canonical(item) for item in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


def _money(code: str, raw: object) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, Decimal | int | str):
        raise ValueError(f"fee for {code} must be a Decimal, not {type(raw).__name__}")
    try:
        amount = Decimal(raw)
    except ArithmeticError as err:
        raise ValueError(f"fee for {code} is not an amount: {raw!r}") from err
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"fee for {code} must be a non-negative amount: {raw!r}")
    return amount.quantize(_CENT)


def _codes(first: int, last: int, prefix: str = "") -> frozenset[str]:
    return frozenset(f"{prefix}{n}" for n in range(first, last + 1))


CCM_FAMILIES: Final = (
    Family(
        name=COMPLEX,
        base=BillingCode(
            "99487",
            COMPLEX,
            "complex CCM, first 60 min of clinical staff time with moderate/high MDM",
            3600,
            1,
        ),
        addon=BillingCode(
            "99489", COMPLEX, "complex CCM, each further full 30 min", 1800, None, base="99487"
        ),
        time=STAFF_TIME,
        needs_mdm=True,
    ),
    Family(
        name=PRACTITIONER,
        base=BillingCode(
            "99491",
            PRACTITIONER,
            "CCM by the billing practitioner personally, first 30 min",
            1800,
            1,
        ),
        addon=BillingCode(
            "99437",
            PRACTITIONER,
            "CCM by the practitioner, each further full 30 min",
            1800,
            None,
            base="99491",
        ),
        time=PRACTITIONER_TIME,
    ),
    Family(
        name=NON_COMPLEX,
        base=BillingCode("99490", NON_COMPLEX, "CCM, first 20 min of clinical staff time", 1200, 1),
        addon=BillingCode(
            "99439", NON_COMPLEX, "CCM, each further full 20 min", 1200, 2, base="99490"
        ),
        time=STAFF_TIME,
    ),
)

EXCLUSIVE_ANY: Final = frozenset({"G0181", "G0182"}) | _codes(90951, 90970)
PCM_CODES: Final = _codes(99424, 99427)
APCM_CODES: Final = _codes(556, 558, prefix="G0")
INITIATING_VISIT_CODES: Final = (
    _codes(99202, 99205) | _codes(99212, 99215) | frozenset({"G0438", "G0439", "G0402"})
)

SOURCE: Final = (
    "CPT 99490, 99439, 99487, 99489, 99491, 99437 and G0506 descriptors; CMS "
    "'Frequently Asked Questions about Billing the Physician Fee Schedule for CCM Services' "
    "(consent, initiating visit within 365 days, care plan, one practitioner per month, "
    "practitioner time counts toward staff thresholds, add-on caps, service date at month end "
    "or when the threshold is met); Medicare Claims Processing Manual ch. 12 (exclusive "
    "services G0181, G0182, ESRD 90951-90970, PCM, APCM); as summarised in the project's four "
    "reference guides on CCM billing."
)


def _rulebook(year: int, fees: dict[str, str]) -> Rulebook:
    return Rulebook(
        name=str(year),
        year=year,
        source=SOURCE,
        fee_source=(
            f"CMS CY{year} Physician Fee Schedule, national non-facility amounts (approximate "
            "planning figures; load the practice's locality schedule with with_fees)"
        ),
        families=CCM_FAMILIES,
        fees=MappingProxyType({code: Decimal(amount) for code, amount in fees.items()}),
        service_date=MONTH_END,
        exclusive_any=EXCLUSIVE_ANY,
        exclusive_same_practitioner=PCM_CODES | APCM_CODES,
        initiating_visit_codes=INITIATING_VISIT_CODES,
        complex_mdm_levels=frozenset({"moderate", "high"}),
    )


RULEBOOKS: Final[Mapping[str, Rulebook]] = MappingProxyType(
    {
        "2025": _rulebook(
            2025,
            {
                "99490": "60.49",
                "99439": "45.93",
                "99487": "131.65",
                "99489": "70.52",
                "99491": "82.16",
                "99437": "57.58",
            },
        ),
        "2026": _rulebook(
            2026,
            {
                "99490": "66.30",
                "99439": "50.56",
                "99487": "144.00",
                "99489": "78.00",
                "99491": "89.00",
                "99437": "65.00",
            },
        ),
    }
)


def rulebook_for_year(year: int) -> Rulebook:
    """The shipped rulebook of `year`; a year with none takes the nearest shipped one, the
    newest earlier year, else the oldest (billing-rules.md s. 1 and 2; the engine then
    says so with FEES_FROM_OTHER_YEAR)."""
    book = RULEBOOKS.get(str(year))
    if book is not None:
        return book
    earlier = [book for book in RULEBOOKS.values() if book.year < year]
    if earlier:
        return max(earlier, key=lambda book: book.year)
    return min(RULEBOOKS.values(), key=lambda book: book.year)


def rulebook_for(facts: Facts) -> Rulebook:
    """The rulebook the facts name; else the one of the month's year, or the nearest."""
    if facts.rulebook is not None:
        if facts.rulebook not in RULEBOOKS:
            raise unknown_rulebook(facts.rulebook)
        return RULEBOOKS[facts.rulebook]
    return rulebook_for_year(facts.month.year)


def unknown_rulebook(name: str) -> FactsError:
    known = ", ".join(sorted(RULEBOOKS))
    return FactsError("rulebook", f"unknown rulebook {name!r} (known: {known})")


def fees_from_other_year(rulebook: Rulebook, month: Month) -> list[Finding]:
    """FEES_FROM_OTHER_YEAR: a month is priced with the fees of its own year (the
    practice's schedule of that year, else the shipped rulebook of that year); when the
    rulebook's fees are of another year, say so, naming the year used (s. 1)."""
    if rulebook.priced_year == month.year:
        return []
    return [
        finding(
            rules.FEES_FROM_OTHER_YEAR,
            f"{month.name} is priced with the fees of {rulebook.priced_year} (rulebook "
            f"{rulebook.name}), not of {month.year}: no {month.year} fees were given. Load "
            f"the practice's {month.year} fee schedule or check the amounts before submitting.",
        )
    ]
