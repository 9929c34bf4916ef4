"""`generate_load --practice SLUG --patients N --entries M --month YYYY-MM [--seed S]`:
synthetic data of one practice's month at MSO scale (bench/loadgen.py), written with
COPY, the same data for the same seed. Prints the counts as JSON."""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bench.loadgen import LoadSize, generate_load
from ccm.periods import parse_month


class Command(BaseCommand):
    help = "Fill a practice with a month of synthetic CCM data (benchmarks)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--practice", required=True, help="the practice's slug (created)")
        parser.add_argument("--patients", type=int, required=True)
        parser.add_argument("--entries", type=int, required=True, help="time activities")
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            month = parse_month(options["month"])
        except ValueError as error:
            raise CommandError(f"month: {error}", returncode=2) from None
        if options["patients"] < 1 or options["entries"] < 0:
            raise CommandError("patients must be at least 1, entries at least 0", returncode=2)
        started = time.perf_counter()
        try:
            result = generate_load(
                practice_slug=options["practice"],
                size=LoadSize(
                    patients=options["patients"],
                    entries=options["entries"],
                    month=month,
                    seed=options["seed"],
                ),
            )
        except ValueError as error:
            raise CommandError(str(error), returncode=2) from None
        self.stdout.write(
            json.dumps(
                {
                    "practice": result.practice.slug,
                    "month": f"{month:%Y-%m}",
                    "seed": options["seed"],
                    **result.counts,
                    "seconds": round(time.perf_counter() - started, 1),
                }
            )
        )
