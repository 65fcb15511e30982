"""The projection's schema: its own tables plus the runner's bookkeeping, side by side, so a
read-model change and the progress that caused it commit in one transaction."""

import hashlib
import weakref

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.projections.projection import Projection
from shared.store.db import Connection
from shared.store.migrations import quote_identifier

BOOKKEEPING = """
-- the fingerprint of the definition of the tables below (see ReadModelOutdated)
CREATE TABLE _definition (sha256 text NOT NULL);
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


class ReadModelOutdated(RuntimeError):
    """The live tables were made by another definition of the projection than this code's:
    applying to them would fail or, worse, fit. A replay rebuilds them from the topics."""

    def __init__(self, projection: Projection) -> None:
        super().__init__(
            f"the read model of {projection.name} (schema {projection.schema()}) was built by"
            f" another definition of its tables; rebuild it: kinerja replay {projection.name}"
        )


def definition(projection: Projection) -> str:
    """The fingerprint of the projection's tables, as its code defines them."""
    return hashlib.sha256(projection.tables.encode()).hexdigest()


async def create_schema(db: Connection, projection: Projection, schema: str) -> None:
    quoted = quote_identifier(schema)
    await db.execute(f"CREATE SCHEMA {quoted}")
    await use_schema(db, schema)
    await db.execute(BOOKKEEPING)
    await db.execute(projection.tables)
    await db.execute("INSERT INTO _definition VALUES ($1)", definition(projection))


async def ensure_live_schema(db: Connection, projection: Projection) -> None:
    """Create the live schema on first start; later starts find it, made by the same
    definition, or raise ReadModelOutdated."""
    async with db.transaction():
        await db.execute("SELECT pg_advisory_xact_lock(hashtext($1))", projection.lock_key())
        if not await _live_exists(db, projection):
            await create_schema(db, projection, projection.schema())
        elif await _made_by(db, projection.schema()) != definition(projection):
            raise ReadModelOutdated(projection)


async def is_outdated(db: Connection, projection: Projection) -> bool:
    """Whether the live tables exist but were made by another definition than this code's."""
    return await _live_exists(db, projection) and (
        await _made_by(db, projection.schema()) != definition(projection)
    )


async def _live_exists(db: Connection, projection: Projection) -> bool:
    found = await db.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", projection.schema())
    return bool(found)


async def _made_by(db: Connection, schema: str) -> str | None:
    exists = await db.fetchval("SELECT to_regclass($1) IS NOT NULL", f'"{schema}"._definition')
    if not exists:  # made before definitions were recorded: nothing vouches for it
        return None
    found: str | None = await db.fetchval(f'SELECT sha256 FROM "{schema}"._definition')
    return found


async def seek_to_stored(
    pool: asyncpg.Pool, consumer: AIOKafkaConsumer, schema: str, partitions: list[TopicPartition]
) -> None:
    """Continue each partition from the offset stored with the read model in `schema` (not
    Kafka's), or from its beginning when none is stored yet."""
    async with pool.acquire() as db:
        rows = await db.fetch(
            f"SELECT topic, partition, next_offset FROM {quote_identifier(schema)}._offsets"
        )
    stored = {TopicPartition(row["topic"], row["partition"]): row["next_offset"] for row in rows}
    for partition in partitions:
        if partition in stored:
            consumer.seek(partition, stored[partition])
        else:
            await consumer.seek_to_beginning(partition)


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
