"""A practice filled by the bench's load generator (`manage.py generate_load`) for March
2026, for the tests that need a realistic month: its counts as the command prints them."""

from __future__ import annotations

import io
import json

from django.core.management import call_command


def generate_load(slug: str, *, patients: int, entries: int, seed: int = 1) -> dict[str, int]:
    out = io.StringIO()
    call_command(
        "generate_load",
        "--practice",
        slug,
        "--patients",
        str(patients),
        "--entries",
        str(entries),
        "--month",
        "2026-03",
        "--seed",
        str(seed),
        stdout=out,
    )
    counts: dict[str, int] = json.loads(out.getvalue())
    return counts
