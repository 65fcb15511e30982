from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.integration.journal.world import World, running_world


@pytest.fixture
async def world(pool: asyncpg.Pool, kafka_bootstrap_servers: str) -> AsyncIterator[World]:
    async with running_world(pool, kafka_bootstrap_servers) as running:
        yield running
