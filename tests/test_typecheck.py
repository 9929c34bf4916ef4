"""mypy passes in strict mode on the engine (billing/rules), the services and the
selectors (style.md), with the django-stubs plugin configured in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STRICT_TARGETS = [
    "billing/rules",
    "ccm/services.py",
    "ccm/selectors.py",
    "ccm/capabilities.py",
    "patients/services.py",
    "timelog/services.py",
    "billing/services.py",
    "patients/selectors.py",
    "timelog/selectors.py",
    "billing/selectors.py",
    "ccm/lookups.py",
    "billing/call_progress.py",
    "billing/live_decisions.py",
    "timelog/timer/services.py",
    "timelog/timer/selectors.py",
    "timelog/timer/span.py",
    "patients/imports/services.py",
    "billing/claims/services.py",
    "billing/claims/archives.py",
    "billing/claims/claims.py",
    "billing/claims/readiness.py",
]


@pytest.mark.slow
def test_mypy_strict_passes() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("mypy")), "--strict", *STRICT_TARGETS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
