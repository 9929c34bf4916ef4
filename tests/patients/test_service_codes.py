"""The codes a service billed elsewhere may carry hold every code the engine's rulebooks
read (patients/service_codes.py lives below billing, so the two lists are held together
here), and the compatible services billing-rules.md names."""

from __future__ import annotations

from billing.rules.rulebooks import APCM_CODES, EXCLUSIVE_ANY, PCM_CODES, rulebook_for_year
from patients import service_codes


def test_every_code_the_engine_reads_is_known() -> None:
    rulebook = rulebook_for_year(2026)
    read = EXCLUSIVE_ANY | PCM_CODES | APCM_CODES | frozenset(rulebook.codes)
    read |= rulebook.exclusive_any | rulebook.exclusive_same_practitioner
    assert read <= service_codes.KNOWN_OTHER_SERVICE_CODES, (
        read - service_codes.KNOWN_OTHER_SERVICE_CODES
    )


def test_the_compatible_services_of_billing_rules_are_known() -> None:
    compatible = {"99495", "99496", "99457", "99458", "99484", "99492", "99493", "99494", "G0506"}
    assert compatible <= service_codes.KNOWN_OTHER_SERVICE_CODES


def test_nothing_else_is() -> None:
    assert len(service_codes.KNOWN_OTHER_SERVICE_CODES) == 6 + 4 + 3 + 2 + 20 + 2 + 2 + 1 + 3 + 1
    assert "';DROP--" not in service_codes.KNOWN_OTHER_SERVICE_CODES
    assert service_codes.unknown_code_message("';DROP--").startswith('"\';DROP--" is not')
