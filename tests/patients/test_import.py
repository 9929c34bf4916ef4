"""Bulk enrollment (interface.md, "Enrollment in bulk"): the CSV and the FHIR Bundle,
every row validated, all or nothing, dry runs, re-importing changes nothing, audited;
the command, the API (three-user check) and the admin's page."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from ccm.models import AuditEvent, Practice, Role, User
from patients.imports.csv_format import REQUIRED_COLUMNS
from patients.imports.services import patients_import
from patients.models import ChronicCondition, Consent, Patient, Visit
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ApiClient = Callable[[User | None], APIClient]
NPI = "1234567893"  # the `practitioner` fixture's
HEADER = list(REQUIRED_COLUMNS)


def csv_text(rows: list[dict[str, str]], header: list[str] = HEADER) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def row(number: int, **fields: str) -> dict[str, str]:
    return {
        "mrn": f"IMP-{number:05d}",
        "first_name": f"First{number}",
        "last_name": f"Last{number}",
        "birth_date": "1950-04-02",
        "sex": "F" if number % 2 else "M",
        "mbi": "1EG4-TE5-MK73",
        "billing_practitioner_npi": NPI,
        "icd10": "E11.9;I50.22",
        "consent_date": "2026-01-10",
        "consent_method": "verbal",
        **fields,
    }


def test_csv_creates_patients_conditions_and_consent_then_changes_nothing(
    practice: Practice, practitioner: User, admin_user: User
) -> None:
    text = csv_text([row(1), row(2, icd10="J44.9", consent_date="", consent_method="")])
    result = patients_import(practice=practice, actor=admin_user, content=text)
    assert result.as_json()["errors"] == [] and (result.created, result.updated) == (2, 0)
    first = Patient.objects.get(practice=practice, mrn="IMP-00001")
    assert (first.sex, first.mbi, first.billing_practitioner) == ("F", "1EG4TE5MK73", practitioner)
    codes = sorted(first.conditions.values_list("icd10", "onset"))
    assert codes == [("E11.9", dt.date(2026, 1, 10)), ("I50.22", dt.date(2026, 1, 10))]
    consent = Consent.objects.get(patient=first)
    assert (consent.date, consent.method, consent.billing_practitioner) == (
        dt.date(2026, 1, 10),
        "verbal",
        practitioner,
    )
    second = Patient.objects.get(practice=practice, mrn="IMP-00002")
    assert second.conditions.get().onset == timezone.localdate()  # no consent: today
    assert not second.consents.exists()
    assert AuditEvent.objects.filter(action="patient.create").count() == 2
    assert AuditEvent.objects.filter(action="condition.create").count() == 3
    assert AuditEvent.objects.get(action="patient.import").after["created"] == 2

    stamps = dict(Patient.objects.values_list("mrn", "updated_at"))
    events = AuditEvent.objects.exclude(action__startswith="patient.import").count()
    again = patients_import(practice=practice, actor=admin_user, content=text)
    assert (again.created, again.updated, again.unchanged, again.errors) == (0, 0, 2, [])
    assert dict(Patient.objects.values_list("mrn", "updated_at")) == stamps
    assert AuditEvent.objects.exclude(action__startswith="patient.import").count() == events
    assert ChronicCondition.objects.count() == 3 and Consent.objects.count() == 1


def test_a_blank_in_the_file_keeps_what_was_recorded_since(
    practice: Practice, practitioner: User, admin_user: User
) -> None:
    patients_import(practice=practice, actor=admin_user, content=csv_text([row(1, mbi="")]))
    Patient.objects.filter(mrn="IMP-00001").update(mbi="2AA0A00AA00")
    again = patients_import(practice=practice, actor=admin_user, content=csv_text([row(1, mbi="")]))
    assert (again.updated, again.unchanged) == (0, 1)
    assert Patient.objects.get(mrn="IMP-00001").mbi == "2AA0A00AA00"


def test_a_changed_row_updates_the_patient_and_adds_what_is_missing(
    practice: Practice, practitioner: User, admin_user: User
) -> None:
    patients_import(practice=practice, actor=admin_user, content=csv_text([row(1)]))
    changed = csv_text([row(1, last_name="Renamed", icd10="E11.9;I50.22;J44.9")])
    result = patients_import(practice=practice, actor=admin_user, content=changed)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    patient = Patient.objects.get(mrn="IMP-00001")
    assert patient.last_name == "Renamed"
    codes = sorted(patient.conditions.values_list("icd10", flat=True))
    assert codes == ["E11.9", "I50.22", "J44.9"]


@pytest.mark.parametrize(
    ("fields", "column", "words"),
    [
        ({"icd10": "E11.9;XYZ.9"}, "icd10", "XYZ.9"),
        ({"icd10": "E11"}, "icd10", "E11"),
        ({"mbi": "1SG4TE5MK73"}, "mbi", "never use S"),
        ({"billing_practitioner_npi": "1234567890"}, "billing_practitioner_npi", "not a valid"),
        ({"billing_practitioner_npi": "1245319599"}, "billing_practitioner_npi", "No active"),
        ({"birth_date": "2990-01-01"}, "birth_date", "future"),
        ({"birth_date": "31/12/1950"}, "birth_date", "not a date"),
        ({"sex": "X"}, "sex", "not a sex"),
        ({"consent_method": ""}, "consent_method", "Required"),
        ({"consent_method": "email"}, "consent_method", "not a consent method"),
        ({"last_name": ""}, "last_name", "Required"),
    ],
)
def test_each_bad_value_is_named_by_line_and_field(
    fields: dict[str, str],
    column: str,
    words: str,
    practice: Practice,
    practitioner: User,
    admin_user: User,
) -> None:
    text = csv_text([row(1), row(2, **fields), row(3)])
    result = patients_import(practice=practice, actor=admin_user, content=text)
    assert [(e["line"], e["field"]) for e in result.errors] == [(3, column)]
    assert words in result.errors[0]["message"]
    assert not Patient.objects.exists() and not ChronicCondition.objects.exists()
    assert AuditEvent.objects.get(action="patient.import_refused").after["errors"] == 1


def test_file_level_problems(practice: Practice, practitioner: User, admin_user: User) -> None:
    no_npi = [c for c in HEADER if c != "billing_practitioner_npi"]
    result = patients_import(
        practice=practice, actor=admin_user, content=csv_text([], header=no_npi)
    )
    assert result.errors == [{"line": 1, "field": "billing_practitioner_npi", "message": ANY_TEXT}]
    duplicate = csv_text([row(1), row(1)])
    result = patients_import(practice=practice, actor=admin_user, content=duplicate)
    assert [(e["line"], e["field"]) for e in result.errors] == [(3, "mrn")]
    assert "line 2" in result.errors[0]["message"]
    # A quoted note with a line break keeps the next rows' line numbers right.
    header = [*HEADER, "notes"]
    text = csv_text([{**row(1), "notes": "two\nlines"}, {**row(2, sex="Q"), "notes": ""}], header)
    result = patients_import(practice=practice, actor=admin_user, content=text)
    assert [(e["line"], e["field"]) for e in result.errors] == [(4, "sex")]
    assert result.ignored == ["column notes"]


def test_unstorable_text_or_a_too_deep_bundle_is_a_400_naming_the_file(
    practice: Practice, practitioner: User, admin_user: User, api_client_for: ApiClient
) -> None:
    url = "/api/patients/import/"
    nul = csv_text([row(1, last_name="Le\x00e")]).encode()
    response = api_client_for(admin_user).post(url, nul, content_type="text/csv")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "file"
    deep = '{"resourceType": "Bundle", "entry": ' + "[" * 5000 + "]" * 5000 + "}"
    response = api_client_for(admin_user).post(url, deep.encode(), content_type="application/json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "file"
    assert not Patient.objects.exists()


class _AnyText:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and bool(other)


ANY_TEXT = _AnyText()


def test_a_closed_month_refuses_the_whole_file(
    practice: Practice, practitioner: User, admin_user: User, close_month: Any
) -> None:
    close_month(dt.date(2026, 1, 10))
    text = csv_text([row(1, consent_date="2026-02-01"), row(2)])
    result = patients_import(practice=practice, actor=admin_user, content=text)
    assert {(e["line"], e["field"]) for e in result.errors} == {(3, "icd10"), (3, "consent_date")}
    assert all("2026-01 is closed" in e["message"] for e in result.errors)
    assert not Patient.objects.exists()


def test_dry_run_counts_and_writes_nothing(
    practice: Practice, practitioner: User, admin_user: User
) -> None:
    result = patients_import(
        practice=practice, actor=admin_user, content=csv_text([row(1), row(2)]), dry_run=True
    )
    assert (result.created, result.errors, result.dry_run) == (2, [], True)
    assert not Patient.objects.exists()
    assert AuditEvent.objects.filter(action="patient.import_dry_run").count() == 1


def test_a_thousand_patients_three_bad_rows_then_the_fixed_file(
    practice: Practice, practitioner: User, admin_user: User
) -> None:
    rows = [row(n) for n in range(1, 1001)]
    bad = {17: {"mbi": "12345"}, 503: {"icd10": "E11.9;NOPE"}, 998: {"birth_date": "1950-13-01"}}
    broken = [dict(r, **bad.get(n, {})) for n, r in enumerate(rows, start=1)]
    result = patients_import(practice=practice, actor=admin_user, content=csv_text(broken))
    assert [(e["line"], e["field"]) for e in result.errors] == [
        (18, "mbi"),
        (504, "icd10"),
        (999, "birth_date"),
    ]
    assert not Patient.objects.exists() and not ChronicCondition.objects.exists()
    started = time.perf_counter()
    result = patients_import(practice=practice, actor=admin_user, content=csv_text(rows))
    elapsed = time.perf_counter() - started
    print(f"\nimported 1,000 patients (2,000 conditions, 1,000 consents) in {elapsed:.2f} s")
    assert (result.created, result.errors) == (1000, [])
    assert Patient.objects.filter(practice=practice).count() == 1000
    assert ChronicCondition.objects.count() == 2000 and Consent.objects.count() == 1000


# -- FHIR ---------------------------------------------------------------------------------


ADDRESS = {"line": ["9 Oak Ave"], "city": "Troy", "state": "NY", "postalCode": "12180"}


def bundle(**patient: Any) -> dict[str, Any]:
    """An EHR-style Bundle: a Practitioner, a Patient, two Conditions, an Encounter."""
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "urn:uuid:pr-1",
                "resource": {
                    "resourceType": "Practitioner",
                    "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": NPI}],
                },
            },
            {
                "fullUrl": "urn:uuid:pt-1",
                "resource": {
                    "resourceType": "Patient",
                    "id": "pt-1",
                    "identifier": [
                        {
                            "type": {
                                "coding": [
                                    {
                                        "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                        "code": "MR",
                                    }
                                ]
                            },
                            "value": "EHR-77",
                        },
                        {"system": "http://hl7.org/fhir/sid/us-mbi", "value": "1EG4TE5MK73"},
                    ],
                    "name": [{"family": "Okafor", "given": ["Grace", "A"]}],
                    "gender": "female",
                    "birthDate": "1947-08-15",
                    "address": [ADDRESS],
                    "generalPractitioner": [{"reference": "urn:uuid:pr-1"}],
                    **patient,
                },
            },
            {
                "resource": {
                    "resourceType": "Condition",
                    "subject": {"reference": "Patient/pt-1"},
                    "code": {
                        "coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "E119"}]
                    },
                    "onsetDateTime": "2018-03-01T00:00:00Z",
                }
            },
            {
                "resource": {
                    "resourceType": "Condition",
                    "subject": {"reference": "urn:uuid:pt-1"},
                    "code": {
                        "coding": [
                            {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "I50.22"}
                        ]
                    },
                    "onsetDateTime": "2020-06",
                }
            },
            {
                "resource": {
                    "resourceType": "Encounter",
                    "status": "finished",
                    "subject": {"reference": "urn:uuid:pt-1"},
                    "type": [
                        {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99214"}]}
                    ],
                    "period": {"start": "2026-01-10T09:00:00-05:00"},
                    "participant": [{"individual": {"reference": "urn:uuid:pr-1"}}],
                }
            },
            {"resource": {"resourceType": "Observation", "status": "final"}},
        ],
    }


def test_fhir_bundle_creates_patient_conditions_and_visit(
    practice: Practice, practitioner: User, admin_user: User
) -> None:
    content = json.dumps(bundle())
    result = patients_import(practice=practice, actor=admin_user, content=content)
    assert (result.created, result.errors, result.format) == (1, [], "fhir")
    assert result.ignored == ["entry 5: Observation"]
    patient = Patient.objects.get(mrn="EHR-77")
    assert (patient.first_name, patient.last_name, patient.sex, patient.zip) == (
        "Grace A",
        "Okafor",
        "F",
        "12180",
    )
    assert sorted(patient.conditions.values_list("icd10", "onset")) == [
        ("E11.9", dt.date(2018, 3, 1)),
        ("I50.22", dt.date(2020, 6, 1)),
    ]
    visit = Visit.objects.get(patient=patient)
    assert (visit.date, visit.code, visit.practitioner) == (
        dt.date(2026, 1, 10),
        "99214",
        practitioner,
    )
    again = patients_import(practice=practice, actor=admin_user, content=content)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)


def test_fhir_problems_name_the_entry_and_path(
    practice: Practice, practitioner: User, admin_user: User
) -> None:
    broken = bundle(birthDate="1947-02-30", gender="robot")
    broken["entry"][2]["resource"]["code"]["coding"][0]["code"] = "NOTACODE"
    result = patients_import(practice=practice, actor=admin_user, content=json.dumps(broken))
    assert {(e["entry"], e["field"]) for e in result.errors} == {
        (1, "Patient.birthDate"),
        (1, "Patient.gender"),
    }
    fixed_patient = bundle()
    fixed_patient["entry"][2]["resource"]["code"]["coding"][0]["code"] = "NOTACODE"
    result = patients_import(practice=practice, actor=admin_user, content=json.dumps(fixed_patient))
    assert [(e["entry"], e["field"]) for e in result.errors] == [(2, "Condition.code")]
    assert not Patient.objects.exists()
    result = patients_import(practice=practice, actor=admin_user, content="{not json")
    assert result.errors[0]["field"] == "file"


# -- the command, the API, the page --------------------------------------------------------


def test_import_patients_command(
    tmp_path: Path, practice: Practice, practitioner: User, django_db_blocker: Any
) -> None:
    from django.core.management import call_command

    good = tmp_path / "good.csv"
    good.write_text(csv_text([row(1), row(2)]))
    out = io.StringIO()
    call_command("import_patients", str(good), "--practice", practice.slug, "--dry-run", stdout=out)
    assert json.loads(out.getvalue())["created"] == 2 and not Patient.objects.exists()
    out = io.StringIO()
    call_command("import_patients", str(good), "--practice", practice.slug, stdout=out)
    assert json.loads(out.getvalue())["created"] == 2 and Patient.objects.count() == 2
    bad = tmp_path / "bad.csv"
    bad.write_text(csv_text([row(3, mbi="nope")]))
    with pytest.raises(SystemExit) as exit_status:
        call_command("import_patients", str(bad), "--practice", practice.slug, stdout=io.StringIO())
    assert exit_status.value.code == 1
    assert AuditEvent.objects.filter(action="patient.import", actor=None).count() == 1


def test_api_three_users(
    practice: Practice,
    practitioner: User,
    admin_user: User,
    billing_user: User,
    outsider: User,
    api_client_for: ApiClient,
) -> None:
    text = csv_text([row(1)])
    url = "/api/patients/import/"
    dry = api_client_for(admin_user).post(
        f"{url}?dry_run=true", text.encode(), content_type="text/csv"
    )
    assert dry.status_code == 200 and dry.json()["created"] == 1
    assert not Patient.objects.exists()
    upload = io.BytesIO(text.encode())
    upload.name = "patients.csv"
    done = api_client_for(admin_user).post(url, {"file": upload}, format="multipart")
    assert done.status_code == 200, done.content
    assert Patient.objects.filter(practice=practice).count() == 1
    bad = api_client_for(admin_user).post(
        url, csv_text([row(2, mbi="1")]).encode(), content_type="text/csv"
    )
    assert bad.status_code == 400 and bad.json()["errors"][0]["line"] == 2
    fhir = api_client_for(admin_user).post(
        url, json.dumps(bundle()).encode(), content_type="application/fhir+json"
    )
    assert fhir.status_code == 200 and fhir.json()["created"] == 1
    assert api_client_for(admin_user).post(url, b"", content_type="text/csv").status_code == 400
    # A colleague of another role may not import.
    assert (
        api_client_for(billing_user).post(url, text.encode(), content_type="text/csv").status_code
        == 403
    )
    # Another practice's admin imports into their own practice: ours is untouched, and our
    # practitioner's NPI is not theirs to use.
    theirs = api_client_for(outsider).post(url, text.encode(), content_type="text/csv")
    assert theirs.status_code == 400 and "No active practitioner" in str(theirs.json())
    UserFactory(role=Role.PRACTITIONER, practice=outsider.practice, npi=NPI)
    theirs = api_client_for(outsider).post(url, text.encode(), content_type="text/csv")
    assert theirs.status_code == 200
    assert Patient.objects.filter(practice=practice).count() == 2
    assert Patient.objects.filter(practice=outsider.practice).count() == 1


def test_the_admin_page_lists_errors_by_line(
    client: Client, practice: Practice, practitioner: User, admin_user: User, nurse: User
) -> None:
    client.force_login(admin_user)
    assert client.get("/patients/import/").status_code == 200
    upload = io.BytesIO(csv_text([row(1), row(2, icd10="ZZZ")]).encode())
    upload.name = "p.csv"
    page = client.post("/patients/import/", {"file": upload, "dry_run": "on"})
    assert page.status_code == 400
    assert b"Line 3" in page.content and b"Nothing was written" in page.content
    upload = io.BytesIO(csv_text([row(1)]).encode())
    upload.name = "p.csv"
    page = client.post("/patients/import/", {"file": upload})
    assert page.status_code == 200 and b"1 created" in page.content
    client.force_login(nurse)
    assert client.get("/patients/import/").status_code == 403
