"""Fee schedules as data: CSV import (all or nothing, errors naming row and column), the
effective fees, the API, the command and the page."""

from __future__ import annotations

import io
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from billing.fees import effective_fees, fee_schedule_import
from billing.models import FeeScheduleEntry
from ccm.models import AuditEvent, Practice, User

pytestmark = pytest.mark.django_db
GOOD = "code,year,locality,amount\n99490,2026,,70.10\n99487,2026,05,$150.00\n"


def test_import_creates_updates_and_audits(practice: Practice, billing_user: User) -> None:
    result = fee_schedule_import(practice=practice, actor=billing_user, text=GOOD)
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    again = fee_schedule_import(
        practice=practice,
        actor=billing_user,
        text="code,year,locality,amount\n99490,2026,,71.00\n99487,2026,05,150\n",
    )
    assert (again.created, again.updated, again.unchanged) == (0, 1, 1)
    change = AuditEvent.objects.filter(action="fee_schedule.set").order_by("id").last()
    assert change.before == {"amount": "70.10"} and change.after["amount"] == "71.00"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("code,year,amount\n99490,2026,1\n", "header must be"),
        ("code,year,locality,amount\n99999,2026,,1\n", "row 2, code: 99999"),
        ("code,year,locality,amount\n99490,20x6,,1\n", "row 2, year"),
        ("code,year,locality,amount\n99490,2026,,abc\n", "row 2, amount"),
        ("code,year,locality,amount\n99490,2026,,-1\n", "row 2, amount"),
        ("code,year,locality,amount\n99490,2026,,1.005\n", "row 2, amount"),
        ("code,year,locality,amount\n99490,2026,,1\n99490,2026,,2\n", "row 3 repeats row 2"),
        ("code,year,locality,amount\n", "no fee rows"),
    ],
)
def test_bad_files_load_nothing_and_name_the_row(
    practice: Practice, text: str, message: str
) -> None:
    with pytest.raises(ValidationError) as error:
        fee_schedule_import(practice=practice, actor=None, text=text)
    assert message in " ".join(error.value.message_dict["file"])
    assert not FeeScheduleEntry.objects.exists()


def test_effective_fees_prefer_the_locality_then_national_then_default(practice: Practice) -> None:
    practice.fee_locality = "05"
    practice.save()
    fee_schedule_import(practice=practice, actor=None, text=GOOD + "99487,2026,,140.00\n")
    fees = {fee.code: fee for fee in effective_fees(practice, 2026)}
    assert fees["99487"].amount == Decimal("150.00") and fees["99487"].source == "practice"
    assert fees["99490"].amount == Decimal("70.10")
    assert fees["99439"].amount == Decimal("50.56") and fees["99439"].source == "shipped default"
    assert {fee.amount for fee in effective_fees(practice, 2025) if fee.code == "99490"} == {
        Decimal("60.49")
    }


def test_api_import_and_read(
    billing_user: User, nurse: User, outsider: User, api_client_for: Callable[..., APIClient]
) -> None:
    billing = api_client_for(billing_user)
    upload = SimpleUploadedFile("fees.csv", GOOD.encode(), content_type="text/csv")
    response = billing.post("/api/fee-schedule/import/", {"file": upload}, format="multipart")
    assert response.status_code == 200, response.json()
    assert response.json() == {"created": 2, "updated": 0, "unchanged": 0}
    raw = billing.generic(
        "POST",
        "/api/fee-schedule/import/",
        "code,year,locality,amount\n99490,2026,,72.00\n",
        content_type="text/csv",
    )
    assert raw.json()["updated"] == 1
    fees = {row["code"]: row for row in billing.get("/api/fee-schedule/", {"year": 2026}).json()}
    assert fees["99490"]["amount"] == "72.00"
    # fees are money: a nurse's work does not need them
    assert api_client_for(nurse).get("/api/fee-schedule/", {"year": 2026}).status_code == 403
    foreign = {
        row["code"]: row
        for row in api_client_for(outsider).get("/api/fee-schedule/", {"year": 2026}).json()
    }
    assert foreign["99490"]["amount"] == "66.30"
    bad = billing.generic(
        "POST", "/api/fee-schedule/import/", "code,year\n", content_type="text/csv"
    )
    assert bad.status_code == 400 and "file" in bad.json()
    assert api_client_for(nurse).post("/api/fee-schedule/import/", {}).status_code == 403
    assert billing.get("/api/fee-schedule/", {"year": "x"}).status_code == 400


def test_command_imports_and_exits_2_on_bad_rows(practice: Practice, tmp_path: object) -> None:
    from pathlib import Path

    good, bad = Path(str(tmp_path)) / "good.csv", Path(str(tmp_path)) / "bad.csv"
    good.write_text(GOOD)
    bad.write_text("code,year,locality,amount\n99490,2026,,oops\n")
    out = io.StringIO()
    call_command("import_fees", str(good), "--practice", practice.slug, stdout=out)
    assert '"created": 2' in out.getvalue()
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("import_fees", str(bad), "--practice", practice.slug, stderr=err)
    assert exit_info.value.code == 2 and "row 2, amount" in err.getvalue()


def test_page_shows_fees_and_uploads(client: Client, billing_user: User, nurse: User) -> None:
    client.force_login(billing_user)
    page = client.get("/fees/", {"year": 2026})
    assert page.status_code == 200 and "66.30" in page.content.decode()
    upload = SimpleUploadedFile("fees.csv", GOOD.encode(), content_type="text/csv")
    done = client.post("/fees/?year=2026", {"file": upload}, follow=True)
    assert "2 new" in done.content.decode() and "70.10" in done.content.decode()
    wrong = client.post("/fees/", {"file": SimpleUploadedFile("f.csv", b"nope\n")})
    assert "header must be" in wrong.content.decode()
    client.force_login(nurse)
    assert "Load a fee schedule" not in client.get("/fees/").content.decode()
    assert (
        client.post("/fees/", {"file": SimpleUploadedFile("f.csv", GOOD.encode())}).status_code
        == 403
    )
