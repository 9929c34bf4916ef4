"""The month's packet ZIP built by a real Celery worker on Redis (not eager mode): the
API answers 202 with the progress, then the ZIP once the worker is done."""

from __future__ import annotations

import io
import subprocess
import zipfile
from collections.abc import Callable, Iterator

import pytest
from rest_framework.test import APIClient

from billing.claims.models import PacketArchive
from ccm.models import User
from tests.billing.claims.conftest import ClaimsMonth
from tests.workers import start_worker, stop_worker, wait_for, wait_for_other_sessions_to_end

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(tmp_path: object) -> Iterator[subprocess.Popen[bytes]]:
    process = start_worker("packets", CCM_PACKETS_DIR=str(tmp_path))
    yield process
    stop_worker(process, kill=True)
    wait_for_other_sessions_to_end()


def test_a_worker_builds_the_months_packets(
    claims_month: ClaimsMonth,
    billing_user: User,
    api_client_for: Callable[[User | None], APIClient],
    worker: subprocess.Popen[bytes],
    settings: object,
    tmp_path: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("billing.claims.api.INLINE_PACKETS", 1)
    settings.CCM_PACKETS_DIR = str(tmp_path)  # type: ignore[attr-defined]
    url = f"/api/billing-months/{claims_month.month_text}/packets.zip"
    client = api_client_for(billing_user)
    first = client.get(url)
    assert first.status_code == 202 and first.json()["total"] == 3
    wait_for(lambda: PacketArchive.objects.get().status == "ready", timeout=120)
    archive = PacketArchive.objects.get()
    assert (archive.done, archive.total) == (3, 3)
    done = client.get(url)
    assert done.status_code == 200
    data = b"".join(done.streaming_content)  # type: ignore[attr-defined]
    assert len(zipfile.ZipFile(io.BytesIO(data)).namelist()) == 3
