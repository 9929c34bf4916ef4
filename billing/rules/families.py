"""Family and units (billing-rules.md s. 4, "Family" and "Findings that advise").

One family per patient-month, chosen by the clinical facts (never by the fee), trying the
rulebook's families in order: complex (qualifying MDM and s >= 60 min), practitioner
(c = 0 and p >= 30 min), non_complex (s >= 20 min). Partial increments never count.
"""

from __future__ import annotations

from billing.rules import findings as rules
from billing.rules.counting import TimeCount
from billing.rules.decision import CountedSeconds, NextThreshold
from billing.rules.facts import Facts
from billing.rules.findings import Finding, duration_text, finding
from billing.rules.rulebooks import PRACTITIONER_TIME, Family, Rulebook


def family_seconds(family: Family, time: CountedSeconds) -> int:
    """The seconds a family counts: p for the practitioner family, s = c + p otherwise."""
    return time.practitioner if family.time == PRACTITIONER_TIME else time.total


class Units:
    """The family chosen and its add-on units. A plain class, never changed once made:
    next_threshold makes a few a month."""

    def __init__(self, family: Family, addon_units: int) -> None:
        self.family = family
        self.addon_units = addon_units

    @property
    def lines(self) -> tuple[tuple[str, int], ...]:
        base = ((self.family.base.code, 1),)
        if self.addon_units == 0:
            return base
        return (*base, (self.family.addon.code, self.addon_units))


def mdm_qualifies(facts: Facts, rulebook: Rulebook) -> bool:
    """Complex CCM: moderate or high MDM attested by the billing practitioner personally."""
    mdm = facts.mdm
    return (
        mdm is not None
        and mdm.level in rulebook.complex_mdm_levels
        and mdm.attested_by == facts.billing_practitioner
    )


def family_applies(family: Family, time: CountedSeconds, mdm_ok: bool) -> bool:
    """A family applies when its base threshold is met and its conditions hold."""
    return _applies(family, time.clinical_staff, time.practitioner, mdm_ok)


def _applies(family: Family, clinical_staff: int, practitioner: int, mdm_ok: bool) -> bool:
    if family.needs_mdm and not mdm_ok:
        return False
    if family.time == PRACTITIONER_TIME:
        return clinical_staff <= 0 and practitioner >= family.base.seconds
    return clinical_staff + practitioner >= family.base.seconds


