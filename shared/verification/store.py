"""Walk a service's event store, stream by stream, through a server-side cursor."""

from collections.abc import Callable
from typing import Any, TypeAlias

import asyncpg

from shared.store.db import Connection
from shared.store.event_store import EVENT_COLUMNS, envelope_from_row
from shared.store.migrations import quote_identifier
from shared.verification.chain import StreamChain, head_breaks
from shared.verification.report import STORE, Audit, Break, VerificationUnavailable

Database: TypeAlias = "asyncpg.Pool[Any] | Connection"
Progress = Callable[[int], None]
BATCH = 2000


class StoreWalk:
    """Feeds rows in (stream_id, stream_version) order to one StreamChain at a time, so memory
    stays that of one stream however large the store."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.breaks: list[Break] = []
        self.events = 0
        self.streams = 0
        self._chain: StreamChain | None = None
        self._head: tuple[int | None, str | None] = (None, None)

    def read(self, row: asyncpg.Record) -> None:
        """One event row, with its stream's recorded head as `head_version`, `head_hash`."""
        if self._chain is None or self._chain.stream_id != row["stream_id"]:
            self._close_stream()
            self._chain = StreamChain(row["stream_id"])
            self._head = (row["head_version"], row["head_hash"])
            self.streams += 1
        self.events += 1
        self.breaks += self._chain.follow(envelope_from_row(row, self.service), STORE)

    def read_headless(self, row: asyncpg.Record) -> None:
        """A stream whose head is recorded but none of whose events is stored."""
        self.streams += 1
        self.breaks += head_breaks(row["stream_id"], None, row["version"], row["last_hash"])

    def finish(self) -> Audit:
        self._close_stream()
        return Audit(self.breaks, self.events, self.streams)

    def _close_stream(self) -> None:
        if self._chain is not None:
            self.breaks += head_breaks(self._chain.stream_id, self._chain.head, *self._head)
            self._chain = None


_EVENT_FIELDS = [name.strip() for name in EVENT_COLUMNS.split(",") if name.strip() != "payload"]


async def audit_store(
    database: Database, service: str, *, progress: Progress | None = None
) -> Audit:
    """Every stream of `<service>.events` checked link by link, and against its head."""
    if isinstance(database, asyncpg.Pool):
        async with database.acquire() as connection:
            return await _audit(connection, service, progress)
    return await _audit(database, service, progress)


async def verify_store(
    connection_or_pool: Database, service: str, *, progress: Progress | None = None
) -> list[Break]:
    """The breaks in a service's event store; `progress` is told how many more events were
    checked after each batch."""
    return (await audit_store(connection_or_pool, service, progress=progress)).breaks


async def _audit(connection: Connection, service: str, progress: Progress | None) -> Audit:
    schema, walk = quote_identifier(service), StoreWalk(service)
    columns = ", ".join(f"e.{name}" for name in [*_EVENT_FIELDS, "payload"])
    events = (
        f"SELECT {columns}, s.version AS head_version, s.last_hash AS head_hash"
        f" FROM {schema}.events e LEFT JOIN {schema}.streams s USING (stream_id)"
        " ORDER BY e.stream_id, e.stream_version"
    )
    headless = (
        f"SELECT stream_id, version, last_hash FROM {schema}.streams s WHERE NOT EXISTS"
        f" (SELECT FROM {schema}.events e WHERE e.stream_id = s.stream_id) ORDER BY stream_id"
    )
    # one snapshot for both queries, so an append during the walk cannot look like a break
    async with connection.transaction(isolation="repeatable_read", readonly=True):
        try:
            await _each(connection, events, walk.read, progress)
            await _each(connection, headless, walk.read_headless, None)
        except asyncpg.UndefinedTableError as error:
            raise VerificationUnavailable(f"no event store for service {service}") from error
    return walk.finish()


async def _each(
    connection: Connection,
    query: str,
    read: Callable[[asyncpg.Record], None],
    progress: Progress | None,
) -> None:
    cursor = await connection.cursor(query)
    while rows := await cursor.fetch(BATCH):
        for row in rows:
            read(row)
        if progress is not None:
            progress(len(rows))
