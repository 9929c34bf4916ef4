"""`audit_verify [--practice SLUG]`: checks the audit log's hash chain and prints one JSON
line per tampered or missing event; exit status 1 when any is found, 0 when intact."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ccm.audit_chain import audit_chain_problems
from ccm.models import AuditEvent, Practice


class Command(BaseCommand):
    help = "Verify the audit log's hash chain; report any tampered row."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--practice", help="only this practice's chain (slug)")

    def handle(self, *args: Any, **options: Any) -> None:
        practice_id = None
        if options["practice"]:
            practice = Practice.objects.filter(slug=options["practice"]).first()
            if practice is None:
                raise CommandError(f"practice: no practice {options['practice']!r}", returncode=2)
            practice_id = practice.pk
        try:
            problems = audit_chain_problems(practice_id)
        except RuntimeError as error:
            raise CommandError(str(error), returncode=2) from None
        for problem in problems:
            self.stdout.write(json.dumps(problem.__dict__))
        checked = AuditEvent.objects.filter(
            **({"practice_id": practice_id} if practice_id else {})
        ).count()
        summary = {"checked": checked, "problems": len(problems)}
        self.stdout.write(json.dumps(summary))
        if problems:
            sys.exit(1)
