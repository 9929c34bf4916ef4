"""The worklist CSV written by PostgreSQL (COPY, billing.worklist.export_csv_chunks) is
byte for byte the file of the Python writer it replaced (export_csv_lines, kept as the
reference): on the demo's months, on generated data, and on cells built to trip a CSV
writer (commas, quotes, CR and LF, formulas, blank names, corrections and voids), under
every filter the API takes. Streamed in chunks, never a row per chunk; a download cut
short leaves the connection usable."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Generator

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from billing.close import close_request, close_run_inline
from billing.models import WorklistRow, WorklistStatus
from billing.worklist import (
    EXPORT_CHUNK_BYTES,
    EXPORT_HEADER,
    _binary_copy_values,
    _findings_cell,
    export_csv_chunks,
    export_csv_lines,
    neutralise,
    worklist_rows,
)
from ccm.models import AuditEvent, Practice, User
from patients.models import Patient
from tests.billing.conftest import MonthScenario
from tests.generated_load import generate_load

pytestmark = pytest.mark.django_db


def generated_practice(slug: str, *, patients: int, entries: int, seed: int) -> Practice:
    """A practice filled by the bench's load generator for March 2026."""
    generate_load(slug, patients=patients, entries=entries, seed=seed)
    return Practice.objects.get(slug=slug)


def close(practice: Practice, month: object) -> None:
    run, _ = close_request(practice=practice, month=month, actor=None)  # type: ignore[arg-type]
    assert run is not None
    close_run_inline(run)


def by_python(rows: object) -> bytes:
    return "".join(export_csv_lines(rows)).encode()  # type: ignore[arg-type]


def by_copy(rows: object) -> bytes:
    return b"".join(export_csv_chunks(rows))  # type: ignore[arg-type]


def assert_same_file(practice: Practice, month: object, **filters: object) -> bytes:
    rows = worklist_rows(practice=practice, month=month, **filters)  # type: ignore[arg-type]
    expected = by_python(rows)
    assert by_copy(rows) == expected, filters
    return expected


FILTERS: list[dict[str, object]] = [
    {},
    {"status": "ready"},
    {"status": "needs_review"},
    {"status": "needs_correction"},
    {"status": "not_billable"},
    {"tier": "complex"},
    {"tier": "none"},
    {"search": "a"},
    {"search": "zz-nobody"},
]


def test_the_demo_months_export_the_same_file() -> None:
    call_command("seed_demo", stdout=io.StringIO())
    practice = Practice.objects.get(slug="demo")
    month = timezone.localdate().replace(day=1)
    close(practice, month)
    months = sorted(
        set(WorklistRow.objects.filter(practice=practice).values_list("month", flat=True))
    )
    assert month in months
    lines = 0
    for each in months:
        versions = set(
            WorklistRow.objects.filter(practice=practice, month=each).values_list(
                "version", flat=True
            )
        )
        for version in versions:
            lines += assert_same_file(practice, each, version=version).count(b"\r\n") - 1
        for filters in FILTERS:
            assert_same_file(practice, each, **filters)
    assert lines > 5


def test_generated_data_with_cells_that_trip_a_csv_writer_exports_the_same_file() -> None:
    practice = generated_practice("gen-export", patients=60, entries=900, seed=5)
    month = dt.date(2026, 3, 1)
    close(practice, month)
    assert_same_file(practice, month)

    patients = list(Patient.objects.filter(practice=practice).order_by("pk"))
    awkward = [
        ('Smith, "Jr"', "Ann"),
        ("=HYPERLINK(1)", "Bob"),
        ("+Plus", "-Minus"),
        ("@At", "\tTab"),
        ("Line\nBreak", "Carriage\rReturn"),
        ("Crlf\r\nName", ""),
        ("Ünïcødé 名前", "Zoë"),
        ("O'Neil", "  spaced  "),
    ]
    for patient, (last, first) in zip(patients, awkward, strict=False):
        Patient.objects.filter(pk=patient.pk).update(last_name=last, first_name=first)
    Patient.objects.filter(pk=patients[8].pk).update(mrn='-001,"x"')
    staff = User.objects.filter(practice=practice, role="practitioner").order_by("pk")
    staff.filter(pk=staff[0].pk).update(full_name="", first_name=" \u00a0", last_name="\u2003")
    staff.filter(pk=staff[1].pk).update(
        full_name="", first_name="Dana", last_name="Lee", credential=""
    )
    staff.filter(pk=staff[2].pk).update(full_name='Dr. Comma, Quote "Q"', credential="=MD")

    rows = WorklistRow.objects.filter(practice=practice, month=month).order_by("pk")
    billable = rows.filter(billable=True)
    one, two, three = billable[0], billable[1], billable[2]
    WorklistRow.objects.filter(pk=one.pk).update(
        findings=[
            {"rule": "R1", "message": 'said "hello", then\nleft'},
            {"rule": "R2", "message": "carriage\r\nreturn; semi"},
        ],
        diagnoses=["E11.9", "=I10"],
    )
    WorklistRow.objects.filter(pk=two.pk).update(
        status=WorklistStatus.NEEDS_CORRECTION,
        correction_reason='lines changed, 99490 "added"',
        findings=[],
        service_date=None,
    )
    WorklistRow.objects.filter(pk=three.pk).update(
        status=WorklistStatus.NEEDS_CORRECTION,
        correction_reason="",
        findings=[{"rule": "-X", "message": ""}],
    )
    voids = rows.filter(billable=False)[:2]
    for void in voids:
        WorklistRow.objects.filter(pk=void.pk).update(
            status=WorklistStatus.NEEDS_CORRECTION, correction_reason="no longer bills"
        )
    WorklistRow.objects.filter(pk=rows.filter(billable=False)[2].pk).update(diagnoses=[])

    whole = assert_same_file(practice, month)
    assert b'"Smith, ""Jr"", Ann"' in whole and b"'=HYPERLINK(1), Bob" in whole
    assert b'said ""hello"", then\nleft' in whole  # an LF inside a cell stays LF
    assert whole.count(b",,0,0.00,") >= 2  # the voids: no code, nothing billed
    for filters in FILTERS:
        assert_same_file(practice, month, **filters)
    assert_same_file(practice, month, practitioner_id=staff[2].pk)
    assert_same_file(practice, month, search="Smith Ann")


