"""`import_fees FILE --practice SLUG`: load a fee-schedule CSV (code,year,locality,amount)
into the practice's schedule; bad rows: exit status 2 naming the row and column."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing.fees import fee_schedule_import
from ccm.models import Practice


class Command(BaseCommand):
    help = "Import a fee schedule CSV (code,year,locality,amount) for a practice."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--practice", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        practice = Practice.objects.filter(slug=options["practice"]).first()
        if practice is None:
            raise CommandError(f"practice: no practice {options['practice']!r}", returncode=2)
        try:
            text = Path(options["file"]).read_text(encoding="utf-8-sig")
        except OSError as error:
            raise CommandError(f"file: {error}", returncode=2) from None
        try:
            result = fee_schedule_import(practice=practice, actor=None, text=text)
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                for message in messages:
                    self.stderr.write(f"error: {field}: {message}")
            sys.exit(2)
        self.stdout.write(json.dumps(result.__dict__))
