# A frozen copy of billing/claims/x12.py as it was before the narrow-row, text-template
# writers (branch perf2-claims): the reference test_writers_identical.py compares the new
# writers' files with, byte for byte. Not used by the app.
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

from billing.claims.models import ClaimInterchange
from ccm.models import BillingProvider, User
from patients.models import Patient
from tests.billing.claims.reference.claims_before import Claim

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


@lru_cache(maxsize=4096)
def x12_text(value: object, max_length: int) -> str:
    """Text as an X12 element holds it: upper case, no delimiter, no control character,
    no accent, one space between words, at most `max_length` characters. The last few
    thousand are kept: a month's claims repeat their cities, payers and practitioners."""
    text = str(value or "").upper()
    text = text.translate(_ACCENTS)
    return _SPACES.sub(" ", _NOT_ALLOWED.sub(" ", text)).strip()[:max_length].strip()


def x12_amount(amount: Decimal) -> str:
    """A monetary amount (X12 type R): no trailing zeros after the point (66.3, 144)."""
    text = f"{amount.quantize(Decimal('0.01')):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


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


def _dx(code: str) -> str:
    return code.replace(".", "")


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
        segments: list[str] = []
        for claim in claims:
            if self.claims_in_transaction == CLAIMS_PER_TRANSACTION:
                pieces += [self._emit(segments), self.transaction_trailer(), self.header()]
                segments = []
            segments += self._claim(claim)
            self.claims_in_transaction += 1
        pieces.append(self._emit(segments))
        return "".join(pieces)

    def _claim(self, claim: Claim) -> list[str]:
        self.hl += 1
        patient: Patient = claim.row.patient
        payer_id = patient.payer_id or self.provider.payer_id
        out = [
            segment("HL", self.hl, "1", "22", "0"),
            segment(
                "SBR",
                "P",
                "18",
                "",
                "",
                "",
                "",
                "",
                "",
                "MB" if patient.is_medicare_part_b else "CI",
            ),
            segment(
                "NM1",
                "IL",
                "1",
                x12_text(patient.last_name, 60),
                x12_text(patient.first_name, 35),
                "",
                "",
                "",
                "MI",
                x12_text(patient.subscriber_id, 80),
            ),
            segment("N3", x12_text(patient.address_line, 55)),
            segment("N4", x12_text(patient.city, 30), patient.state, patient.zip),
            segment("DMG", "D8", f"{patient.birth_date:%Y%m%d}", patient.sex),
            segment(
                "NM1",
                "PR",
                "2",
                x12_text(patient.payer_name, 60),
                "",
                "",
                "",
                "",
                "PI",
                x12_text(payer_id, 80),
            ),
            segment(
                "CLM",
                claim.claim_id,
                x12_amount(claim.total),
                "",
                "",
                COMPONENT.join((self.provider.place_of_service, "B", claim.frequency)),
                "Y",
                "A",
                "Y",
                "Y",
            ),
        ]
        if claim.original_claim_id:
            out.append(segment("REF", "F8", claim.original_claim_id))
        diagnoses = [_dx(code) for code in claim.diagnoses[:MAX_DIAGNOSES]]
        if diagnoses:
            out.append(
                segment(
                    "HI",
                    *(
                        COMPONENT.join(("ABK" if index == 0 else "ABF", code))
                        for index, code in enumerate(diagnoses)
                    ),
                )
            )
        practitioner = claim.row.billing_practitioner
        if practitioner.npi != self.provider.npi:
            last, first = person_name(practitioner)
            out.append(
                segment(
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
            )
        pointers = COMPONENT.join(str(n) for n in range(1, min(len(diagnoses), MAX_POINTERS) + 1))
        for number, line in enumerate(claim.lines, start=1):
            out += [
                segment("LX", number),
                segment(
                    "SV1",
                    COMPONENT.join(("HC", line.code)),
                    x12_amount(line.amount),
                    "UN",
                    line.units,
                    "",
                    "",
                    pointers,
                ),
                segment("DTP", "472", "D8", f"{claim.service_date:%Y%m%d}"),
            ]
        return out

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