def test_the_api_streams_the_copy_in_chunks_and_audits_the_export(
    practice: Practice,
    month_scenario: MonthScenario,
    billing_user: User,
    api_client_for: Callable[[User | None], APIClient],
) -> None:
    close(practice, month_scenario.month)
    month = f"{month_scenario.month:%Y-%m}"
    response = api_client_for(billing_user).get("/api/worklist/export/", {"month": month})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    chunks = list(response.streaming_content)  # type: ignore[attr-defined]
    body = b"".join(chunks)
    assert body == by_python(worklist_rows(practice=practice, month=month_scenario.month))
    # The header at once, then chunks of 64 KB (here the four rows' five lines: one).
    assert chunks[0] == b",".join(name.encode() for name in EXPORT_HEADER) + b"\r\n"
    assert all(len(chunk) >= EXPORT_CHUNK_BYTES for chunk in chunks[1:-1])
    assert len(chunks) == 2
    parsed = list(csv.reader(io.StringIO(body.decode())))
    assert parsed[0] == list(EXPORT_HEADER) and len(parsed) == 6
    event = AuditEvent.objects.get(action="worklist.export", actor=billing_user)
    assert event.object_id == month and event.after == {"month": month}


def test_the_binary_copy_is_read_however_its_blocks_split_it() -> None:
    values = [b"a,b\r\nc", b"", 'Ünï "q"'.encode(), b"x" * 70_000]
    stream = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
    for value in values:
        stream += (1).to_bytes(2, "big") + len(value).to_bytes(4, "big") + value
    stream += (-1).to_bytes(2, "big", signed=True)
    assert list(_binary_copy_values([stream])) == values
    for size in (1, 5, 19, 25, 4096):
        blocks = [memoryview(stream)[i : i + size] for i in range(0, len(stream), size)]
        assert list(_binary_copy_values(blocks)) == values, size
    with pytest.raises(ValueError, match="COPY"):
        list(_binary_copy_values([b"not a binary copy stream"]))


def test_a_download_cut_short_leaves_the_connection_usable(
    practice: Practice, month_scenario: MonthScenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    close(practice, month_scenario.month)
    monkeypatch.setattr("billing.worklist.EXPORT_CHUNK_BYTES", 1)  # a chunk per row
    chunks = export_csv_chunks(worklist_rows(practice=practice, month=month_scenario.month))
    assert isinstance(chunks, Generator)
    assert next(chunks).startswith(b"mrn,patient_name,")
    assert next(chunks).endswith(b"\r\n")  # the first line of the COPY
    chunks.close()  # the client went away mid-file
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM billing_worklistrow WHERE practice_id = %s", [practice.pk]
        )
        assert cursor.fetchone() == (4,)


def written(cell: str) -> str:
    """The cell as the csv module writes it in a line (quoted where it must be)."""
    out = io.StringIO()
    csv.writer(out).writerow([cell, ""])
    return out.getvalue().removesuffix(",\r\n")


