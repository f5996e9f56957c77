"""Shared fixtures: one database built by the migrations per run, a rolled-back transaction
per test. Set TEST_DATABASE_URL to run the suite against PostgreSQL, and
TEST_BILLING_PROVIDER=stripe to bill through the Stripe provider against the local fake of
the Stripe API (tests/fakes/stripe), emptied before each test; TEST_BILLING_PROVIDER=zuora
does the same with the Zuora provider and its fake (tests/fakes/zuora)."""

from __future__ import annotations

import asyncio
import functools
import inspect
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from app.config import Settings
from app.db.engine import create_engine
from app.db.migrate import upgrade
from tests.fakes.stripe import TEST_KEY, StripeFake, running_fake
from tests.fakes.stripe.setup import stripe_settings
from tests.fakes.zuora import ZuoraFake
from tests.fakes.zuora import running_fake as running_zuora
from tests.fakes.zuora.setup import zuora_settings
from tests.support.database import reset_database

ASYNC_TEST_SECONDS = 60.0  # the slowest test takes a tenth of this on a loaded machine


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "async_time_limit(seconds): a longer per-test limit than ASYNC_TEST_SECONDS, for a "
        "test whose work grows with the schema (the fuzz run: every root field x principal)",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    """Every async test runs under a time limit: a wait that never ends fails that test with
    a TimeoutError instead of hanging the run (the event loop is shared by the session)."""
    test = getattr(item, "obj", None)
    if inspect.iscoroutinefunction(test):
        marker = item.get_closest_marker("async_time_limit")
        seconds = float(marker.args[0]) if marker else ASYNC_TEST_SECONDS
        item.obj = _time_limited(test, seconds)  # type: ignore[attr-defined]


def _time_limited(
    test: Callable[..., Awaitable[None]], seconds: float
) -> Callable[..., Awaitable[None]]:
    @functools.wraps(test)
    async def limited(*args: object, **kwargs: object) -> None:
        async with asyncio.timeout(seconds):
            await test(*args, **kwargs)

    return limited


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite+aiosqlite:///{Path(tmp_path_factory.mktemp('db')) / 'test.db'}"


STRIPE = os.environ.get("TEST_BILLING_PROVIDER") == "stripe"
ZUORA = os.environ.get("TEST_BILLING_PROVIDER") == "zuora"


@pytest.fixture(scope="session")
def settings(database_url: str, request: pytest.FixtureRequest) -> Settings:
    # No catalog rows kept across requests: tests compare the statements of two requests.
    billing: dict[str, object] = {}
    if STRIPE:
        fake = request.getfixturevalue("stripe_fake")
        billing = {
            "billing_provider": "stripe",
            "stripe_api_key": TEST_KEY,
            "stripe_api_base": fake.url,
        }
    if ZUORA:
        billing = zuora_settings(request.getfixturevalue("zuora_fake"))
    # The drift job is off unless a test turns it on (tests/services/test_drift.py): the
    # other tests' worker rounds would compare every subscription with providers they never
    # set up.
    return Settings(
        environment="test",
        database_url=database_url,
        catalog_cache=False,
        drift_check_interval_seconds=0,
        **billing,
    )


@pytest.fixture(scope="session")
async def stripe_fake() -> AsyncIterator[StripeFake]:
    async with running_fake() as fake:
        yield fake


@pytest.fixture(scope="session")
async def zuora_fake() -> AsyncIterator[ZuoraFake]:
    async with running_zuora() as fake:
        yield fake


@pytest.fixture(autouse=True)
def _fresh_zuora_fake(request: pytest.FixtureRequest) -> None:
    """TEST_BILLING_PROVIDER=zuora: each test starts with an empty Zuora on the test's clock."""
    if ZUORA:
        _fresh_zuora(request.getfixturevalue("zuora_fake"), request)


def _fresh_zuora(fake: ZuoraFake, request: pytest.FixtureRequest) -> None:
    fake.reset()
    if "clock" in request.fixturenames:
        fake.store.today = request.getfixturevalue("clock").today


@pytest.fixture(autouse=True)
def _fresh_stripe_fake(request: pytest.FixtureRequest) -> None:
    """TEST_BILLING_PROVIDER=stripe: each test starts with an empty Stripe, whose time is the
    test's clock when it has one."""
    if not STRIPE:
        return
    _fresh(request.getfixturevalue("stripe_fake"), request)


def _fresh(fake: StripeFake, request: pytest.FixtureRequest) -> None:
    fake.reset()
    if "clock" in request.fixturenames:
        clock = request.getfixturevalue("clock")
        fake.store.clock = lambda: clock.now().timestamp()


@pytest.fixture
def billing() -> str:
    """The billing provider the app runs with: "" for the suite's (TEST_BILLING_PROVIDER); a
    test parametrises it ("local", "stripe", "zuora") to run each."""
    return ""


@pytest.fixture
def app_settings(settings: Settings, billing: str, request: pytest.FixtureRequest) -> Settings:
    """The app's settings: with "stripe", the Stripe provider against the fake Stripe API
    (emptied, on the test's clock when it has one) with the webhook secret the fake signs
    with."""
    if not billing:
        return settings
    if billing == "local":
        return settings.model_copy(update={"billing_provider": "local"})
    if billing == "zuora":
        zuora: ZuoraFake = request.getfixturevalue("zuora_fake")
        _fresh_zuora(zuora, request)
        return settings.model_copy(update=zuora_settings(zuora))
    fake: StripeFake = request.getfixturevalue("stripe_fake")
    _fresh(fake, request)
    return settings.model_copy(update=stripe_settings(fake))


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings)
    await reset_database(engine)
    async with engine.begin() as connection:
        await connection.run_sync(upgrade)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as connection:
        transaction = await connection.begin()
        try:
            yield connection
        finally:
            await transaction.rollback()


@pytest.fixture
def session_factory(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    """Sessions that join the test's transaction; their commits become SAVEPOINT releases."""
    return async_sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )


@pytest.fixture
async def db(session_factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with session_factory() as session:
        yield session
