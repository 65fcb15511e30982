"""The projection runner: a consumer group member that feeds a projection from Kafka.

aiokafka directly rather than a FastStream subscriber: the runner must seek each assigned
partition to the offset stored with the read model, apply whole fetched batches in one
database transaction, and decide per message between retry and dead letter.
"""

import asyncio
import contextlib

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError

from shared.observability.metrics import CONSUMER_LAG
from shared.projections.applier import Applier
from shared.projections.dead_letters import dead_letter_spec
from shared.projections.projection import Projection
from shared.projections.schema import ensure_live_schema, seek_to_stored
from shared.relay.topics import ensure_topics, wait_for_topics

log = structlog.get_logger(__name__)


class ProjectionRunner:
    def __init__(
        self,
        projection: Projection,
        pool: asyncpg.Pool,
        bootstrap_servers: str,
        *,
        batch_size: int = 500,
        attempts: int = 3,
        backoff_seconds: float = 0.2,
    ) -> None:
        self.projection = projection
        self.pool = pool
        self.bootstrap_servers = bootstrap_servers
        self.batch_size = batch_size
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self.group_id = f"kinerja.{projection.name}"
        self.assignment: set[TopicPartition] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; the batch in hand is finished before leaving the group."""
        async with self.pool.acquire() as db:
            await ensure_live_schema(db, self.projection)
        await ensure_topics(self.bootstrap_servers, [dead_letter_spec(self.projection)])
        if not await wait_for_topics(self.bootstrap_servers, self.projection.topics, stop):
            return
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers,
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.batch_size,
        )
        consumer.subscribe(list(self.projection.topics), listener=_SeekToStored(self, consumer))
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap_servers, enable_idempotence=True, acks="all"
        )
        await consumer.start()
        await producer.start()
        applier = Applier(
            self.projection,
            self.pool,
            producer,
            self.projection.schema(),
            attempts=self.attempts,
            backoff_seconds=self.backoff_seconds,
        )
        log.info("projection.started", projection=self.projection.name, group=self.group_id)
        try:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=200)
                if batches:
                    await applier.process(list(batches.values()))
                    await _commit_quietly(
                        consumer, {p: records[-1].offset + 1 for p, records in batches.items()}
                    )
                await self._measure_lag(consumer)
        finally:
            await consumer.stop()
            await producer.stop()
            log.info("projection.stopped", projection=self.projection.name)

    async def _measure_lag(self, consumer: AIOKafkaConsumer) -> None:
        for partition in consumer.assignment():
            highwater = consumer.highwater(partition)
            if highwater is not None:
                lag = highwater - await consumer.position(partition)
                CONSUMER_LAG.labels(
                    self.projection.name, partition.topic, str(partition.partition)
                ).set(lag)


class _SeekToStored(ConsumerRebalanceListener):  # type: ignore[misc]
    """On assignment, continue from the offsets stored with the read model, not Kafka's."""

    def __init__(self, runner: ProjectionRunner, consumer: AIOKafkaConsumer) -> None:
        self.runner = runner
        self.consumer = consumer

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self.runner.assignment -= set(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self.runner.assignment = set(assigned)
        await seek_to_stored(
            self.runner.pool, self.consumer, self.runner.projection.schema(), assigned
        )
        log.info(
            "projection.assigned", projection=self.runner.projection.name, partitions=len(assigned)
        )


async def _commit_quietly(consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
    # Kafka's committed offset is only for outside lag monitors; ours lives in PostgreSQL
    with contextlib.suppress(CommitFailedError, KafkaError):
        await consumer.commit(offsets)
