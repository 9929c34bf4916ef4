"""docker-compose.yml validates against the compose specification (Docker does not run
here) and runs the same Makefile targets as a laptop does."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")


def validate_compose(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_compose_file_matches_the_specification() -> None:
    result = validate_compose(ROOT / "docker-compose.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_validation_can_fail(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        (ROOT / "docker-compose.yml")
        .read_text()
        .replace("restart: unless-stopped", "restart: [1, 2]", 1)
    )
    assert validate_compose(broken).returncode != 0


def test_services_run_makefile_targets() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"web", "worker", "beat", "postgres", "redis"} <= set(services)
    makefile_targets = set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.M))
    for name in ("web", "worker", "beat"):
        command = services[name]["command"]
        assert command[0] == "make"
        assert set(command[1:]) <= makefile_targets, (name, command)
    assert "gunicorn" in (ROOT / "Makefile").read_text()


def test_only_the_migrations_connect_as_the_owner() -> None:
    """README, Production: the application connects as ccm_app, which owns nothing; the
    one-shot `migrate` service alone has the owner's URL, and every other service waits
    for it; PostgreSQL creates both roles at its first start."""
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert services["migrate"]["command"] == ["make", "migrate"]
    assert services["migrate"]["environment"]["DATABASE_OWNER_URL"].startswith(
        "postgres://ccm_owner:"
    )
    for name in ("web", "worker", "beat"):
        environment = services[name]["environment"]
        assert environment["DATABASE_URL"].startswith("postgres://ccm_app:"), name
        assert "DATABASE_OWNER_URL" not in environment, name
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
    mounts = services["postgres"]["volumes"]
    assert "./scripts/postgres_roles.sh:/docker-entrypoint-initdb.d/10-ccm-roles.sh:ro" in mounts
    script = (ROOT / "scripts" / "postgres_roles.sh").read_text()
    assert "CREATE ROLE ccm_owner" in script and "CREATE ROLE ccm_app" in script
