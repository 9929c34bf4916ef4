"""`close_resume [--month YYYY-MM] [--practice SLUG] [--inline]`: resume stalled month
closes now, instead of waiting for beat's sweep (README: when a close stalls).

Every pending chunk of the running closes (of the month, of the practice) that no worker
holds is sent to the workers again, and the closes with nothing pending are finalised.
With --inline the chunks are closed in this process instead (the broker is down). Safe to
run any time, twice, or beside the workers: a chunk is written once. Prints
{"chunks", "finalized"}; exit status 1 when the broker cannot be reached.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from kombu.exceptions import OperationalError as KombuOperationalError

from billing.tasks import close_resume_now
from ccm.models import Practice
from ccm.periods import parse_month


class Command(BaseCommand):
    help = "Resume stalled month closes now: resend their pending chunks, or close them here."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", help="YYYY-MM (default: every month closing)")
        parser.add_argument("--practice", help="the practice's slug (default: every practice)")
        parser.add_argument(
            "--inline", action="store_true", help="close the chunks in this process"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        month = None
        if options["month"]:
            try:
                month = parse_month(options["month"])
            except ValueError as error:
                raise CommandError(f"month: {error}", returncode=2) from None
        practice = None
        if options["practice"]:
            practice = Practice.objects.filter(slug=options["practice"]).first()
            if practice is None:
                raise CommandError(f"practice: no practice {options['practice']!r}", returncode=2)
        try:
            resumed = close_resume_now(
                practice=practice, month=month, at_once=True, inline=options["inline"]
            )
        except (KombuOperationalError, OSError) as error:
            raise CommandError(
                f"the broker cannot be reached ({error}); run again with --inline to close "
                "the chunks in this process",
                returncode=1,
            ) from None
        self.stdout.write(json.dumps(asdict(resumed)))
