"""`close_month YYYY-MM [--practice SLUG]` (interface.md): closes the month synchronously
with the same code the Celery job runs, and prints {"month", "patients", "billable",
"total_amount"} (summed over the practices closed)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from billing.close import close_request, close_run_inline, close_summary
from billing.models import CloseRun
from ccm.models import Practice
from ccm.periods import month_start, parse_month


class Command(BaseCommand):
    help = "Close a billing month now (all practices, or one with --practice)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("month", help="YYYY-MM")
        parser.add_argument("--practice", help="the practice's slug (default: every practice)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            month = parse_month(options["month"])
        except ValueError as error:
            raise CommandError(f"month: {error}", returncode=2) from None
        if month >= month_start(timezone.localdate()):
            raise CommandError(
                f"month: {month:%Y-%m} has not ended; close it once it has.", returncode=2
            )
        practices = Practice.objects.order_by("pk")
        if options["practice"]:
            practices = practices.filter(slug=options["practice"])
            if not practices.exists():
                raise CommandError(f"practice: no practice {options['practice']!r}", returncode=2)
        patients = billable = 0
        total = Decimal("0.00")
        for practice in practices:
            run, _ = close_request(practice=practice, month=month, actor=None)
            if run is not None and run.status == CloseRun.Status.RUNNING:
                close_run_inline(run)
            summary = close_summary(practice, month)
            patients += summary.patients
            billable += summary.billable
            total += summary.total_amount
        self.stdout.write(
            json.dumps(
                {
                    "month": f"{month:%Y-%m}",
                    "patients": patients,
                    "billable": billable,
                    "total_amount": f"{total:.2f}",
                }
            )
        )
