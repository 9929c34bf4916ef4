"""`import_patients FILE --practice SLUG [--dry-run]` (interface.md, "Enrollment in
bulk"): a CSV of patients or a FHIR R4B Bundle, all rows or none. Prints one JSON object
{"created", "updated", "unchanged", "errors", ...}; exit status 1 when the file has
errors (nothing written), 2 when the file or practice cannot be found."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ccm.models import Practice
from patients.imports.services import patients_import


class Command(BaseCommand):
    help = "Enroll patients from a CSV or a FHIR Bundle: all rows or none."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="a CSV (interface.md columns) or a FHIR Bundle (JSON)")
        parser.add_argument("--practice", required=True, help="the practice's slug")
        parser.add_argument(
            "--dry-run", action="store_true", help="validate and count, write nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        practice = Practice.objects.filter(slug=options["practice"]).first()
        if practice is None:
            self.stderr.write(f"practice: no practice with slug {options['practice']!r}")
            sys.exit(2)
        try:
            content = Path(options["file"]).read_bytes()
        except OSError as error:
            self.stderr.write(f"file: {error}")
            sys.exit(2)
        result = patients_import(
            practice=practice, actor=None, content=content, dry_run=options["dry_run"]
        )
        self.stdout.write(json.dumps(result.as_json()))
        if result.errors:
            sys.exit(1)
