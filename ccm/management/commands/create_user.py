"""`create_user USERNAME --role ROLE --practice SLUG ...` (interface.md): creates the
practice if missing and the user, and prints {"id", "username", "role", "practice",
"token"} as one JSON object. Bad input: exit status 2, the field named on stderr."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandParser

from ccm.models import Role
from ccm.services import practice_get_or_create, user_create


class Command(BaseCommand):
    help = "Create a user (and its practice when missing); prints JSON with a DRF token."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, help=f"one of {', '.join(Role.values)}")
        parser.add_argument("--practice", required=True, help="the practice's slug")
        parser.add_argument("--password")
        parser.add_argument("--full-name", default="")
        parser.add_argument("--credential", default="")
        parser.add_argument("--npi", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["role"] not in Role.values:
            self._fail(
                {
                    "role": [
                        f"{options['role']!r} is not a role; choose one of "
                        f"{', '.join(Role.values)}."
                    ]
                }
            )
        try:
            practice = practice_get_or_create(slug=options["practice"])
            user = user_create(
                username=options["username"],
                role=options["role"],
                practice=practice,
                password=options["password"],
                full_name=options["full_name"],
                credential=options["credential"],
                npi=options["npi"],
            )
        except ValidationError as error:
            self._fail(
                error.message_dict if hasattr(error, "error_dict") else {"error": error.messages}
            )
        payload = {
            "id": user.pk,
            "username": user.username,
            "role": user.role,
            "practice": practice.slug,
            "token": user.auth_token.key,
        }
        self.stdout.write(json.dumps(payload))

    def _fail(self, errors: dict[str, list[str]]) -> NoReturn:
        for field, messages in errors.items():
            for message in messages:
                self.stderr.write(f"error: {field}: {message}")
        sys.exit(2)
