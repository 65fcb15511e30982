import uuid

import asyncpg
import pytest

from shared.store.event_store import EventStore


@pytest.fixture
async def store(pool: asyncpg.Pool) -> EventStore:
    """A store in a schema of its own, as each service has."""
    store = EventStore(pool, f"svc_{uuid.uuid4().hex[:10]}")
    await store.migrate()
    return store
