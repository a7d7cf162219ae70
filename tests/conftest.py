"""Shared fixtures: stores on every backend, the project's PostgreSQL server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

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
    return url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL to a fresh, empty schema on the project's PostgreSQL server."""
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


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The same test on every kind of store: in-memory, an SQLite file, PostgreSQL."""
    kind = request.param
    if kind == "memory":
        return "memory"
    if kind == "sqlite":
        return str(tmp_path_factory.mktemp("store") / "events.sqlite")
    return str(request.getfixturevalue("postgres_url"))
