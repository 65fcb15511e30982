"""asyncpg pools and the connection type that both pools and plain connections hand out."""

from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

if TYPE_CHECKING:
    Connection: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
else:  # asyncpg's classes are generic only in its stubs
    Connection = asyncpg.Connection | PoolConnectionProxy


async def create_pool(database_url: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """A pool for one service; created by its bootstrap, never at import time."""
    pool: asyncpg.Pool[Any] | None = await asyncpg.create_pool(
        database_url, min_size=min_size, max_size=max_size
    )
    assert pool is not None
    return pool
