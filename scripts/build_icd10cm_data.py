"""Build patients/data/icd10cm.tsv.xz, the compact ICD-10-CM table patients/icd10.py reads.

simple_icd_10_cm parses the whole CMS tabular XML into a tree of Python objects when it
is imported (about 190 MB of memory for every process that imports it); validating a
condition's code needs, per code, only its description, its children and whether it is
a chapter or a block. This script writes exactly that, taken from simple_icd_10_cm's own
answers, so the two agree (tests/patients/test_icd10_data.py checks every code). ICD-10-CM
is published by CMS/NCHS and is in the US public domain.

Run it after upgrading simple-icd-10-cm:

    .venv/bin/python scripts/build_icd10cm_data.py

The file: one header line, then one line per code of the code set, sorted by code (bytes),
tab-separated: code, kind ("x" for a chapter or block, which is not a code a condition
can carry, else "c"), children (comma-separated, in the code set's order), description
(with backslash, tab, newline and carriage return escaped as \\\\, \\t, \\n and \\r).
"""

from __future__ import annotations

import lzma
import sys
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "patients" / "data" / "icd10cm.tsv.xz"
ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}


def escape(text: str) -> str:
    return "".join(ESCAPES.get(char, char) for char in text)


def table_lines() -> list[str]:
    """Every code simple_icd_10_cm knows, as the file's lines (without the header)."""
    import simple_icd_10_cm as icd

    lines = []
    for code in dict.fromkeys(icd.get_all_codes(with_dots=True)):
        if icd.is_chapter_or_block(code):
            lines.append(f"{code}\tx\t\t")
            continue
        children = icd.get_children(code)
        if any("," in child for child in children):
            raise SystemExit(f"{code}: a child code holds a comma")
        lines.append(f"{code}\tc\t{','.join(children)}\t{escape(icd.get_description(code))}")
    lines.sort(key=lambda line: line.split("\t", 1)[0].encode())
    return lines


def build() -> bytes:
    header = (
        f"# ICD-10-CM from simple-icd-10-cm {version('simple-icd-10-cm')}; "
        "written by scripts/build_icd10cm_data.py: code, kind, children, description"
    )
    text = "\n".join([header, *table_lines()]) + "\n"
    return lzma.compress(text.encode("utf-8"), preset=9 | lzma.PRESET_EXTREME)


def main() -> None:
    data = build()
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_bytes(data)
    print(f"wrote {TARGET.relative_to(ROOT)} ({len(data):,} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
