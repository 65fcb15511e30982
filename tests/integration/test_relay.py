"""The outbox relay: every appended event reaches the topic, in stream order, even across a
SIGKILL."""

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared.relay.outbox import OutboxRelay
from shared.relay.topics import FOREVER, TopicSpec, ensure_topics, topic_partitions
from shared.store.event_store import EventStore
from tests.support.events import TargetSet, context
from tests.support.kafka import first_seen_versions, read_topic
from tests.support.metrics import free_port, scrape, value

WRITERS = 20
STREAMS_PER_WRITER = 5
EVENTS_PER_STREAM = 6


async def write_concurrently(store: EventStore, prefix: str, pause: float = 0.0) -> set[str]:
    """Twenty writers, each appending one event at a time to its own streams."""

    async def writer(w: int) -> list[str]:
        ids = []
        for version in range(EVENTS_PER_STREAM):
            for s in range(STREAMS_PER_WRITER):
                nip = f"1990010120150310{w:02d}"
                [envelope] = await store.append(
                    f"{prefix}-{w}-{s}",
                    version,
                    [TargetSet(indicator=f"{s}", target=version)],
                    subject=nip,
                    context=context(),
                )
                ids.append(str(envelope.event_id))
                await asyncio.sleep(pause)
        return ids

    results = await asyncio.gather(*(writer(w) for w in range(WRITERS)))
    return {event_id for ids in results for event_id in ids}


@asynccontextmanager
async def running(relay: OutboxRelay) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        yield
    finally:
        stop.set()
        await task


def all_of(expected: set[str]):  # type: ignore[no-untyped-def]
    return lambda seen: expected <= {str(e.event_id) for e in seen}


async def test_twenty_concurrent_writers_every_event_reaches_the_topic_in_stream_order(
    store: EventStore, kafka_bootstrap_servers: str
) -> None:
    relay = OutboxRelay(store, kafka_bootstrap_servers, partitions=3, batch_size=37)

    async with running(relay):
        written = await write_concurrently(store, "w")
        seen = await read_topic(kafka_bootstrap_servers, relay.topic, until=all_of(written))

    assert {str(e.event_id) for e in seen} == written
    versions = first_seen_versions(seen)
    assert len(versions) == WRITERS * STREAMS_PER_WRITER
    assert all(v == list(range(1, EVENTS_PER_STREAM + 1)) for v in versions.values())
    assert all(e.is_intact() for e in seen)


async def test_published_messages_are_keyed_by_nip_and_lag_drains_to_zero(
    store: EventStore, kafka_bootstrap_servers: str, pool: asyncpg.Pool
) -> None:
    relay = OutboxRelay(store, kafka_bootstrap_servers, partitions=3)
    await store.append(
        "k-1",
        0,
        [TargetSet(indicator="a", target=1)],
        subject="198001012005011001",
        context=context(),
    )
    async with pool.acquire() as connection:
        assert (await relay.lag(connection)).events == 1

        async with running(relay):
            [seen] = await read_topic(
                kafka_bootstrap_servers, relay.topic, until=lambda s: len(s) == 1
            )
            await asyncio.sleep(0.2)  # the checkpoint is written right after the broker's ack

        assert seen.subject == "198001012005011001"
        assert (await relay.lag(connection)).events == 0


async def test_each_nip_goes_to_the_partition_a_plain_producer_send_would_choose(
    store: EventStore, kafka_bootstrap_servers: str
) -> None:
    """The relay builds its own record batches; a NIP must still land where any Kafka
    client's default partitioner puts that key, or keyed joins with other topics break."""
    nips = [f"1990010120150310{n:02d}" for n in range(40)]
    for n, nip in enumerate(nips):
        await store.append(
            f"p-{n}", 0, [TargetSet(indicator="a", target=n)], subject=nip, context=context()
        )
    relay = OutboxRelay(store, kafka_bootstrap_servers, partitions=6, batch_size=7)
    async with running(relay):
        relayed = await partitions_of_keys(kafka_bootstrap_servers, relay.topic, len(nips))

    reference = f"{relay.topic}.reference"
    await ensure_topics(kafka_bootstrap_servers, [TopicSpec(reference, 6, 1)])
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap_servers)
    await producer.start()
    try:
        for nip in nips:
            await producer.send_and_wait(reference, b"{}", nip.encode())
    finally:
        await producer.stop()
    assert relayed == await partitions_of_keys(kafka_bootstrap_servers, reference, len(nips))
    assert len(set(relayed.values())) > 1


