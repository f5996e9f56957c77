"""The Makefile a new user runs: `make run` on the port asked for, `make reset` re-seeds a
fresh demo, `make clean` removes what the other targets leave behind. Each runs in a copy of
the Makefile with a stand-in `fulfillment` that records its calls (no install, no server)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAKE = shutil.which("make")
pytestmark = pytest.mark.skipif(MAKE is None, reason="make is not installed")

# Settings of the caller's own shell or make (`make test` runs the suite) stay out.
_INHERITED = {"DATABASE_URL", "PORT", "HOST", "TEST_CLOCK", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"}
STAND_IN = """#!/bin/sh
echo "TEST_CLOCK=$TEST_CLOCK $*" >> "$(dirname "$0")/../../calls.log"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "pyproject.toml").write_text("")
    fake = tmp_path / ".venv" / "bin" / "fulfillment"
    fake.parent.mkdir(parents=True)
    fake.write_text(STAND_IN)
    fake.chmod(0o755)
    stamp = tmp_path / ".venv" / ".installed-stamp"
    stamp.touch()
    os.utime(tmp_path / "pyproject.toml", (1, 1))  # the install is up to date
    return tmp_path


def _make(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if key not in _INHERITED}
    environment.update(env)
    assert MAKE is not None
    return subprocess.run(
        [MAKE, "--no-print-directory", *args],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def _calls(project: Path) -> list[str]:
    return (project / "calls.log").read_text().splitlines()


def test_run_serves_on_the_port_and_host_asked_for(project: Path) -> None:
    assert _make(project, "run", "PORT=8123", "HOST=0.0.0.0").returncode == 0
    assert _make(project, "run", PORT="8124").returncode == 0

    # The trusted documents are registered, so the portal (/portal/) can send their ids.
    assert _calls(project) == [
        "TEST_CLOCK= migrate",
        "TEST_CLOCK= seed-demo",
        "TEST_CLOCK= documents register documents",
        "TEST_CLOCK=true serve --host 0.0.0.0 --port 8123",
        "TEST_CLOCK= migrate",
        "TEST_CLOCK= seed-demo",
        "TEST_CLOCK= documents register documents",
        "TEST_CLOCK=true serve --host 127.0.0.1 --port 8124",
    ]


def test_run_ignores_a_host_the_shell_exported(project: Path) -> None:
    assert _make(project, "run", HOST="my-laptop.local").returncode == 0

    assert _calls(project)[-1] == "TEST_CLOCK=true serve --host 127.0.0.1 --port 8000"


def test_reset_deletes_the_demo_database_then_migrates_and_seeds(project: Path) -> None:
    for name in ("fulfillment.db", "fulfillment.db-wal", "fulfillment.db-shm"):
        (project / name).write_text("old demo")

    result = _make(project, "reset")

    assert result.returncode == 0, result.stderr
    assert not list(project.glob("fulfillment.db*"))
    assert _calls(project) == ["TEST_CLOCK= migrate", "TEST_CLOCK= seed-demo"]


def test_reset_refuses_another_database(project: Path) -> None:
    (project / "fulfillment.db").write_text("old demo")

    result = _make(project, "reset", DATABASE_URL="postgresql+asyncpg://db.example/prod")

    assert result.returncode != 0
    assert "DATABASE_URL is set" in result.stderr
    assert (project / "fulfillment.db").read_text() == "old demo"
    assert not (project / "calls.log").exists()


def test_clean_removes_what_the_targets_leave_and_nothing_else(project: Path) -> None:
    made = [
        "fulfillment.db",
        "fulfillment.db-wal",
        "fulfillment.db-shm",
        "fulfillment_api.egg-info/PKG-INFO",
        ".pytest_cache/README.md",
        ".mypy_cache/3.11/x.json",
        ".ruff_cache/x",
        ".hypothesis/examples/x",
        "app/__pycache__/main.cpython-311.pyc",
        "portal/node_modules/typescript/package.json",
        "test-artifacts/browser/test_x.png",
    ]
    kept = [
        "app/main.py",
        "bench/results/run.json",
        "README.md",
        "notes.db.txt",
        "portal/src/main.ts",
        "app/http/static/portal/main.js",
    ]
    for name in made + kept:
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text("x")

    assert _make(project, "clean").returncode == 0

    assert [name for name in made if (project / name).exists()] == []
    assert not (project / ".venv").exists()
    assert not (project / "app" / "__pycache__").exists()
    assert [name for name in kept if not (project / name).exists()] == []
