"""What the operator's commands ask Kafka: which partitions there are, where they end, how far
a consumer group committed, and the messages of a small topic. Read only: nothing here
creates a topic or joins a group."""

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.cli.common import CommandError

STALL_SECONDS = 30.0


@asynccontextmanager
async def admin_client(bootstrap_servers: str) -> AsyncIterator[AIOKafkaAdminClient]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        yield admin
    finally:
        await admin.close()


@asynccontextmanager
async def plain_consumer(bootstrap_servers: str) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer of no group, so reading moves no one's offsets."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    # one turn of the loop for the task aiokafka starts for a consumer of no group: cancelled
    # before it ever ran, stop() would raise CancelledError (a consumer stopped at once)
    await asyncio.sleep(0)
    try:
        yield consumer
    finally:
        await consumer.stop()


async def partitions_of(
    admin: AIOKafkaAdminClient, topics: Iterable[str]
) -> dict[str, list[TopicPartition]]:
    """The partitions of each topic that exists; a topic not there is left out."""
    wanted = sorted(set(topics) & set(await admin.list_topics()))
    found: dict[str, list[TopicPartition]] = {}
    for description in await admin.describe_topics(wanted) if wanted else []:
        if not description["error_code"] and description["partitions"]:
            found[description["topic"]] = sorted(
                TopicPartition(description["topic"], p["partition"])
                for p in description["partitions"]
            )
    return found


async def committed(
    admin: AIOKafkaAdminClient, group_id: str, partitions: list[TopicPartition]
) -> dict[TopicPartition, int]:
    """The group's committed offsets of `partitions` (those it never committed are absent)."""
    offsets = await admin.list_consumer_group_offsets(group_id, partitions=partitions)
    return {p: meta.offset for p, meta in offsets.items() if meta.offset >= 0}


async def read_from(
    consumer: AIOKafkaConsumer, partition: TopicPartition, start: int = 0
) -> list[Any]:
    """Every record of one partition from `start` to the end it had when asked."""
    consumer.assign([partition])
    end = (await consumer.end_offsets([partition]))[partition]
    consumer.seek(partition, start)
    records: list[Any] = []
    clock = asyncio.get_running_loop().time
    last_news = clock()
    while await consumer.position(partition) < end:
        batch = await consumer.getmany(partition, timeout_ms=500)
        fetched = [r for r in batch.get(partition, []) if r.offset < end]
        records += fetched
        if fetched:
            last_news = clock()
        elif clock() - last_news > STALL_SECONDS:
            raise CommandError(f"{partition.topic} handed nothing for {STALL_SECONDS:.0f}s")
    return records
