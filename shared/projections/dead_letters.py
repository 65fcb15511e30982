"""Dead letters: a message that keeps failing leaves the partition for a dead-letter topic,
with the error in its headers; an operator re-drives it once the cause is fixed."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from shared.events.kafka_binding import NotAKinerjaEvent
from shared.projections.batch import Message, decode, park
from shared.projections.projection import Projection
from shared.projections.schema import use_schema
from shared.relay.topics import TopicSpec, dead_letter_topic
from shared.store.db import Connection

ORIGIN_HEADERS = ("x-dlq-topic", "x-dlq-partition", "x-dlq-offset")


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


async def dead_letter(
    db: Connection,
    producer: AIOKafkaProducer,
    projection: Projection,
    schema: str,
    message: Message,
    error: BaseException,
) -> bool:
    """Move a failing message aside and park its stream, in one transaction with the offset.
    False when another runner already got past it."""
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
            await park(db, envelope, repr(error))
        await db.execute(
            "INSERT INTO _offsets (topic, partition, next_offset) VALUES ($1, $2, $3)"
            " ON CONFLICT (topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset",
            message.topic,
            message.partition,
            message.offset + 1,
        )
        await send_dead_letters(producer, projection, [message], "failed", repr(error))
    return True


@dataclass
class RedriveReport:
    applied: int = 0
    duplicates: int = 0
    unreadable: int = 0
    still_failing: list[str] = field(default_factory=list)
