"""Walk a topic from its beginning to the end it had when the walk began, without a consumer
group, checking each stream's chain in partition order."""

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from shared.events.kafka_binding import NotAKinerjaEvent, from_record
from shared.verification.chain import StreamChain
from shared.verification.report import (
    UNKNOWN_STREAM,
    Audit,
    Break,
    Kind,
    VerificationUnavailable,
    one_line,
)

Progress = Callable[[int], None]
BATCH = 2000
POLL_MS = 500
# a broker that hands nothing for this long while offsets remain is not going to
STALL_SECONDS = 30.0


class TopicWalk:
    """Feeds each message to its stream's chain; only each stream's head is kept."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.breaks: list[Break] = []
        self.events = 0
        self.chains: dict[str, StreamChain] = {}

    def read(
        self, partition: int, offset: int, value: bytes | None, headers: Sequence[tuple[str, bytes]]
    ) -> None:
        where = f"topic {self.topic} partition {partition} offset {offset}"
        self.events += 1
        try:
            event = from_record(value or b"", headers)
        except NotAKinerjaEvent as error:
            detail = f"not a CloudEvent of ours: {one_line(str(error))}"
            self.breaks.append(Break(where, UNKNOWN_STREAM, None, Kind.FORGED, detail))
            return
        chain = self.chains.get(event.stream_id)
        if chain is None:
            chain = self.chains[event.stream_id] = StreamChain(event.stream_id)
        self.breaks += chain.follow(event, where)

    def finish(self) -> Audit:
        for chain in self.chains.values():
            self.breaks += chain.finish()
        return Audit(self.breaks, self.events, len(self.chains))


async def audit_topic(
    bootstrap_servers: str, topic: str, *, progress: Progress | None = None
) -> Audit:
    """Every message on the topic up to the end offsets it had at the start."""
    partitions = await _partitions(bootstrap_servers, topic)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        # the reset that assign() starts by itself races seek_to_beginning: both must say earliest
        auto_offset_reset="earliest",
    )
    try:
        try:
            await consumer.start()
        except KafkaError as error:
            raise _unreachable(bootstrap_servers, error) from error
        consumer.assign(partitions)
        # taken before reading: what is published during the walk is the next walk's to check
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        await consumer.seek_to_beginning(*partitions)
        walk = TopicWalk(topic)
        await _read_to(consumer, ends, walk, progress)
        return walk.finish()
    finally:
        await consumer.stop()


async def verify_topic(
    bootstrap_servers: str, topic: str, *, progress: Progress | None = None
) -> list[Break]:
    """The breaks on a topic; `progress` is told how many more messages were checked after
    each batch."""
    return (await audit_topic(bootstrap_servers, topic, progress=progress)).breaks


async def _partitions(bootstrap_servers: str, topic: str) -> list[TopicPartition]:
    # asked of the admin API: a consumer's topics() does not fill its own partition metadata
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    try:
        await admin.start()
        [description] = await admin.describe_topics([topic])
    except KafkaError as error:
        raise _unreachable(bootstrap_servers, error) from error
    finally:
        await admin.close()
    if description["error_code"] or not description["partitions"]:
        raise VerificationUnavailable(f"topic {topic} does not exist")
    return [TopicPartition(topic, p["partition"]) for p in description["partitions"]]


def _unreachable(bootstrap_servers: str, error: KafkaError) -> VerificationUnavailable:
    return VerificationUnavailable(f"cannot reach the Kafka broker at {bootstrap_servers}: {error}")


async def _read_to(
    consumer: AIOKafkaConsumer,
    ends: dict[TopicPartition, int],
    walk: TopicWalk,
    progress: Progress | None,
) -> None:
    unread = {p for p, end in ends.items() if await consumer.position(p) < end}
    clock = asyncio.get_running_loop().time
    last_news = clock()
    while unread:
        batches = await consumer.getmany(*unread, timeout_ms=POLL_MS, max_records=BATCH)
        read = _feed(batches, ends, walk)
        if read and progress is not None:
            progress(read)
        done = {p for p in unread if await consumer.position(p) >= ends[p]}
        if done:
            consumer.pause(*done)  # past the captured end: later messages are not ours to read
            unread -= done
        if read or done:
            last_news = clock()
        elif clock() - last_news > STALL_SECONDS:
            left = ", ".join(str(p.partition) for p in sorted(unread))
            raise VerificationUnavailable(
                f"topic {walk.topic}: no messages for {STALL_SECONDS:.0f}s, partitions {left}"
                " not read to their end"
            )


def _feed(
    batches: dict[TopicPartition, list[Any]], ends: dict[TopicPartition, int], walk: TopicWalk
) -> int:
    read = 0
    for partition, records in batches.items():
        for record in records:
            if record.offset < ends[partition]:
                walk.read(partition.partition, record.offset, record.value, record.headers)
                read += 1
    return read
