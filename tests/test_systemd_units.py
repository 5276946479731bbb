"""The systemd units of docs/systemd (running without Docker) are valid, supervised and
hardened, refuse to start while the example environment file's passwords are left in it,
and that file is otherwise one the worker accepts.

`systemd-analyze verify` checks each unit where systemd is installed; the key checks below
run everywhere, on the units parsed with systemd's own rules (repeated keys, continuation
lines, # and ; comments).
"""

from __future__ import annotations

import os
import re
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
    assert program(unit)[0].startswith(VENV_BIN)
    # a check in ExecStartPre= that fails is restarted every RestartSec whatever its exit
    # code (RestartPreventExitStatus= reads the main process's only): checks run in ExecStart
    assert "ExecStartPre" not in unit["Service"]
    assert one(unit, "Service", "RestartPreventExitStatus") == "2"
    assert one(unit, "Service", "NoNewPrivileges") == "yes"
    assert one(unit, "Service", "ProtectSystem") == "strict"
    for key in ("ProtectHome", "PrivateTmp", "PrivateDevices", "RestrictSUIDSGID"):
        assert one(unit, "Service", key) == "yes", key
    assert one(unit, "Service", "CapabilityBoundingSet") == ""  # none at all
    assert one(unit, "Install", "WantedBy") == "multi-user.target"


def script(unit: Unit) -> str:
    """The shell script of the unit's ExecStart, as the shell reads it ($$ is a literal $)."""
    command = one(unit, "Service", "ExecStart")
    assert command.startswith("/bin/sh -c '") and command.endswith("'"), command
    return command[len("/bin/sh -c '") : -1].replace("$$", "$")


def program(unit: Unit) -> list[str]:
    """What the ExecStart's script runs once its checks passed (`exec` in its place)."""
    checks, _, started = re.split(r";\s+(exec)\s+", script(unit))[-3:]
    assert checks, "the checks, then exec the program"
    return started.split()


def test_each_unit_runs_its_role() -> None:
    def start(name: str) -> list[str]:
        return program(parse_unit((UNITS_DIR / name).read_text(encoding="utf-8")))

    assert start("prorata-worker.service") == [VENV_BIN + "prorata", "worker"]
    beat = start("prorata-beat.service")
    assert beat[:2] == [VENV_BIN + "prorata", "beat"]
    # the schedule file is in the one directory ProtectSystem=strict leaves writable
    assert "--schedule=/var/lib/prorata/celerybeat-schedule" in beat
    flower = start("prorata-flower.service")
    assert flower[:4] == [VENV_BIN + "celery", "-A", "worker.celery_app", "flower"]
    assert "--address=127.0.0.1" in flower


def start_unit(name: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The unit's ExecStart run as systemd runs it, with `env` as the environment file's
    values; the venv's programs are stand-ins saying they started."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for stand_in in ("prorata", "celery"):
        path = bin_dir / stand_in
        path.write_text(f'#!/bin/sh\necho "{stand_in} started $*"\n', encoding="utf-8")
        path.chmod(0o755)
    unit = parse_unit((UNITS_DIR / name).read_text(encoding="utf-8"))
    return subprocess.run(
        ["/bin/sh", "-c", script(unit).replace(VENV_BIN, f"{bin_dir}/")],
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


def with_passwords(values: dict[str, str]) -> dict[str, str]:
    return {name: value.replace("CHANGE-ME", "s3cret") for name, value in values.items()}


def test_flower_refuses_to_start_without_a_login(tmp_path: Path) -> None:
    env = with_passwords(example_env())
    del env["FLOWER_BASIC_AUTH"]
    refused = start_unit("prorata-flower.service", env, tmp_path)
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr == "FLOWER_BASIC_AUTH is not set in /etc/prorata/prorata.env\n"
    allowed = start_unit(
        "prorata-flower.service", {**env, "FLOWER_BASIC_AUTH": "admin:secret"}, tmp_path
    )
    assert (allowed.returncode, allowed.stderr) == (0, "")
    assert allowed.stdout.startswith("celery started -A worker.celery_app flower ")


# the passwords of the example environment file each unit refuses to start with
PLACEHOLDERS = {
    "prorata-worker.service": ["PRORATA_DATABASE_URL", "PRORATA_BROKER_URL"],
    "prorata-beat.service": ["PRORATA_DATABASE_URL", "PRORATA_BROKER_URL"],
    "prorata-flower.service": ["PRORATA_DATABASE_URL", "PRORATA_BROKER_URL", "FLOWER_BASIC_AUTH"],
}


def test_each_unit_refuses_the_example_passwords(unit_file: Path, tmp_path: Path) -> None:
    """The example environment file copied as it is starts nothing: one line names every
    value still holding its password CHANGE-ME; exit 2, which systemd does not restart."""
    example = example_env()
    expected = PLACEHOLDERS[unit_file.name]
    assert all("CHANGE-ME" in example[name] for name in expected)

    def refusal(names: list[str]) -> str:
        return (
            f"the example password CHANGE-ME is still in {', '.join(names)}: set your own "
            "in /etc/prorata/prorata.env\n"
        )

    refused = start_unit(unit_file.name, example, tmp_path)
    assert (refused.returncode, refused.stdout, refused.stderr) == (2, "", refusal(expected))

    # one set, the others still named; a result backend of its own is checked too
    done = with_passwords(example)
    partly = {**done, "PRORATA_DATABASE_URL": example["PRORATA_DATABASE_URL"]}
    refused = start_unit(unit_file.name, partly, tmp_path)
    assert (refused.returncode, refused.stderr) == (2, refusal(["PRORATA_DATABASE_URL"]))
    backend = {**done, "PRORATA_RESULT_BACKEND": "redis://:CHANGE-ME@127.0.0.1:6379/1"}
    refused = start_unit(unit_file.name, backend, tmp_path)
    assert (refused.returncode, refused.stderr) == (2, refusal(["PRORATA_RESULT_BACKEND"]))

    started = start_unit(unit_file.name, done, tmp_path)
    assert (started.returncode, started.stderr) == (0, "")
    role = program(parse_unit(unit_file.read_text(encoding="utf-8")))
    assert started.stdout == f"{role[0].removeprefix(VENV_BIN)} started {' '.join(role[1:])}\n"


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
