"""The enrollment CSV of interface.md: one patient per row, columns mrn, first_name,
last_name, birth_date, sex, mbi, billing_practitioner_npi, icd10 (codes joined with
`;`), consent_date, consent_method; optionally the address and coverage columns
(address_line, city, state, zip, payer_name, payer_id, member_id). Columns may come in
any order; others are ignored (and listed). A condition's onset is the consent date
(CCM was agreed on once the conditions were documented), else the day of the import."""

from __future__ import annotations

import csv
import datetime as dt
import io

from patients.imports.records import (
    ConditionRecord,
    PatientRecord,
    Problems,
    Where,
    check_date,
    check_icd10,
    check_mbi,
    check_npi,
    check_sex,
)

REQUIRED_COLUMNS = (
    "mrn",
    "first_name",
    "last_name",
    "birth_date",
    "sex",
    "mbi",
    "billing_practitioner_npi",
    "icd10",
    "consent_date",
    "consent_method",
)
OPTIONAL_COLUMNS = (
    "address_line",
    "city",
    "state",
    "zip",
    "payer_name",
    "payer_id",
    "member_id",
)
CONSENT_METHODS = ("verbal", "written")
#: Our field names -> the CSV's, for the services' errors.
FIELD_COLUMNS = {
    "billing_practitioner": "billing_practitioner_npi",
    "date": "consent_date",
    "method": "consent_method",
}


def read_csv(text: str, *, today: dt.date) -> tuple[list[PatientRecord], Problems, list[str]]:
    """The file's patients, the problems of each line (line 1 is the header), and the
    columns it ignored."""
    problems = Problems()
    reader = csv.reader(io.StringIO(text))
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        problems.add(Where(line=1), "file", "The file is empty: it needs a header line.")
        return [], problems, []
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    for name in missing:
        problems.add(Where(line=1), name, f"The header has no {name} column.")
    if missing:
        return [], problems, []
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)
    ignored = [name for name in header if name and name not in known]
    records: list[PatientRecord] = []
    seen_mrns: dict[str, int] = {}
    line = reader.line_num + 1
    for cells in reader:
        where = Where(line=line)
        line = reader.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            problems.add(
                where, "file", f"{len(cells)} cells where the header has {len(header)} columns."
            )
            continue
        row = dict(zip(header, cells, strict=True))
        record = _record(row, where, problems, today)
        if record is None:
            continue
        if record.mrn in seen_mrns:
            problems.add(where, "mrn", f"MRN {record.mrn} is also on line {seen_mrns[record.mrn]}.")
            continue
        seen_mrns[record.mrn] = where.line or 0
        records.append(record)
    return records, problems, ignored


def _record(
    row: dict[str, str], where: Where, problems: Problems, today: dt.date
) -> PatientRecord | None:
    before = len(problems)
    texts = {name: row.get(name, "").strip() for name in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)}
    for name in ("mrn", "first_name", "last_name"):
        if not texts[name]:
            problems.add(where, name, "Required.")
    birth_date = check_date(
        problems, where, "birth_date", texts["birth_date"], today=today, required=True
    )
    npi = check_npi(problems, where, "billing_practitioner_npi", texts["billing_practitioner_npi"])
    claim_data = {
        "sex": check_sex(problems, where, "sex", texts["sex"]),
        "mbi": check_mbi(problems, where, "mbi", texts["mbi"]),
        **{name: texts[name] for name in OPTIONAL_COLUMNS if name in row},
    }
    consent = _consent(texts, where, problems, today)
    onset = consent[0] if consent else None
    conditions: list[ConditionRecord] = []
    for code in filter(None, (part.strip() for part in texts["icd10"].split(";"))):
        found = check_icd10(problems, where, "icd10", code)
        if found and found not in {c.icd10 for c in conditions}:
            conditions.append(ConditionRecord(found, onset, None, where, "icd10"))
    if len(problems) > before or birth_date is None:
        return None
    return PatientRecord(
        where=where,
        mrn=texts["mrn"],
        first_name=texts["first_name"],
        last_name=texts["last_name"],
        birth_date=birth_date,
        billing_practitioner_npi=npi,
        claim_data=claim_data,
        conditions=conditions,
        consent=consent,
        fields=FIELD_COLUMNS,
    )


def _consent(
    texts: dict[str, str], where: Where, problems: Problems, today: dt.date
) -> tuple[dt.date, str] | None:
    """Both consent columns or neither."""
    method = texts["consent_method"].lower()
    if not texts["consent_date"] and not method:
        return None
    day = check_date(
        problems, where, "consent_date", texts["consent_date"], today=today, required=True
    )
    if method not in CONSENT_METHODS:
        problems.add(
            where,
            "consent_method",
            "Required with a consent date: verbal or written."
            if not method
            else f"{method!r} is not a consent method: verbal or written.",
        )
        return None
    return (day, method) if day else None