def stored_cells_disagreeing(practice: Practice) -> list[int]:
    """Rows whose stored cells (findings_csv, diagnoses_csv) are not the cells
    export_csv_lines writes from findings, diagnoses, status and correction reason."""
    rows = WorklistRow.objects.filter(practice=practice).defer(None)
    return [
        row.pk
        for row in rows
        if row.findings_csv != written(_findings_cell(row))
        or row.diagnoses_csv != written(neutralise(";".join(row.diagnoses)))
    ]


def test_the_stored_cells_follow_the_rows_columns_whatever_writes_them() -> None:
    practice = generated_practice("gen-cells", patients=30, entries=400, seed=7)
    close(practice, dt.date(2026, 3, 1))  # written by the close's COPY
    rows = WorklistRow.objects.filter(practice=practice).order_by("pk")
    assert rows.exclude(findings=[]).exists() and rows.exclude(diagnoses=[]).exists()
    assert stored_cells_disagreeing(practice) == []

    one, two, three, four = rows[0], rows[1], rows[2], rows[3]
    WorklistRow.objects.filter(pk=one.pk).update(
        findings=[
            {"rule": "R1", "message": 'said "hi", then\nleft', "entries": ["a1"]},
            {"rule": "R2", "message": "Ünïcødé; 名前\r\n"},
        ],
        diagnoses=["E11.9", "=I10", 'Q"1'],
    )
    WorklistRow.objects.filter(pk=two.pk).update(findings=[], diagnoses=[])
    three.findings = [{"rule": "-X", "message": ""}]
    three.save(update_fields=["findings"])
    assert stored_cells_disagreeing(practice) == []
    assert WorklistRow.objects.get(pk=one.pk).findings_csv == (
        '"R1: said ""hi"", then\nleft;R2: Ünïcødé; 名前\r\n"'
    )
    assert WorklistRow.objects.get(pk=one.pk).diagnoses_csv == '"E11.9;=I10;Q""1"'
    assert WorklistRow.objects.values_list("findings_csv", "diagnoses_csv").get(pk=two.pk) == (
        "",
        "",
    )
    assert WorklistRow.objects.get(pk=three.pk).findings_csv == "'-X: "

    # A status or a correction reason changed after the close changes the findings cell.
    WorklistRow.objects.filter(pk=two.pk).update(
        status=WorklistStatus.NEEDS_CORRECTION, correction_reason='=lines, "changed"'
    )
    assert WorklistRow.objects.get(pk=two.pk).findings_csv == (
        '"NEEDS_CORRECTION: =lines, ""changed"""'
    )
    WorklistRow.objects.filter(pk=three.pk).update(
        status=WorklistStatus.NEEDS_CORRECTION, correction_reason="units\nwent down"
    )
    assert WorklistRow.objects.get(pk=three.pk).findings_csv == (
        '"NEEDS_CORRECTION: units\nwent down;-X: "'
    )
    four.status = WorklistStatus.NEEDS_CORRECTION
    four.correction_reason = ""  # no reason: the findings alone
    four.save(update_fields=["status", "correction_reason"])
    assert stored_cells_disagreeing(practice) == []
    WorklistRow.objects.filter(pk=three.pk).update(status=WorklistStatus.SUBMITTED)
    assert WorklistRow.objects.get(pk=three.pk).findings_csv == "'-X: "  # reason kept, unshown
    WorklistRow.objects.filter(pk=two.pk).update(correction_reason="")
    assert WorklistRow.objects.get(pk=two.pk).findings_csv == ""
    assert stored_cells_disagreeing(practice) == []


def test_the_cells_written_unquoted_can_hold_nothing_the_csv_module_quotes() -> None:
    """The COPY writes a row's tier and status and a line's code as they are (the csv
    module would quote a comma, a quote, CR or LF): every value they can take."""
    from billing.rules.rulebooks import RULEBOOKS

    values = {status.value for status in WorklistStatus}
    for rulebook in RULEBOOKS.values():
        for family in rulebook.families:
            values |= {family.name, family.base.code, family.addon.code}
    assert len(values) > len(WorklistStatus)
    assert [value for value in values if set(value) & set(',"\r\n')] == []


def test_rows_of_two_practices_export_every_line_in_one_name_order() -> None:
    """The COPY ranks the patients and reads the practitioners of the rows it is given,
    not of one practice: rows of two practices (no caller mixes them; the file must not
    lose lines if one does) give the Python writer's file."""
    month = dt.date(2026, 3, 1)
    first = generated_practice("gen-two-a", patients=12, entries=150, seed=7)
    second = generated_practice("gen-two-b", patients=12, entries=150, seed=8)
    close(first, month)
    close(second, month)
    rows = WorklistRow.objects.filter(month=month, practice__in=[first, second]).select_related(
        "patient", "billing_practitioner"
    )
    expected = by_python(rows)
    assert by_copy(rows) == expected
    practices = {row.practice_id for row in rows.filter(billable=True)}
    assert practices == {first.pk, second.pk}
