"""pyx12's validation of an 837P against its 005010X222A1 map: every error it records
(interchange, group, transaction, segment, element) and every warning or error it logs,
as lines of text. An empty list is a clean file."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pyx12.params
import pyx12.x12n_document


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"log {record.levelname}: {record.getMessage()}")


def _errors(node: Any, path: str) -> list[str]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "errors" and isinstance(value, list):
                found += [f"{path}: {json.dumps(error)}" for error in value]
            else:
                found += _errors(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found += _errors(item, f"{path}[{index}]")
    return found


def pyx12_problems(text: str) -> list[str]:
    """Every problem pyx12 finds in `text` (an X12 file)."""
    handler = _Collect()
    logger = logging.getLogger("pyx12")
    logger.addHandler(handler)
    try:
        params = pyx12.params.params()
        ack, errors = io.StringIO(), io.StringIO()
        valid = pyx12.x12n_document.x12n_document(
            params, io.StringIO(text), fd_997=ack, fd_html=None, fd_json=errors
        )
    finally:
        logger.removeHandler(handler)
    problems = handler.lines + _errors(json.loads(errors.getvalue() or "{}"), "")
    if "IK5*A" not in ack.getvalue().replace("~\n", "~") and "IK5*A~" not in ack.getvalue():
        problems.append(f"999 does not accept the transaction: {ack.getvalue()[-300:]}")
    if not valid and not problems:
        problems.append("pyx12 says the file is not valid")
    return problems
