"""Time-logging tests use the shared patient fixtures of tests/conftest.py."""

from __future__ import annotations

from tests.conftest import make_eligible

__all__ = ["make_eligible"]