def addon_units(family: Family, seconds: int) -> int:
    """Full increments beyond the base threshold, capped: partial increments never count."""
    units = max(0, (seconds - family.base.seconds) // family.addon.seconds)
    return units if family.addon.cap is None else min(units, family.addon.cap)


def choose_units(rulebook: Rulebook, time: CountedSeconds, mdm_ok: bool) -> Units | None:
    """The first family that applies and its units; None: NO_TIME_THRESHOLD."""
    return _choose(rulebook, time.clinical_staff, time.practitioner, mdm_ok)


def _choose(
    rulebook: Rulebook, clinical_staff: int, practitioner: int, mdm_ok: bool
) -> Units | None:
    for family in rulebook.families:
        if _applies(family, clinical_staff, practitioner, mdm_ok):
            if family.time == PRACTITIONER_TIME:
                return Units(family, addon_units(family, practitioner))
            return Units(family, addon_units(family, clinical_staff + practitioner))
    return None


def _next_step(family: Family, seconds: int) -> int | None:
    """The measure at which the family gains its next code or unit (None: cap reached)."""
    if seconds < family.base.seconds:
        return family.base.seconds
    step = (seconds - family.base.seconds) // family.addon.seconds + 1
    if family.addon.cap is not None and step > family.addon.cap:
        return None
    return family.base.seconds + step * family.addon.seconds


def next_threshold(rulebook: Rulebook, time: CountedSeconds, mdm_ok: bool) -> NextThreshold | None:
    """The next code or unit the month gains if the same kind of time keeps counting.

    More practitioner time in a month of practitioner time only, more clinical staff time
    otherwise. This is the chosen family's next add-on unit, unless another family's base
    is reached first or at the same time (e.g. 99487 at 60 min when MDM qualifies).
    None when every reachable cap is reached. Worked out on the seconds themselves (no
    CountedSeconds made for each "what if").
    """
    clinical_staff, practitioner = time.clinical_staff, time.practitioner
    more_practitioner = clinical_staff == 0 and practitioner > 0
    current = _choose(rulebook, clinical_staff, practitioner, mdm_ok)
    extras: set[int] = set()
    for family in rulebook.families:
        if family.needs_mdm and not mdm_ok:
            continue
        if family.time == PRACTITIONER_TIME and not more_practitioner:
            continue
        seconds = family_seconds(family, time)
        step = _next_step(family, seconds)
        if step is not None:
            extras.add(step - seconds)
    for extra in sorted(extras):
        if more_practitioner:
            gained = _choose(rulebook, clinical_staff, practitioner + extra, mdm_ok)
        else:
            gained = _choose(rulebook, clinical_staff + extra, practitioner, mdm_ok)
        if gained is None:
            continue
        minutes = -(-extra // 60)
        # The families of one rulebook: the same objects, compared by identity.
        if current is None or gained.family is not current.family:
            return NextThreshold(gained.family.base.code, minutes)
        if gained.addon_units > current.addon_units:
            return NextThreshold(gained.family.addon.code, minutes)
    return None


def no_time_threshold(rulebook: Rulebook, time: CountedSeconds) -> Finding:
    """NO_TIME_THRESHOLD: no family reaches its base threshold."""
    first = min((family.base for family in rulebook.families), key=lambda code: code.seconds)
    missing = first.seconds - time.total
    counted = f"Only {duration_text(time.total)} of CCM time" if time.total else "No CCM time"
    return finding(
        rules.NO_TIME_THRESHOLD,
        f"{counted} counted; {first.code} needs "
        f"{duration_text(first.seconds)} ({duration_text(missing)} more).",
    )


def _complex_family(rulebook: Rulebook) -> Family | None:
    return next((family for family in rulebook.families if family.needs_mdm), None)


def complex_no_mdm(
    facts: Facts,
    rulebook: Rulebook,
    time: CountedSeconds,
    units: Units,
    mdm_ok: bool,
    count: TimeCount,
) -> list[Finding]:
    """COMPLEX_NO_MDM: 60+ staff minutes without qualifying MDM are billed non-complex."""
    complex_ = _complex_family(rulebook)
    if complex_ is None or mdm_ok or units.family.time == PRACTITIONER_TIME:
        return []
    if time.total < complex_.base.seconds:
        return []
    mdm = facts.mdm
    attested = (
        f" ({facts.name(mdm.attested_by)} attested {mdm.level} MDM)"
        if mdm is not None and mdm.level not in rulebook.complex_mdm_levels
        else ""
    )
    billing = facts.name(facts.billing_practitioner)
    return [
        finding(
            rules.COMPLEX_NO_MDM,
            f"{duration_text(time.total)} of care-management time counted but no moderate or high "
            f"medical decision-making is attested by {billing}{attested}: billed as non-complex "
            f"CCM. Ask {billing} to assess whether the month qualifies for complex CCM "
            f"({complex_.base.code}).",
            count.entry_ids(),
        )
    ]


def complex_below_threshold(
    facts: Facts,
    rulebook: Rulebook,
    time: CountedSeconds,
    units: Units,
    mdm_ok: bool,
    count: TimeCount,
) -> list[Finding]:
    """COMPLEX_BELOW_60: qualifying MDM but under 60 min: billed under another family."""
    complex_ = _complex_family(rulebook)
    if complex_ is None or not mdm_ok or units.family is complex_:
        return []
    level = facts.mdm.level if facts.mdm is not None else "qualifying"
    return [
        finding(
            rules.COMPLEX_BELOW_60,
            f"{facts.name(facts.billing_practitioner)} attested {level} MDM, but only "
            f"{duration_text(time.total)} counted; complex CCM ({complex_.base.code}) needs "
            f"{duration_text(complex_.base.seconds)}: billed as "
            f"{units.family.name.replace('_', '-')} CCM.",
            count.entry_ids(),
        )
    ]


def mdm_not_billing_practitioner(facts: Facts) -> list[Finding]:
    """MDM_NOT_BILLING_PRACTITIONER: complex MDM cannot be delegated to someone else."""
    mdm = facts.mdm
    if mdm is None or mdm.attested_by == facts.billing_practitioner:
        return []
    return [
        finding(
            rules.MDM_NOT_BILLING_PRACTITIONER,
            f"The MDM attestation is by {facts.name(mdm.attested_by)}, not the billing "
            f"practitioner {facts.name(facts.billing_practitioner)}: it does not count (the "
            "medical decision-making of complex CCM cannot be delegated).",
        )
    ]


def addon_cap_reached(time: CountedSeconds, units: Units, count: TimeCount) -> list[Finding]:
    """ADDON_CAP_REACHED: the add-on cap is reached; say how much time is left unbilled."""
    family = units.family
    cap = family.addon.cap
    if cap is None or units.addon_units < cap:
        return []
    billed = family.base.seconds + cap * family.addon.seconds
    unbilled = family_seconds(family, time) - billed
    return [
        finding(
            rules.ADDON_CAP_REACHED,
            f"{family.addon.code} is capped at {cap} unit{'s' if cap != 1 else ''} a month and the "
            f"cap is reached: {duration_text(unbilled)} beyond the last billed unit cannot be "
            "billed.",
            count.entry_ids(),
        )
    ]
