"""The month's claims as an ASC X12 005010X222A1 professional claim (837P) file.

One interchange (ISA/IEA) holding one functional group (GS/GE) and one transaction set
(ST/SE): the submitter (1000A, the practice) and receiver (1000B), one billing provider
(2000A/2010AA: the practice's NPI, ZIP+4 address and tax id), and per claim a
subscriber (2000B: the patient is the Medicare beneficiary, SBR02 18 "self", so there is
no separate patient loop), the payer (2010BB), the claim (2300 CLM: place of service,
frequency 1 original, 7 replacement or 8 void, with REF*F8 naming the claim it
corrects), its diagnoses (HI, ICD-10-CM, up to 12, the first principal), the rendering
provider (2310B: the billing practitioner, where their NPI differs from the billing
provider's), and its service lines (2400: LX, SV1 with the HCPCS code, charge, UN
units and up to four diagnosis pointers, DTP*472 the service date).

Streamed: the envelope first, then the claims a chunk at a time, the trailers last with
the segment count kept on the way; never the whole file in memory."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal
from functools import lru_cache

from billing.claims.claims import Claim
from billing.claims.models import ClaimInterchange
from ccm.models import BillingProvider, User
from patients.models import MEDICARE_PART_B

SEGMENT_END = "~\n"
ELEMENT = "*"
COMPONENT = ":"
VERSION = "005010X222A1"
MAX_DIAGNOSES = 12
#: The implementation guide recommends at most 5,000 claims per transaction set: a
#: larger month is split into several ST/SE sets in the one functional group.
CLAIMS_PER_TRANSACTION = 5000
MAX_POINTERS = 4
# The X12 basic and extended character sets, less our delimiters (* : ^ ~).
_NOT_ALLOWED = re.compile(r"[^A-Z0-9 !\"&'()+,\-./;?=%@\[\]_{}\\|<>#$]")
_SPACES = re.compile(r"\s+")
_ACCENTS = str.maketrans("ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝ", "AAAAAACEEEEIIIINOOOOOUUUUY")


#: Text that is already an X12 element: allowed characters, words one space apart.
_CLEAN_WORD = r"[A-Z0-9!\"&'()+,\-./;?=%@\[\]_{}\\|<>#$]+"
_CLEAN = re.compile(f"{_CLEAN_WORD}(?: {_CLEAN_WORD})*")


def element_text(value: object, max_length: int) -> str:
    """Text as an X12 element holds it: upper case, no delimiter, no control character,
    no accent, one space between words, at most `max_length` characters. Text that is
    already so (most names) is returned after one match."""
    text = str(value or "").upper()
    if len(text) <= max_length and _CLEAN.fullmatch(text):
        return text
    text = text.translate(_ACCENTS)
    return _SPACES.sub(" ", _NOT_ALLOWED.sub(" ", text)).strip()[:max_length].strip()


#: element_text for values a month's claims repeat (cities, payers, practitioners): the
#: last few thousand are kept.
x12_text = lru_cache(maxsize=4096)(element_text)


def x12_amount(amount: Decimal) -> str:
    """A monetary amount (X12 type R): no trailing zeros after the point (66.3, 144)."""
    text = f"{amount.quantize(Decimal('0.01')):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


#: x12_amount of the charges a month repeats (a fee schedule's few amounts).
_amount = lru_cache(maxsize=1024)(x12_amount)


def segment(*elements: object) -> str:
    """One segment, trailing empty elements dropped (X12 forbids them)."""
    values = [str(element) for element in elements]
    while values and values[-1] == "":
        values.pop()
    return ELEMENT.join(values)


def person_name(user: User) -> tuple[str, str]:
    """(last, first) of a practitioner, for NM103/NM104."""
    if user.last_name:
        return user.last_name, user.first_name
    words = [w for w in (user.full_name or user.username).split() if w.lower() != "dr."]
    return (words[-1], " ".join(words[:-1])) if words else (user.username, "")


def segment_text(*elements: str) -> str:
    """segment() of elements that are already text, with its terminator: one join, the
    trailing empty elements dropped only when the last is empty."""
    text = ELEMENT.join(elements)
    if text.endswith(ELEMENT):
        text = segment(*elements)
    return text + SEGMENT_END


def _dx(code: str) -> str:
    return code.replace(".", "")


@lru_cache(maxsize=4096)
def _diagnoses_text(diagnoses: tuple[str, ...]) -> tuple[str, str]:
    """A claim's HI segment (ICD-10-CM, the first principal, up to MAX_DIAGNOSES) and
    its service lines' diagnosis pointers (up to MAX_POINTERS); few combinations repeat
    over a month."""
    codes = [_dx(code) for code in diagnoses[:MAX_DIAGNOSES]]
    hi = ""
    if codes:
        hi = segment_text(
            "HI",
            *(
                COMPONENT.join(("ABK" if index == 0 else "ABF", code))
                for index, code in enumerate(codes)
            ),
        )
    pointers = COMPONENT.join(str(n) for n in range(1, min(len(codes), MAX_POINTERS) + 1))
    return hi, pointers


@lru_cache(maxsize=4096)
def _line_text(code: str, amount: Decimal, units: int, pointers: str) -> str:
    """SV1 of a service line (HCPCS code, charge, units, diagnosis pointers)."""
    return segment_text(
        "SV1", COMPONENT.join(("HC", code)), _amount(amount), "UN", str(units), "", "", pointers
    )


@lru_cache(maxsize=4096)
def _date_text(date: dt.date) -> str:
    return f"{date:%Y%m%d}"


@lru_cache(maxsize=4096)
def _address_text(city: str, state: str, zip_code: str) -> str:
    """N4 of an address: its city, state and ZIP repeat over a month."""
    return segment_text("N4", x12_text(city, 30), state, zip_code)


@lru_cache(maxsize=1024)
def _payer_text(payer_name: str, payer_id: str) -> tuple[str, str]:
    """SBR (Medicare Part B, else other) and the payer's NM1*PR (`payer_id` the patient's,
    else the billing provider's): a month has few payers."""
    medicare = payer_name.strip().casefold() == MEDICARE_PART_B.casefold()
    return (
        segment_text("SBR", "P", "18", "", "", "", "", "", "", "MB" if medicare else "CI"),
        segment_text(
            "NM1", "PR", "2", x12_text(payer_name, 60), "", "", "", "", "PI", x12_text(payer_id, 80)
        ),
    )


