"""`manage.py ccm_evaluate [FILE]`: the billing engine on the command line (interface.md).

Reads one facts object, or a JSON list of them, from FILE (or stdin when FILE is absent
or "-") and prints the decision, or the list of decisions in the same order, as JSON.
A bad fact in single mode exits with status 2 and an error naming the field on stderr;
in list mode that item's decision is {"error": "<field>: <message>"} and the rest still
come out.
"""

from __future__ import annotations

import json
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError

from billing.rules import FactsError, evaluate_json

BAD_INPUT = 2


def _decision_or_error(facts: object) -> dict[str, object]:
    try:
        return evaluate_json(facts)
    except FactsError as err:
        return {"error": str(err)}


class Command(BaseCommand):
    help = "Evaluate CCM facts (one JSON object or a list) and print the billing decision(s)."
    requires_system_checks: list[str] = []
    # call_command(..., stdin=io.StringIO(...)) reads from that stream instead of sys.stdin.
    stealth_options = ("stdin",)

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "file", nargs="?", default="-", help='facts JSON file; "-" or absent: stdin'
        )

    def _read(self, file: str, stdin: TextIO | None) -> str:
        if file == "-":
            return (stdin or sys.stdin).read()
        try:
            return Path(file).read_text(encoding="utf-8")
        except OSError as err:
            raise CommandError(f"cannot read {file}: {err.strerror}", returncode=BAD_INPUT) from err

    def handle(self, *args: Any, **options: Any) -> None:
        text = self._read(options["file"], options.get("stdin"))
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise CommandError(f"invalid JSON: {err}", returncode=BAD_INPUT) from err
        if isinstance(data, list):
            result: object = [_decision_or_error(item) for item in data]
        else:
            try:
                result = evaluate_json(data)
            except FactsError as err:
                raise CommandError(str(err), returncode=BAD_INPUT) from err
        self.stdout.write(json.dumps(result, indent=2))
