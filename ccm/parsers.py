"""The API's JSON parser: DRF's, with the bounds of issue 15 (a body nested 100,000 levels
deep answered 500 with a RecursionError, even to an anonymous token request).

A body deeper than settings.JSON_MAX_DEPTH is a 400 saying so; a string PostgreSQL cannot
store (a NUL, an unpaired surrogate), as a value or a key, is a 400 naming where it is:
`note`, `patients[2]`, `patient.chronic_conditions[0].icd10`. A body larger than
DATA_UPLOAD_MAX_MEMORY_SIZE is refused before it is read (Django's RequestDataTooBig,
answered by ccm.views.bad_request). REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] names it; a
view that lists its own parsers lists this one (tests/security/test_input_bounds.py
checks every view).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError

from ccm.limits import UNSTORABLE, is_storable


def _max_depth() -> int:
    return int(getattr(settings, "JSON_MAX_DEPTH", 32))


def too_deep(max_depth: int) -> ParseError:
    return ParseError(f"JSON parse error - the body is nested deeper than {max_depth} levels.")


def check_json(data: Any, *, max_depth: int) -> None:
    """Raise a 400 for a value nested deeper than `max_depth` (objects and arrays) or for
    unstorable text, naming its path; walked without recursion, so any depth is safe."""
    pending: list[tuple[Any, str, int]] = [(data, "", 1)]
    while pending:
        value, path, depth = pending.pop()
        if isinstance(value, str):
            if not is_storable(value):
                raise ValidationError({path or "body": [UNSTORABLE]})
            continue
        if isinstance(value, dict):
            items: Any = value.items()
        elif isinstance(value, list):
            items = ((f"[{index}]", item) for index, item in enumerate(value))
        else:
            continue
        if depth > max_depth:
            raise too_deep(max_depth)
        for key, item in items:
            if isinstance(value, dict):
                if not is_storable(key):
                    raise ValidationError({path or "body": [f"A key: {UNSTORABLE}"]})
                where = f"{path}.{key}" if path else key
            else:
                where = f"{path}{key}"
            pending.append((item, where, depth + 1))


class JSONParser(parsers.JSONParser):
    """DRF's JSONParser within the bounds above."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        max_depth = _max_depth()
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise too_deep(max_depth) from None
        check_json(data, max_depth=max_depth)
        return data
