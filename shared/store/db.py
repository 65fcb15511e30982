"""asyncpg pools and the connection type that both pools and plain connections hand out."""

import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
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


# The transaction of the request being served, when it has one (an idempotent POST: its key's
# answer commits with its events). The store writes and reads through it, so the events, the
# key and the answer commit or roll back together; everything else uses the pool as before.
_held: ContextVar[tuple[asyncpg.Pool, Connection] | None] = ContextVar("held", default=None)


@contextmanager
def holding(pool: asyncpg.Pool, connection: Connection) -> Iterator[None]:
    """While inside, `connection_of(pool)` hands out `connection`, whose transaction is open."""
    token = _held.set((pool, connection))
    try:
        yield
    finally:
        _held.reset(token)


@asynccontextmanager
async def connection_of(pool: asyncpg.Pool) -> AsyncIterator[Connection]:
    """The held transaction's connection when one is held on `pool`, else one from it."""
    held = _held.get()
    if held is not None and held[0] is pool:
        yield held[1]
        return
    async with pool.acquire() as acquired:
        yield acquired


# What a database that is away (restarting, failing over, out of connections) looks like to a
# client: the connection refused, reset or closed mid-query, the server shutting down or still
# starting, no connection slot left. Such a request may succeed a moment later, unlike a bug.
_AWAY = (
    ConnectionError,  # refused, reset, aborted
    TimeoutError,  # no answer: packets dropped, a failover under way
    socket.gaierror,  # its host name not resolvable yet (a pod starting)
    asyncpg.PostgresConnectionError,  # class 08, and a connection closed mid-operation
    asyncpg.exceptions.OperatorInterventionError,  # class 57: shutdown, starting up
    asyncpg.exceptions.TooManyConnectionsError,
)
# asyncpg's words for a pooled connection the server dropped (its proxy is detached at once)
_CLOSED = (
    "connection is closed",
    "connection was closed",
    "released back to the pool",
    "pool is closing",
)


def database_away(error: BaseException) -> bool:
    """Whether `error` says the database is out of reach for now (retry later), rather than
    that the request or the code is wrong: it does, or it was raised while handling one that
    does (asyncpg, cleaning up after a connection lost mid-COPY, raises "another operation is
    in progress" from the savepoint's rollback)."""
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        if _says_away(cause):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def _says_away(error: BaseException) -> bool:
    if isinstance(error, _AWAY):
        return True
    if isinstance(error, asyncpg.InterfaceError):
        return any(phrase in str(error) for phrase in _CLOSED)
    if isinstance(error, asyncpg.exceptions.InternalClientError):
        # "cannot switch to state ...": a statement sent on a connection the server has just
        # dropped, before asyncpg noticed
        return True
    # a host with several addresses, none answering: asyncio's OSError "Multiple exceptions"
    return type(error) is OSError and str(error).startswith("Multiple exceptions")
