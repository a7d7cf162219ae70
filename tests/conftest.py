"""Shared fixtures: stores on every backend, the project's PostgreSQL server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

POSTGRES_ENV = "WORKBENCH_TEST_POSTGRES_URL"


def _postgres_url_or_skip() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        if os.environ.get("WORKBENCH_REQUIRE_POSTGRES"):
            pytest.fail(
                f"{POSTGRES_ENV} is not set but PostgreSQL is required: "
                "run the tests with `make test` (it starts the server)"
            )
        pytest.skip(f"no PostgreSQL server: set {POSTGRES_ENV} or run `make test`")
    if not url.startswith("postgresql://") or "\n" in url:
        pytest.fail(f"{POSTGRES_ENV} is not one postgresql:// URL: {url!r}")
    return url


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """The project's PostgreSQL server (a superuser's URL), or a skip saying how to start it."""
    return _postgres_url_or_skip()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL to a fresh, empty schema on the project's PostgreSQL server."""
    with _fresh_schema() as url:
        yield url


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The same test on every kind of store: in-memory, an SQLite file, PostgreSQL."""
    kind = request.param
    if kind == "memory":
        return "memory"
    if kind == "sqlite":
        return str(tmp_path_factory.mktemp("store") / "events.sqlite")
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def make_sales() -> Callable[[int], Any]:
    """A factory: a Ticketing app (in-memory SQLite) with one conference and ``n`` paid purchases.

    Each purchase is an hour after the one before, from 2018-01-08 09:00 UTC, so the
    history holds ``2 + 3 * n`` events.
    """
    from datetime import UTC, date, datetime
    from decimal import Decimal

    from workbench.clock import ManualClock, use_clock
    from workbench.examples.ticketing import Ticketing
    from workbench.stores import open_app

    def make(n: int) -> Ticketing:
        app = open_app(Ticketing, "sqlite::memory:")
        clock = ManualClock(datetime(2018, 1, 8, 9, 0, tzinfo=UTC))
        with use_clock(clock):
            conf = app.schedule_conference("PHP18", "ConFoo PHP 2018", date(2018, 3, 7))
            app.add_ticket_type(conf, "Standard", Decimal("450.00"), 100)
            for i in range(n):
                clock.advance(minutes=60)
                purchase = app.reserve_tickets(conf, f"Customer {i}", {"Standard": 1})
                app.pay(purchase, f"PAY-{i}", [f"Delegate {i}"])
        return app

    return make


@contextmanager
def _fresh_schema() -> Iterator[str]:
    """A URL to a new, empty schema on the project's PostgreSQL server, dropped afterwards."""
    import psycopg

    base = _postgres_url_or_skip()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{base}?schema={schema}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(scope="module")
def postgres_module_url() -> Iterator[str]:
    """Like ``postgres_url``, but one fresh schema shared by all the tests of a module.

    For histories recorded once and then only read by many tests.
    """
    with _fresh_schema() as url:
        yield url
