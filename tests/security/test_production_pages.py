"""The production path works as the README writes it (issue 15: `make migrate && make web`
with the production settings served a 500 on every page, "Missing staticfiles manifest
entry": nothing but the Dockerfile collected the static files, and the suite ran pages
only with their source folders).

`make web` runs here as a deploy would: ccm.settings.production, DEBUG off, the
application's database role, static files collected into a STATIC_ROOT of its own and
served by WhiteNoise from its manifest. Every page of the site is opened by a role that
may open it; none answers a 5xx, every static file a page names is served, and the
server's log holds no error."""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.test import override_settings

from ccm.models import User
from tests.security.conftest import Side, build_side
from tests.security.routes import Route, gate_roles, page_methods, site_routes

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "production-settings-test-key-" + "x" * 40
STATIC_URL = re.compile(r"""(?:href|src)="(/static/[^"]+)\"""")


@dataclass(frozen=True)
class Server:
    port: int
    log: Path

    def get(self, path: str, cookie: str = "") -> tuple[int, str, bytes]:
        """GET over plain HTTP behind a TLS-terminating proxy (X-Forwarded-Proto), as a
        deploy would be reached; no redirect followed."""
        client = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"X-Forwarded-Proto": "https", "Host": "127.0.0.1"}
        if cookie:
            headers["Cookie"] = cookie
        try:
            client.request("GET", path, headers=headers)
            response = client.getresponse()
            return response.status, response.getheader("Content-Type") or "", response.read()
        finally:
            client.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`make web` with the production settings on the test database, as the application
    role (the suite's own connection settings); each test's rows are committed."""
    database = connection.settings_dict
    tmp_path = tmp_path_factory.mktemp("deploy")
    port, log = free_port(), tmp_path / "web.log"
    host = database["HOST"] or "127.0.0.1"
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="ccm.settings.production",
        SECRET_KEY=SECRET_KEY,
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=(
            f"postgres://{database['USER']}:{database['PASSWORD']}@{host}"
            f":{database['PORT'] or 5432}/{database['NAME']}"
        ),
        CONN_MAX_AGE="0",
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        STATIC_ROOT=str(tmp_path / "static"),
        WEB_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="2",
        LOG_LEVEL="WARNING",
    )
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "web"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    web = Server(port, log)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, log.read_text()
            try:
                web.get("/login/")  # any answer: the server is up
                break
            except OSError:
                pass
            assert time.monotonic() < deadline, "make web did not serve within 3 minutes"
            time.sleep(0.5)
        yield web
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=30)


def session_cookie(user: User) -> str:
    """A signed-in session of `user`, signed with the server's secret key."""
    with override_settings(SECRET_KEY=SECRET_KEY):
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def page_url(route: Route, side: Side) -> str:
    objects = side.object_ids()
    values = {
        name: f"{side.closed_month:%Y-%m}" if kind == "month" else str(objects[kind])
        for name, kind in route.parameters.items()
    }
    return route.url(values)


def test_every_page_is_served_under_the_production_settings(server: Server) -> None:
    side = build_side("deployed", "Deployed")
    pages = [r for r in site_routes() if not r.is_api and "GET" in page_methods(r.callback)]
    assert len(pages) > 15
    cookies: dict[str, str] = {}
    assets: set[str] = set()
    served: list[tuple[str, int]] = []
    for route in [*pages, None]:
        if route is None:  # the admin's own sign-in page, with the admin's static files
            url, role = "/admin/login/", None
        else:
            url = page_url(route, side)
            roles = sorted(gate_roles(route, "GET"))
            role = roles[0] if roles else None
        cookie = ""
        if role is not None:
            cookie = cookies.setdefault(role, session_cookie(side.users[role]))
        status, content_type, body = server.get(url, cookie)
        served.append((url, status))
        assert status < 500, (url, role, body[:2000])
        if status == 200 and content_type.startswith("text/html"):
            assets.update(STATIC_URL.findall(body.decode()))
    assert sum(status == 200 for _, status in served) > 15, served
    assert any(re.search(r"/static/css/app\.[0-9a-f]{12}\.css", asset) for asset in assets)
    for asset in sorted(assets):
        status, _, body = server.get(asset)
        assert status == 200 and body, asset
    log = server.log.read_text()
    assert not re.search(r"\b(ERROR|Traceback|Internal Server Error)\b", log), log


def test_a_page_error_under_the_production_settings_is_the_styled_page(
    server: Server,
) -> None:
    side = build_side("deployed", "Deployed")
    status, content_type, body = server.get(
        "/patients/999999999/", session_cookie(side.users["rn"])
    )
    assert status == 404 and content_type.startswith("text/html")
    assert re.search(rb"/static/css/app\.[0-9a-f]{12}\.css", body)
    status, content_type, body = server.get("/api/patients/999999999/")
    assert status == 401 and content_type == "application/json"