async def partitions_of_keys(bootstrap: str, topic: str, count: int) -> dict[bytes, int]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    found: dict[bytes, int] = {}
    try:
        partitions = await topic_partitions(bootstrap, [topic])
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        async with asyncio.timeout(60):
            while len(found) < count:
                for messages in (await consumer.getmany(timeout_ms=200)).values():
                    found |= {m.key: m.partition for m in messages if m.key is not None}
    finally:
        await consumer.stop()
    return found


def start_relay(
    service: str, database_url: str, bootstrap: str, metrics_port: int = 0
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "KINERJA_DATABASE_URL": database_url,
        "KINERJA_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "KINERJA_TOPIC_PARTITIONS": "3",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shared.relay",
            "--service",
            service,
            "--batch-size",
            "20",
            "--metrics-port",
            str(metrics_port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def published_position(pool: asyncpg.Pool, store: EventStore) -> int:
    return (
        await pool.fetchval(
            f"SELECT coalesce(max(position), 0) FROM {store.schema}.relay_checkpoints"
        )
        or 0
    )


async def wait_until_published_beyond(pool: asyncpg.Pool, store: EventStore, position: int) -> int:
    async with asyncio.timeout(60):
        while (published := await published_position(pool, store)) <= position:
            await asyncio.sleep(0.02)
    return published


async def test_a_relay_killed_with_sigkill_mid_run_resumes_on_restart_with_nothing_lost(
    store: EventStore, kafka_bootstrap_servers: str, database_url: str, pool: asyncpg.Pool
) -> None:
    [seed] = await store.append(
        "seed", 0, [TargetSet(indicator="a", target=0)], subject="1", context=context()
    )
    relay = start_relay(store.service, database_url, kafka_bootstrap_servers)
    try:
        seed_position = await wait_until_published_beyond(pool, store, 0)
        writing = asyncio.create_task(write_concurrently(store, "crash", pause=0.03))
        await wait_until_published_beyond(pool, store, seed_position)
        relay.send_signal(signal.SIGKILL)
        relay.wait()
        assert not writing.done(), "the writers should still be writing when the relay dies"
        written = await writing | {str(seed.event_id)}
        last_appended = await pool.fetchval(f"SELECT max(position) FROM {store.schema}.events")
        assert await published_position(pool, store) < last_appended

        port = free_port()
        relay = start_relay(store.service, database_url, kafka_bootstrap_servers, port)
        seen = await read_topic(
            kafka_bootstrap_servers, f"kinerja.{store.service}.v1", until=all_of(written)
        )
        async with asyncio.timeout(30):  # publish lag, as a scraper sees it, drains to zero
            while value(await scrape(port), "kinerja_relay_lag_events", service=store.service) != 0:
                await asyncio.sleep(0.2)
    finally:
        relay.send_signal(signal.SIGTERM)
        assert relay.wait(timeout=30) == 0, "a relay stops cleanly on SIGTERM"

    versions = first_seen_versions(seen)
    assert {str(e.event_id) for e in seen} == written
    assert all(
        v == list(range(1, EVENTS_PER_STREAM + 1)) for k, v in versions.items() if k != "seed"
    )


async def test_topics_are_made_once_with_their_settings(
    kafka_bootstrap_servers: str, unique_topic: str
) -> None:
    """Events are kept forever: a topic made with the broker's defaults would lose them after
    a week. Asking again creates nothing and says so; an existing topic among new ones does
    not stop them being made."""
    spec = TopicSpec(unique_topic, 3)
    assert await ensure_topics(kafka_bootstrap_servers, [spec]) == [unique_topic]
    assert await ensure_topics(kafka_bootstrap_servers, [spec]) == []
    assert await ensure_topics(
        kafka_bootstrap_servers, [spec, TopicSpec(f"{unique_topic}.b", 1)]
    ) == [f"{unique_topic}.b"]

    assert len(await topic_partitions(kafka_bootstrap_servers, [unique_topic])) == 3
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap_servers)
    await admin.start()
    try:
        [response] = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, unique_topic, dict.fromkeys(FOREVER))]
        )
    finally:
        await admin.close()
    [(_, _, _, _, entries)] = response.resources
    assert {name: value for name, value, *_ in entries} == FOREVER
