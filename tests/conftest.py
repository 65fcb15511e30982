"""Session fixtures: the real Kafka broker and PostgreSQL server, and the test markers."""

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from shared.store.db import create_pool
from tests.support.infrastructure import (
    IN_CI,
    Infrastructure,
    InfrastructureUnavailable,
    check_reachable,
    provide,
)

TESTS = Path(__file__).parent
MARKER_BY_FOLDER = {
    "unit": "unit",
    "integration": "integration",
    "e2e": "e2e",
    "faults": "faults",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by its folder, so `-m unit` or `-m integration` selects by kind."""
    for item in items:
        folder = item.path.relative_to(TESTS).parts[0] if item.path.is_relative_to(TESTS) else ""
        if folder in MARKER_BY_FOLDER:
            item.add_marker(MARKER_BY_FOLDER[folder])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """In CI an integration, end-to-end or fault test never skips: a skip there is a failure."""
    report: pytest.TestReport = yield
    on_servers = any(item.get_closest_marker(m) for m in ("integration", "e2e", "faults"))
    if IN_CI and report.skipped and on_servers:
        report.outcome = "failed"
        report.longrepr = f"test on real servers skipped under CI=true: {report.longrepr}"
    return report


@pytest.fixture(scope="session")
def infrastructure() -> Iterator[Infrastructure]:
    """A real broker and database for the whole session; under CI, failing to reach them fails."""
    try:
        with provide() as found:
            check_reachable(found)
            print(f"\ninfrastructure: {found.source}: kafka {found.kafka_bootstrap_servers}")
            yield found
    except InfrastructureUnavailable as error:
        if IN_CI:
            pytest.fail(f"CI=true and the infrastructure is unreachable: {error}")
        pytest.skip(f"no Kafka/PostgreSQL for integration tests: {error}")


@pytest.fixture(scope="session")
def kafka_bootstrap_servers(infrastructure: Infrastructure) -> str:
    return infrastructure.kafka_bootstrap_servers


@pytest.fixture(scope="session")
def database_url(infrastructure: Infrastructure) -> Iterator[str]:
    """A database made for this session and dropped after it, so no test touches real data."""
    name = f"kinerja_test_{uuid.uuid4().hex[:12]}"
    admin_url = infrastructure.database_url
    asyncio.run(_execute(admin_url, f'CREATE DATABASE "{name}"'))
    yield urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    asyncio.run(_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _execute(database_url: str, sql: str) -> None:
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture
async def pg(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database_url)
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
def unique_topic() -> str:
    return f"kinerja.test.{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the session's database."""
    pool = await create_pool(database_url, max_size=24)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture(autouse=True)
def _library_log_levels() -> Iterator[None]:
    """Commands run in process (the CLI's tests) quieten aiokafka for good; the next test
    gets the level back."""
    quieted = logging.getLogger("aiokafka")
    level = quieted.level
    yield
    quieted.setLevel(level)
