import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from shared.store.db import create_pool
from shared.store.event_store import EventStore


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, max_size=24)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
async def store(pool: asyncpg.Pool) -> EventStore:
    """A store in a schema of its own, as each service has."""
    store = EventStore(pool, f"svc_{uuid.uuid4().hex[:10]}")
    await store.migrate()
    return store
