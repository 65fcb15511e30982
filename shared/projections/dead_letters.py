"""Dead letters: a message that keeps failing leaves the partition for a dead-letter topic,
with the error in its headers; an operator re-drives it once the cause is fixed."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.events.kafka_binding import NotAKinerjaEvent
from shared.projections.batch import Message, cannot_store, decode, park
from shared.projections.projection import Projection
from shared.projections.schema import use_schema
from shared.relay.topics import TopicSpec, dead_letter_topic
from shared.store.db import Connection

ORIGIN_HEADERS = ("x-dlq-topic", "x-dlq-partition", "x-dlq-offset")
FAILED, PARKED, UNSTORABLE = "failed", "parked", "unstorable"  # the x-dlq-reason of each

log = structlog.get_logger(__name__)


def dead_letter_spec(projection: Projection) -> TopicSpec:
    # one partition: dead letters are few, and a single order makes re-drive keep stream order
    return TopicSpec(dead_letter_topic(projection.name, projection.namespace), partitions=1)


async def send_dead_letters(
    producer: AIOKafkaProducer,
    projection: Projection,
    messages: Sequence[Message],
    reason: str,
    error: str = "",
) -> None:
    """Publish copies with their origin and error in headers; awaits the broker's acks."""
    failed_at = datetime.now(UTC).isoformat().encode()
    sent = []
    for message in messages:
        extra = [
            ("x-dlq-projection", projection.name.encode()),
            ("x-dlq-reason", reason.encode()),
            ("x-dlq-error", error[:2000].encode()),
            ("x-dlq-failed-at", failed_at),
            ("x-dlq-topic", message.topic.encode()),
            ("x-dlq-partition", str(message.partition).encode()),
            ("x-dlq-offset", str(message.offset).encode()),
        ]
        headers = [h for h in message.headers if not h[0].startswith("x-dlq-")] + extra
        sent.append(
            await producer.send(
                dead_letter_spec(projection).name, message.value, message.key, headers=headers
            )
        )
    for future in sent:
        await future


def failure_of(error: BaseException) -> tuple[str, str]:
    """The reason and the error text a dead letter of this failure carries."""
    unstorable = cannot_store(error)
    return (UNSTORABLE, unstorable) if unstorable else (FAILED, repr(error))


async def dead_letter(
    db: Connection,
    producer: AIOKafkaProducer,
    projection: Projection,
    schema: str,
    message: Message,
    error: BaseException,
    *,
    publish: bool = True,
) -> bool:
    """Move a failing message aside and park its stream, in one transaction with the offset.
    False when another runner already got past it. With `publish` False the message is
    already a dead letter waiting in the topic (a replay meeting it again): its stream is
    parked behind it all the same, and nothing is sent twice."""
    reason, text = failure_of(error)
    async with db.transaction():
        await use_schema(db, schema)
        next_offset = await db.fetchval(
            "SELECT next_offset FROM _offsets WHERE topic = $1 AND partition = $2 FOR UPDATE",
            message.topic,
            message.partition,
        )
        if next_offset is not None and message.offset < next_offset:
            return False
        try:
            envelope = decode(message)
        except NotAKinerjaEvent:
            envelope = None  # nothing to park: it belongs to no stream
        if envelope is not None:
            await park(db, envelope, text)
        await db.execute(
            "INSERT INTO _offsets (topic, partition, next_offset) VALUES ($1, $2, $3)"
            " ON CONFLICT (topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset",
            message.topic,
            message.partition,
            message.offset + 1,
        )
        if publish:
            await send_dead_letters(producer, projection, [message], reason, text)
    return True


class WaitingDeadLetters:
    """The dead letters of a projection that no re-drive has got past yet, as its dead-letter
    topic holds them from `start` (the re-drive's stored offset) on.

    A replay reads the projection's topics from their beginning and meets again every message
    the live read model parked: these are already waiting in the topic, and a second copy
    would show twice in `kinerja dlq list` and be re-driven twice. A message is the same
    dead letter when it comes from the same topic, partition and offset, or carries the same
    event id (the relay published it twice). Read lazily, on the first question, and read on
    only when a message is not found: what a live runner set aside during the replay counts
    too. Dead letters are few, so their origins are held in memory."""

    def __init__(self, bootstrap_servers: str, projection: Projection, start: int) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.partition = TopicPartition(dead_letter_spec(projection).name, 0)
        self.start = start
        self.origins: set[tuple[str, int, int]] = set()
        self.event_ids: set[bytes] = set()
        self._consumer: AIOKafkaConsumer | None = None

    async def already(self, messages: Sequence[Message]) -> list[bool]:
        """For each message, whether it waits in the dead-letter topic already."""
        found = [self._holds(message) for message in messages]
        if not all(found):
            await self._read_on()
            found = [self._holds(message) for message in messages]
        return found

    def _holds(self, message: Message) -> bool:
        if (message.topic, message.partition, message.offset) in self.origins:
            return True
        event_id = _header(message.headers, "ce_id")
        return event_id is not None and event_id in self.event_ids

    async def _read_on(self) -> None:
        if self._consumer is None:
            # no group: reading moves no one's offsets; earliest: a reset never skips ahead
            self._consumer = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap_servers,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
            )
            await self._consumer.start()
            self._consumer.assign([self.partition])
            self._consumer.seek(self.partition, self.start)
        consumer = self._consumer
        end = (await consumer.end_offsets([self.partition]))[self.partition]
        async with asyncio.timeout(60):
            while await consumer.position(self.partition) < end:
                batch = await consumer.getmany(self.partition, timeout_ms=500)
                for record in batch.get(self.partition, []):
                    self._remember(record)

    def _remember(self, record: Message) -> None:
        origin = [_header(record.headers, name) for name in ORIGIN_HEADERS]
        if None not in origin:
            topic, partition, offset = (value or b"" for value in origin)
            self.origins.add((topic.decode(), int(partition), int(offset)))
        event_id = _header(record.headers, "ce_id")
        if event_id is not None:
            self.event_ids.add(event_id)

    async def close(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None


def _header(headers: Sequence[tuple[str, bytes]], name: str) -> bytes | None:
    return next((value for key, value in headers if key == name), None)


@dataclass
class RedriveReport:
    applied: int = 0
    duplicates: int = 0
    unreadable: int = 0
    still_failing: list[str] = field(default_factory=list)
