"""Read back what is on a topic, the way an independent subscriber would."""

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer

from shared.events.envelope import Envelope
from shared.events.kafka_binding import from_record
from shared.relay.topics import topic_partitions


@dataclass(frozen=True)
class Consumed:
    """A record as a consumer hands it to the runner (its `Message`), made by a test."""

    topic: str
    partition: int
    offset: int
    key: bytes | None = None
    value: bytes | None = None  # None: not an event; decoding it fails
    headers: Sequence[tuple[str, bytes]] = ()


async def read_topic(
    bootstrap_servers: str,
    topic: str,
    *,
    until: Callable[[list[Envelope]], bool],
    within: float = 60.0,
) -> list[Envelope]:
    """Every envelope on the topic in partition order, from the start, until `until` holds."""
    # earliest: the offset reset that assign() starts must not race seek_to_beginning to the end
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    seen: list[Envelope] = []
    try:
        partitions = await topic_partitions(bootstrap_servers, [topic])
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        async with asyncio.timeout(within):
            while not until(seen):
                batches = await consumer.getmany(timeout_ms=200)
                for messages in batches.values():
                    seen += [from_record(m.value, m.headers) for m in messages if m.value]
    except TimeoutError:
        raise AssertionError(
            f"{topic}: condition not met after {within}s; saw {len(seen)}"
        ) from None
    finally:
        await consumer.stop()
    return seen


def first_seen_versions(envelopes: list[Envelope]) -> dict[str, list[int]]:
    """Per stream, versions in the order they first appeared (duplicates dropped)."""
    seen_ids: set[object] = set()
    versions: dict[str, list[int]] = {}
    for envelope in envelopes:
        if envelope.event_id not in seen_ids:
            seen_ids.add(envelope.event_id)
            versions.setdefault(envelope.stream_id, []).append(envelope.stream_version)
    return versions
