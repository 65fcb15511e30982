"""The projection's schema: its own tables plus the runner's bookkeeping, side by side, so a
read-model change and the progress that caused it commit in one transaction."""

import weakref

from shared.projections.projection import Projection
from shared.store.db import Connection
from shared.store.migrations import quote_identifier

BOOKKEEPING = """
CREATE TABLE _offsets (
    topic        text NOT NULL,
    partition    integer NOT NULL,
    next_offset  bigint NOT NULL,
    PRIMARY KEY (topic, partition)
);
-- the last version applied per stream: a redelivered or republished event is skipped
CREATE TABLE _streams (
    source     text NOT NULL,
    stream_id  text NOT NULL,
    version    integer NOT NULL,
    PRIMARY KEY (source, stream_id)
);
-- streams whose events wait in the dead-letter topic; later events of the stream join them
-- there, so a stream's events are never applied out of order. A re-drive that gets through
-- `through_version` releases the stream.
CREATE TABLE _parked (
    source          text NOT NULL,
    stream_id       text NOT NULL,
    through_version integer NOT NULL,
    first_event_id uuid,
    reason         text NOT NULL,
    parked_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, stream_id)
);
"""


async def create_schema(db: Connection, projection: Projection, schema: str) -> None:
    quoted = quote_identifier(schema)
    await db.execute(f"CREATE SCHEMA {quoted}")
    await use_schema(db, schema)
    await db.execute(BOOKKEEPING)
    await db.execute(projection.tables)


async def ensure_live_schema(db: Connection, projection: Projection) -> None:
    """Create the live schema on first start; later starts find it."""
    async with db.transaction():
        await db.execute("SELECT pg_advisory_xact_lock(hashtext($1))", projection.lock_key())
        exists = await db.fetchval(
            "SELECT 1 FROM pg_namespace WHERE nspname = $1", projection.schema()
        )
        if not exists:
            await create_schema(db, projection, projection.schema())


# the schema each connection last applied in: see use_schema
_SCHEMA_OF: "weakref.WeakKeyDictionary[object, str]" = weakref.WeakKeyDictionary()


async def use_schema(db: Connection, schema: str) -> None:
    """Name the projection's tables without their schema, for the rest of the transaction.

    asyncpg keeps prepared statements per connection by their text, with the parameter types
    of the tables the search path named when they were prepared. Two projections may send
    the same text for tables of their own (`INSERT INTO assignments ...`); on a connection
    that moves from one projection's schema to another's, the cached statement would encode
    the parameters for the other table. So the cache is dropped on such a move."""
    raw = getattr(db, "_con", db)  # a pooled connection's own connection outlives the proxy
    if _SCHEMA_OF.get(raw, schema) != schema:
        await db.reload_schema_state()
    _SCHEMA_OF[raw] = schema
    await db.execute(f"SET LOCAL search_path TO {quote_identifier(schema)}")