class _ClaimKinds(dict[str, str]):
    """CLM05, the place of service, "B" and the claim frequency, by frequency."""

    def __init__(self, place_of_service: str) -> None:
        super().__init__()
        self.place_of_service = place_of_service

    def __missing__(self, frequency: str) -> str:
        found = self[frequency] = COMPONENT.join((self.place_of_service, "B", frequency))
        return found


class X12Writer:
    """Writes one interchange; `segments_in_transaction` counts ST through SE."""

    def __init__(
        self, interchange: ClaimInterchange, provider: BillingProvider, now: dt.datetime
    ) -> None:
        self.interchange = interchange
        self.provider = provider
        self.now = now
        self.segments_in_transaction = 0
        self.hl = 0
        self.transactions = 0
        self.claims_in_transaction = 0
        self._practitioners: dict[int, str] = {}
        self._claim_kinds = _ClaimKinds(provider.place_of_service)

    @property
    def sender_id(self) -> str:
        return x12_text(self.provider.submitter_id or self.provider.npi, 15)

    @property
    def receiver_id(self) -> str:
        return x12_text(self.provider.receiver_id or self.provider.payer_id, 15)

    def _emit(self, segments: list[str]) -> str:
        self.segments_in_transaction += len(segments)
        return "".join(seg + SEGMENT_END for seg in segments)

    def envelope(self) -> str:
        control = self.interchange.control_number
        isa = segment(
            "ISA",
            "00",
            " " * 10,
            "00",
            " " * 10,
            "ZZ",
            self.sender_id.ljust(15),
            "ZZ",
            self.receiver_id.ljust(15),
            f"{self.now:%y%m%d}",
            f"{self.now:%H%M}",
            "^",
            "00501",
            control,
            "0",
            self.interchange.usage,
            COMPONENT,
        )
        gs = segment(
            "GS",
            "HC",
            self.sender_id,
            self.receiver_id,
            f"{self.now:%Y%m%d}",
            f"{self.now:%H%M}",
            self.interchange.pk,
            "X",
            VERSION,
        )
        return isa + SEGMENT_END + gs + SEGMENT_END

    @property
    def transaction_control_number(self) -> str:
        """ST02/SE02: the interchange's id and the set's number, so unique everywhere."""
        return f"{self.interchange.pk * 1000 + self.transactions:04d}"

    def header(self) -> str:
        """ST, BHT, submitter, receiver and the billing provider (2000A/2010AA)."""
        provider = self.provider
        self.transactions += 1
        self.segments_in_transaction = 0
        self.claims_in_transaction = 0
        self.hl = 1
        return self._emit(
            [
                segment("ST", "837", self.transaction_control_number, VERSION),
                segment(
                    "BHT",
                    "0019",
                    "00",
                    f"{self.interchange.control_number}{self.transactions:03d}",
                    f"{self.now:%Y%m%d}",
                    f"{self.now:%H%M}",
                    "CH",
                ),
                segment(
                    "NM1",
                    "41",
                    "2",
                    x12_text(provider.name, 60),
                    "",
                    "",
                    "",
                    "",
                    "46",
                    self.sender_id,
                ),
                segment("PER", "IC", x12_text(provider.name, 60), "TE", provider.phone),
                segment(
                    "NM1",
                    "40",
                    "2",
                    x12_text(provider.receiver_name, 60),
                    "",
                    "",
                    "",
                    "",
                    "46",
                    self.receiver_id,
                ),
                segment("HL", "1", "", "20", "1"),
                segment("PRV", "BI", "PXC", provider.taxonomy),
                segment(
                    "NM1",
                    "85",
                    "2",
                    x12_text(provider.name, 60),
                    "",
                    "",
                    "",
                    "",
                    "XX",
                    provider.npi,
                ),
                segment("N3", x12_text(provider.address_line, 55)),
                segment("N4", x12_text(provider.city, 30), provider.state, provider.zip),
                segment("REF", "EI", provider.tax_id),
            ]
        )

    def claims(self, claims: Iterable[Claim]) -> str:
        """The claims' segments, a new transaction set begun every
        CLAIMS_PER_TRANSACTION claims."""
        pieces: list[str] = []
        for claim in claims:
            if self.claims_in_transaction == CLAIMS_PER_TRANSACTION:
                pieces += [self.transaction_trailer(), self.header()]
            pieces.append(self._claim(claim))
            self.claims_in_transaction += 1
        return "".join(pieces)

    def _rendering_provider(self, practitioner: User) -> str:
        """2310B, the rendering provider: the billing practitioner when their NPI is not
        the billing provider's; once per practitioner."""
        found = self._practitioners.get(practitioner.pk)
        if found is None:
            found = ""
            if practitioner.npi != self.provider.npi:
                last, first = person_name(practitioner)
                found = segment_text(
                    "NM1",
                    "82",
                    "1",
                    x12_text(last, 60),
                    x12_text(first, 35),
                    "",
                    "",
                    "",
                    "XX",
                    practitioner.npi,
                )
            self._practitioners[practitioner.pk] = found
        return found

    def _claim(self, claim: Claim) -> str:
        """The claim's loops (2000B to 2400) as text; the segments counted."""
        self.hl += 1
        patient = claim.patient
        subscriber, payer = _payer_text(
            patient.payer_name, patient.payer_id or self.provider.payer_id
        )
        hi, pointers = _diagnoses_text(claim.diagnoses)
        rendering = self._rendering_provider(claim.practitioner)
        out = [
            f"HL*{self.hl}*1*22*0{SEGMENT_END}",
            subscriber,
            segment_text(
                "NM1",
                "IL",
                "1",
                element_text(patient.last_name, 60),
                element_text(patient.first_name, 35),
                "",
                "",
                "",
                "MI",
                element_text(patient.subscriber_id, 80),
            ),
            segment_text("N3", element_text(patient.address_line, 55)),
            _address_text(patient.city, patient.state, patient.zip),
            segment_text("DMG", "D8", _date_text(patient.birth_date), patient.sex),
            payer,
            segment_text(
                "CLM",
                claim.claim_id,
                _amount(claim.total),
                "",
                "",
                self._claim_kinds[claim.frequency],
                "Y",
                "A",
                "Y",
                "Y",
            ),
        ]
        count = 8 + len(claim.lines) * 3
        if claim.original_claim_id:
            out.append(segment_text("REF", "F8", claim.original_claim_id))
            count += 1
        if hi:
            out.append(hi)
            count += 1
        if rendering:
            out.append(rendering)
            count += 1
        service_date = f"DTP*472*D8*{_date_text(claim.service_date)}{SEGMENT_END}"
        for number, line in enumerate(claim.lines, start=1):
            out += [
                f"LX*{number}{SEGMENT_END}",
                _line_text(line.code, line.amount, line.units, pointers),
                service_date,
            ]
        self.segments_in_transaction += count
        return "".join(out)

    def transaction_trailer(self) -> str:
        """SE: the set's segment count, ST and SE included."""
        count = self.segments_in_transaction + 1
        return segment("SE", count, self.transaction_control_number) + SEGMENT_END

    def trailer(self) -> str:
        ge = segment("GE", self.transactions, self.interchange.pk)
        iea = segment("IEA", "1", self.interchange.control_number)
        return self.transaction_trailer() + ge + SEGMENT_END + iea + SEGMENT_END


def x12_837p(
    interchange: ClaimInterchange,
    provider: BillingProvider,
    claim_chunks: Iterable[list[Claim]],
    now: dt.datetime,
) -> Iterator[str]:
    """The 837P file, a chunk of claims per piece of text."""
    writer = X12Writer(interchange, provider, now)
    yield writer.envelope() + writer.header()
    for chunk in claim_chunks:
        yield writer.claims(chunk)
    yield writer.trailer()
