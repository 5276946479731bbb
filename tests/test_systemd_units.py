"""The systemd units of docs/systemd (running without Docker) are valid, supervised and
hardened, and their example environment file is one the worker accepts.

`systemd-analyze verify` checks each unit where systemd is installed; the key checks below
run everywhere, on the units parsed with systemd's own rules (repeated keys, continuation
lines, # and ; comments).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from worker.config import load_config  # noqa: E402

UNITS_DIR = ROOT / "docs" / "systemd"
UNITS = ("prorata-worker.service", "prorata-beat.service", "prorata-flower.service")
VENV_BIN = "/opt/prorata/venv/bin/"
ENV_FILE = "/etc/prorata/prorata.env"

Unit = dict[str, dict[str, list[str]]]


def parse_unit(text: str) -> Unit:
    """section -> key -> every value given, in order (systemd allows a key more than once)."""
    unit: Unit = {}
    section: dict[str, list[str]] | None = None
    lines = iter(text.splitlines())
    for raw in lines:
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        while line.endswith("\\"):
            line = line[:-1] + " " + next(lines).strip()
        if line.startswith("[") and line.endswith("]"):
            section = unit.setdefault(line[1:-1], {})
            continue
        assert section is not None, f"a key outside any section: {line!r}"
        key, sep, value = line.partition("=")
        assert sep, f"not a key=value line: {line!r}"
        section.setdefault(key.strip(), []).append(value.strip())
    return unit


def one(unit: Unit, section: str, key: str) -> str:
    values = unit.get(section, {}).get(key, [])
    assert len(values) == 1, f"[{section}] {key}: expected one value, got {values}"
    return values[0]


@pytest.fixture(params=UNITS)
def unit_file(request: pytest.FixtureRequest) -> Path:
    return UNITS_DIR / str(request.param)


def test_parser_follows_systemd_rules() -> None:
    unit = parse_unit("# c\n[Service]\n; c\nExecStartPre=a\nExecStartPre=b\\\n  c\n")
    assert unit == {"Service": {"ExecStartPre": ["a", "b c"]}}


def test_unit_is_supervised_and_hardened(unit_file: Path) -> None:
    unit = parse_unit(unit_file.read_text(encoding="utf-8"))
    assert set(unit) == {"Unit", "Service", "Install"}
    assert one(unit, "Unit", "Description")
    assert "network-online.target" in one(unit, "Unit", "After").split()

    assert one(unit, "Service", "Restart") == "on-failure"
    assert one(unit, "Service", "RestartSec")
    assert one(unit, "Service", "EnvironmentFile") == ENV_FILE
    assert one(unit, "Service", "User") == one(unit, "Service", "Group") == "prorata"
    state = one(unit, "Service", "StateDirectory")
    assert one(unit, "Service", "WorkingDirectory") == f"/var/lib/{state}"
    assert one(unit, "Service", "ExecStart").startswith(VENV_BIN)
    assert one(unit, "Service", "NoNewPrivileges") == "yes"
    assert one(unit, "Service", "ProtectSystem") == "strict"
    for key in ("ProtectHome", "PrivateTmp", "PrivateDevices", "RestrictSUIDSGID"):
        assert one(unit, "Service", key) == "yes", key
    assert one(unit, "Service", "CapabilityBoundingSet") == ""  # none at all
    assert one(unit, "Install", "WantedBy") == "multi-user.target"


def test_each_unit_runs_its_role() -> None:
    def start(name: str) -> list[str]:
        unit = parse_unit((UNITS_DIR / name).read_text(encoding="utf-8"))
        return one(unit, "Service", "ExecStart").split()

    assert start("prorata-worker.service") == [VENV_BIN + "prorata", "worker"]
    beat = start("prorata-beat.service")
    assert beat[:2] == [VENV_BIN + "prorata", "beat"]
    # the schedule file is in the one directory ProtectSystem=strict leaves writable
    assert "--schedule=/var/lib/prorata/celerybeat-schedule" in beat
    flower = start("prorata-flower.service")
    assert flower[:4] == [VENV_BIN + "celery", "-A", "worker.celery_app", "flower"]
    assert "--address=127.0.0.1" in flower


def flower_login_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """prorata-flower's ExecStartPre, run as systemd runs it ($$ is a literal $)."""
    unit = parse_unit((UNITS_DIR / "prorata-flower.service").read_text(encoding="utf-8"))
    command = one(unit, "Service", "ExecStartPre")
    assert command.startswith("/bin/sh -c '") and command.endswith("'")
    script = command[len("/bin/sh -c '") : -1].replace("$$", "$")
    return subprocess.run(
        ["/bin/sh", "-c", script], env=env, capture_output=True, text=True, check=False
    )


def test_flower_refuses_to_start_without_a_login() -> None:
    refused = flower_login_check({"PATH": os.environ.get("PATH", "")})
    assert refused.returncode == 2
    assert "FLOWER_BASIC_AUTH is not set" in refused.stderr
    allowed = flower_login_check({"FLOWER_BASIC_AUTH": "admin:secret"})
    assert (allowed.returncode, allowed.stderr) == (0, "")


def test_flower_refuses_the_example_password() -> None:
    """The example environment file's login, copied as it is, does not open Flower."""
    example = example_env()["FLOWER_BASIC_AUTH"]
    assert example.endswith(":CHANGE-ME")
    for login in (example, "ops:CHANGE-ME-later"):
        refused = flower_login_check({"FLOWER_BASIC_AUTH": login})
        assert refused.returncode == 2
        assert refused.stderr == (
            "FLOWER_BASIC_AUTH still has the example password CHANGE-ME: set a password of "
            "your own in /etc/prorata/prorata.env\n"
        )


def example_env() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in (UNITS_DIR / "prorata.env").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition("=")
            assert sep and key == key.strip() and key.isupper(), f"not KEY=value: {line!r}"
            values[key] = value
    return values


def test_example_env_file_is_accepted_by_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    values = example_env()
    for name in list(os.environ):
        if name.startswith("PRORATA_"):
            monkeypatch.delenv(name)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    config = load_config()
    assert config.database_url == values["PRORATA_DATABASE_URL"]
    assert config.broker_url == values["PRORATA_BROKER_URL"]
    assert config.queue == values["PRORATA_QUEUE"] == "prorata"  # the addon's default queue
    assert values["TZ"] and values["FLOWER_BASIC_AUTH"]


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze is not installed: only the key checks above ran on the units",
)
def test_systemd_analyze_verify(unit_file: Path, tmp_path: Path) -> None:
    # verify wants the programs to exist: the venv's are stand-ins here, the rest is as shipped
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("prorata", "celery"):
        stub = bin_dir / name
        stub.write_text("#!/bin/sh\n", encoding="utf-8")
        stub.chmod(0o755)
    copy = tmp_path / unit_file.name
    copy.write_text(
        unit_file.read_text(encoding="utf-8").replace(VENV_BIN, f"{bin_dir}/"), encoding="utf-8"
    )
    done = subprocess.run(
        ["systemd-analyze", "verify", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # unknown keys and bad values are only warnings: any output fails the test
    assert (done.returncode, done.stdout + done.stderr) == (0, "")
