"""Build billing/rules/data/cci-icd10cm-2019.1.txt.xz, the chronic-condition classification
the billing engine ships (billing rule CONDITION_NOT_CHRONIC; billing/rules/classification.py).

The source is AHRQ's HCUP Chronic Condition Indicator (CCI) for ICD-10-CM, release 2019.1,
as a CSV of `icd10cm,chronic,body_system` (the code without its dot; 1 chronic, 0 not).
The engine needs only the code and its indicator, so the file keeps exactly that: one
header line, then one fixed-width record per code, sorted by code (bytes): the code padded
with spaces to 7 characters, the indicator ("1" or "0") and a newline. Fixed-width records
let the engine binary-search the decompressed bytes without building 72,000 objects.

Run it when AHRQ publishes a new release (and update CCI_VERSION in classification.py):

    .venv/bin/python scripts/build_cci_data.py PATH/TO/THE-CCI.csv
"""

from __future__ import annotations

import csv
import lzma
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "billing" / "rules" / "data" / "cci-icd10cm-2019.1.txt.xz"
HEADER = (
    "# AHRQ HCUP Chronic Condition Indicator for ICD-10-CM, release 2019.1: code without "
    "its dot (padded to 7), chronic (1) or not (0); written by scripts/build_cci_data.py\n"
)
CODE_WIDTH = 7
_CODE = re.compile(r"^[A-Z][0-9][0-9A-Z][0-9A-Z]{0,4}$")


def records(csv_path: Path) -> list[str]:
    """The file's records (without the header), sorted by code, checked as they are read."""
    seen: dict[str, str] = {}
    with csv_path.open(newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            code, chronic = row["icd10cm"].strip().upper(), row["chronic"].strip()
            if not _CODE.match(code) or chronic not in ("0", "1"):
                raise SystemExit(f"{csv_path}:{line}: unexpected row {row!r}")
            if seen.get(code, chronic) != chronic:
                raise SystemExit(f"{csv_path}:{line}: {code} listed twice with two indicators")
            seen[code] = chronic
    return [f"{code.ljust(CODE_WIDTH)}{seen[code]}\n" for code in sorted(seen, key=str.encode)]


def build_text(csv_path: Path) -> bytes:
    """The decompressed content of the data file."""
    return (HEADER + "".join(records(csv_path))).encode("ascii")


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    data = lzma.compress(build_text(Path(sys.argv[1])), preset=9 | lzma.PRESET_EXTREME)
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_bytes(data)
    print(f"wrote {TARGET.relative_to(ROOT)} ({len(data):,} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
