"""The close writes its findings and diagnoses as JSON text of its own (billing.close):
it must be json.dumps' text byte for byte, whatever the strings hold."""

from __future__ import annotations

import json

import pytest

from billing.close import _findings_text, _strings_text
from billing.rules import Finding

STRINGS = [
    "",
    "plain",
    'a "quoted" note\\ with a backslash',
    "tab\tnew line\ncarriage\rbell\x07 and \x7f",
    "Dr. Zoë Ångström, MD … 9 min 43 s — “curly” ☃",
    "astral \U0001f600 and a lone surrogate \ud800",
    "</script><b>&amp;</b>",
]


@pytest.mark.parametrize("text", STRINGS)
def test_a_string_list_is_json_dumps_byte_for_byte(text: str) -> None:
    for values in ([], [text], [text, "E11.9", text]):
        assert _strings_text(values) == json.dumps(list(values))
        assert _strings_text(tuple(values)) == json.dumps(list(values))


def test_findings_are_json_dumps_byte_for_byte() -> None:
    findings = [
        Finding(rule, severity, message, entries)
        for rule, severity, message, entries in [
            ("TIME_BELOW_MINIMUM", "block", "Only 12 min of clinical staff time.", ()),
            ("ENTRY_EXCLUDED_PROGRAM", "info", STRINGS[4], ("a245616", "a389944")),
            ("ENTRY_NOTE_REPEATED", "warn", STRINGS[2] + STRINGS[3], ("a1",)),
            ("X", "warn", STRINGS[5] + STRINGS[6], ("a1", "a2", "a3")),
        ]
    ]
    for chosen in ([], findings[:1], findings):
        expected = json.dumps(
            [
                {
                    "rule": f.rule,
                    "severity": f.severity,
                    "message": f.message,
                    "entries": list(f.entries),
                }
                for f in chosen
            ]
        )
        assert _findings_text(chosen) == expected
        assert _findings_text(tuple(chosen)) == expected
