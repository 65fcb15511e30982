"""The outbox relay: publishes every event of a service's store to its topic, in commit order.

The events table is the outbox: the relay reads it by the gap-safe commit order of
`EventStore.read_all` and keeps its checkpoint in the same database, so an append costs no
second write. Publishing is at least once: a relay killed between sending and saving its
checkpoint sends that batch again on restart, with the same event ids.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder

from shared.events.kafka_binding import Record, to_record
from shared.observability.metrics import RELAY_LAG_EVENTS, RELAY_LAG_SECONDS, RELAY_PUBLISHED
from shared.relay.topics import TopicSpec, ensure_topics, service_topic
from shared.store.db import Connection
from shared.store.event_store import START, EventStore, Position, StoredEvent

log = structlog.get_logger(__name__)
LAG_COUNT_CAP = 1_000_000  # counting further would cost more than the number is worth
# a whole round of a partition in one record batch, well under the broker's 1 MiB per batch
MAX_BATCH_BYTES = 768 * 1024


@dataclass(frozen=True)
class Lag:
    events: int
    seconds: float


class OutboxRelay:
    def __init__(
        self,
        store: EventStore,
        bootstrap_servers: str,
        *,
        partitions: int = 6,
        replication_factor: int = 1,
        batch_size: int = 1000,
        idle_interval: float = 0.05,
        namespace: str = "kinerja",
        topic: str | None = None,
    ) -> None:
        self.store = store
        self.bootstrap_servers = bootstrap_servers
        # the store's schema is the service's name, and so gives the topic, unless told otherwise
        self.topic = topic or service_topic(store.service, namespace)
        self.name = f"relay:{self.topic}"
        self.topic_spec = TopicSpec(self.topic, partitions, replication_factor)
        self.batch_size = batch_size
        self.idle_interval = idle_interval

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until `stop` is set. Only one relay per store publishes at a time; others
        wait as standbys, so two replicas never interleave a stream's events."""
        await ensure_topics(self.bootstrap_servers, [self.topic_spec])
        async with self._leadership(stop) as connection:
            if connection is None:
                return
            async with self._producer() as producer:
                await self._publish_until(stop, connection, producer)

    async def _publish_until(
        self, stop: asyncio.Event, connection: Connection, producer: AIOKafkaProducer
    ) -> None:
        checkpoint = await self._checkpoint(connection)
        log.info("relay.started", topic=self.topic, checkpoint=checkpoint)
        while not stop.is_set():
            batch = await self.store.read_all(checkpoint, self.batch_size)
            if batch:
                checkpoint = await self._publish(connection, producer, batch)
                continue
            lag = await self.lag(connection, checkpoint)
            RELAY_LAG_EVENTS.labels(self.store.service).set(lag.events)
            RELAY_LAG_SECONDS.labels(self.store.service).set(lag.seconds)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.idle_interval)
        log.info("relay.stopped", topic=self.topic, checkpoint=checkpoint)

    async def _publish(
        self, connection: Connection, producer: AIOKafkaProducer, batch: list[StoredEvent]
    ) -> Position:
        sent = await self._send([to_record(stored.envelope) for stored in batch], producer)
        await asyncio.gather(*sent)  # every broker acknowledgement (acks=all) before moving on
        checkpoint = batch[-1].position
        await connection.execute(
            f"INSERT INTO {self.store.schema}.relay_checkpoints (relay, transaction_id, position)"
            " VALUES ($1, $2::text::xid8, $3) ON CONFLICT (relay) DO UPDATE SET"
            " transaction_id = EXCLUDED.transaction_id, position = EXCLUDED.position,"
            " updated_at = now()",
            self.name,
            str(checkpoint.transaction_id),
            checkpoint.position,
        )
        RELAY_PUBLISHED.labels(self.store.service, self.topic).inc(len(batch))
        return checkpoint

    async def _send(
        self, records: list[Record], producer: AIOKafkaProducer
    ) -> list[asyncio.Future[object]]:
        """Records in record batches built here, one per partition and round, rather than one
        `send` each: a third of the relay's work per event, and far fewer produce requests for
        the broker. Partitions are chosen as `send` chooses them (the key's murmur2, so one
        NIP stays on one partition), and a partition's batches queue in order."""
        partitions = sorted(await producer.partitions_for(self.topic))
        partition_of: dict[bytes, int] = {}
        open_batches: dict[int, BatchBuilder] = {}
        sent = []
        for record in records:
            partition = partition_of.get(record.key)
            if partition is None:
                partition = partition_of[record.key] = PARTITIONER(
                    record.key, partitions, partitions
                )
            builder = open_batches.get(partition)
            if builder is None or not _append(builder, record):
                if builder is not None:  # full: it goes, and the record opens the next one
                    sent.append(await producer.send_batch(builder, self.topic, partition=partition))
                builder = open_batches[partition] = producer.create_batch()
                if not _append(builder, record):
                    raise ValueError(f"an event of {record.key!r} does not fit in a record batch")
        for partition, builder in open_batches.items():
            sent.append(await producer.send_batch(builder, self.topic, partition=partition))
        return sent

    async def _checkpoint(self, connection: Connection) -> Position:
        row = await connection.fetchrow(
            "SELECT transaction_id::text::bigint AS txid, position"
            f" FROM {self.store.schema}.relay_checkpoints WHERE relay = $1",
            self.name,
        )
        return Position(row["txid"], row["position"]) if row else START

    async def lag(self, connection: Connection, checkpoint: Position | None = None) -> Lag:
        """Events recorded but not yet published, and the age of the oldest of them."""
        checkpoint = checkpoint or await self._checkpoint(connection)
        row = await connection.fetchrow(
            "SELECT count(*) AS events, min(recorded_at) AS oldest FROM ("
            f" SELECT recorded_at FROM {self.store.schema}.events"
            " WHERE (transaction_id, position) > ($1::text::xid8, $2) LIMIT $3) AS pending",
            str(checkpoint.transaction_id),
            checkpoint.position,
            LAG_COUNT_CAP,
        )
        assert row is not None  # an aggregate always returns a row
        oldest = row["oldest"]
        age = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
        return Lag(row["events"], max(age, 0.0))

    @contextlib.asynccontextmanager
    async def _leadership(self, stop: asyncio.Event) -> AsyncIterator[Connection | None]:
        """A session advisory lock on a connection held for the relay's life; if that
        connection dies, the lock goes with it and the checkpoint write fails loudly."""
        async with self.store.pool.acquire() as connection:
            while not await connection.fetchval(
                "SELECT pg_try_advisory_lock(hashtext($1))", self.name
            ):
                log.info("relay.standby", topic=self.topic)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)
                if stop.is_set():
                    yield None
                    return
            try:
                yield connection
            finally:
                await connection.execute("SELECT pg_advisory_unlock(hashtext($1))", self.name)

    @contextlib.asynccontextmanager
    async def _producer(self) -> AsyncIterator[AIOKafkaProducer]:
        # idempotent with acks=all: no duplicates from producer retries, order kept per partition
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap_servers,
            enable_idempotence=True,
            acks="all",
            linger_ms=5,
            max_batch_size=MAX_BATCH_BYTES,
        )
        await producer.start()
        try:
            yield producer
        finally:
            await producer.stop()


PARTITIONER = DefaultPartitioner()


def _append(builder: BatchBuilder, record: Record) -> bool:
    """False when the batch is full."""
    appended = builder.append(
        timestamp=None, key=record.key, value=record.value, headers=record.headers
    )
    return appended is not None
