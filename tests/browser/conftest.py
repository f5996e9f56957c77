"""Browser tests of the portal (docs/portal.md): Playwright drives Debian's chromium against
`fulfillment serve` on a free loopback port, over a temporary SQLite database migrated,
seeded with the demo and with the trusted documents registered, as `make run` does, and with
TRUSTED_DOCUMENTS=enforce, so a page that sent anything but a registered document would fail.

Chromium missing: the tests fail when CI is set (CI installs it: .ci/run), and are skipped
with the reason otherwise (a developer without it; `apt-get install chromium`). A failed
test leaves its screenshot and the page's console, and a run with a failure the server's
log, under test-artifacts/browser/ (git-ignored)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, Request, sync_playwright

from tests.scaling.server import HOST, ROOT, ServerProcess, free_port

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "browser"
# Flags that work in a container as root, and that make chromium call nobody on its own.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000  # one wait in a page; a step takes well under a second here


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def _chromium() -> str:
    if os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    message = (
        f"chromium is not installed at {CHROMIUM} (apt-get install -y chromium; "
        "or set CHROMIUM to its path): the portal's browser tests need it"
    )
    if _in_ci():
        pytest.fail(f"{message}. CI must run them: .ci/run installs it.", pytrace=False)
    pytest.skip(f"{message}; skipped outside CI (CI=1 makes this a failure)")


def _serve(env: dict[str, str], log_path: Path) -> ServerProcess:
    """tests/browser/serve.py on a free loopback port, in its own process group."""
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.browser.serve", HOST, str(port)],
            cwd=ROOT,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return ServerProcess(process, f"http://{HOST}:{port}", log_path)


@dataclass
class Portal:
    """The live server and its database file (read with sqlite3 for the assertions)."""

    server: ServerProcess
    database: Path
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"{self.server.url}/portal/"

    def rows(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        with contextlib.closing(sqlite3.connect(f"file:{self.database}?mode=ro", uri=True)) as db:
            return list(db.execute(sql, params))

    def one(self, sql: str, *params: object) -> tuple[Any, ...]:
        [row] = self.rows(sql, *params)
        return row


def _wait_ready(server: ServerProcess, within: float) -> None:
    deadline = time.monotonic() + within
    with httpx.Client(base_url=server.url, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise AssertionError(f"the server exited:\n{server.log_tail()}")
            with contextlib.suppress(httpx.TransportError):
                if client.get("/healthz").status_code == 200:
                    return
            time.sleep(0.1)
    raise AssertionError(f"the server was not ready within {within:.0f} s:\n{server.log_tail()}")


@pytest.fixture(scope="session")
def fresh_artifacts() -> None:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)  # what is left there is this run's


@pytest.fixture(scope="module")
def chromium(fresh_artifacts: None) -> str:
    return _chromium()


@pytest.fixture(scope="module")
def started_server(
    chromium: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Portal]:
    """Started, not yet ready: chromium starts meanwhile (the browser needs it first)."""
    folder = tmp_path_factory.mktemp("portal")
    database = folder / "portal.db"
    env = {
        "ENVIRONMENT": "development",
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "JWT_SECRET": "browser-tests-secret-0123456789-abcdefghij",
        "TRUSTED_DOCUMENTS": "enforce",
        "TEST_CLOCK": "false",
        "WORKER_IN_PROCESS": "false",
        "BILLING_PROVIDER": "local",
        "PORTAL_ENABLED": "true",
        "PORTAL_DEMO_SIGN_IN": "true",
        "LOG_LEVEL": "WARNING",
    }
    server = _serve(env, folder / "server.log")
    try:
        yield Portal(server, database)
    finally:
        server.stop()
        if request.session.testsfailed and server.log_path.exists():
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(server.log_path, ARTIFACTS / "server.log")


@pytest.fixture(scope="module")
def portal(started_server: Portal) -> Portal:
    _wait_ready(started_server.server, within=60.0)  # it migrates and seeds first
    return started_server


@pytest.fixture(scope="module")
def browser_context(
    chromium: str, started_server: Portal, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BrowserContext]:
    # Module scope, not session: while Playwright's sync API is open, the thread counts as
    # running its event loop, and the suite's async tests after this folder could not run.
    profile = tmp_path_factory.mktemp("chromium-profile")  # a fresh --user-data-dir
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
            accept_downloads=True,
        )
        context.set_default_timeout(TIMEOUT_MS)
        try:
            yield context
        finally:
            context.close()


@dataclass
class Recorded:
    """What a page did, for the assertions and for a failure's report."""

    graphql_bodies: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)


@pytest.fixture
def recorded() -> Recorded:
    return Recorded()


@pytest.fixture
def page(
    browser_context: BrowserContext, recorded: Recorded, request: pytest.FixtureRequest
) -> Iterator[Page]:
    """A new tab (its own sessionStorage: nobody signed in); on failure, its screenshot and
    console go to test-artifacts/browser/<test>.png and .log."""
    tab = browser_context.new_page()

    def on_request(sent: Request) -> None:
        if sent.url.endswith("/graphql") and sent.method == "POST":
            recorded.graphql_bodies.append(sent.post_data or "")

    tab.on("request", on_request)
    tab.on("console", lambda message: recorded.console.append(f"{message.type}: {message.text}"))
    tab.on("pageerror", lambda error: recorded.console.append(f"pageerror: {error}"))
    try:
        yield tab
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^\w.-]+", "_", request.node.name)
            with contextlib.suppress(Exception):
                tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
            (ARTIFACTS / f"{name}.log").write_text("\n".join(recorded.console) + "\n")
            report.sections.append(("browser artifacts", f"{ARTIFACTS}/{name}.png and .log"))
        tab.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report
