"""The tamper-evidence check against the real PostgreSQL and Kafka: a store and a topic are
written honestly, then altered the way an intruder or a faulty publisher would."""

import asyncio
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from shared.events.envelope import Envelope
from shared.events.kafka_binding import Record, to_record
from shared.relay.topics import TopicSpec, ensure_topics, service_topic
from shared.store.event_store import EventStore
from shared.verify import Break, verify_store, verify_topic
from tests.support.events import TargetSet, context

NIP = "199001012015031001"
OTHER_NIP = "198507072010011002"
ROOT = Path(__file__).parents[2]


async def seed(store: EventStore) -> dict[str, list[Envelope]]:
    """Two streams of two NIPs: skp-1 at version 3 (two appends), skp-2 at version 2."""
    await store.append(
        "skp-1", 0, [TargetSet(indicator="a", target=1)], subject=NIP, context=context()
    )
    await store.append(
        "skp-1",
        1,
        [TargetSet(indicator="b", target=2), TargetSet(indicator="c", target=3)],
        subject=NIP,
        context=context(),
    )
    await store.append(
        "skp-2",
        0,
        [TargetSet(indicator="x", target=7), TargetSet(indicator="y", target=8)],
        subject=OTHER_NIP,
        context=context(),
    )
    return {stream: await store.read_stream(stream) for stream in ("skp-1", "skp-2")}


def verdicts(breaks: list[Break]) -> list[tuple[str, str, int | None]]:
    return [(b.kind, b.stream_id, b.version) for b in breaks]


async def publish(bootstrap_servers: str, topic: str, records: Sequence[Record]) -> None:
    """In the given order, one at a time, so the order within each partition is this order."""
    await ensure_topics(bootstrap_servers, [TopicSpec(topic, 3)])
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    await producer.start()
    try:
        for record in records:
            await producer.send_and_wait(
                topic, record.value, key=record.key, headers=record.headers
            )
    finally:
        await producer.stop()


def records(*envelopes: Envelope) -> list[Record]:
    return [to_record(envelope) for envelope in envelopes]


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    stdout: str
    stderr: str


async def run_verify(*arguments: str, database_url: str, bootstrap_servers: str) -> Outcome:
    """`python -m shared.verify` as an operator runs it, configured by the environment."""
    environment = {
        **os.environ,
        "KINERJA_DATABASE_URL": database_url,
        "KINERJA_KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "shared.verify",
        *arguments,
        cwd=ROOT,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(120):
        stdout, stderr = await process.communicate()
    assert process.returncode is not None
    return Outcome(process.returncode, stdout.decode(), stderr.decode())


async def test_a_clean_store_and_topic_report_nothing_and_the_command_exits_0(
    store: EventStore, database_url: str, kafka_bootstrap_servers: str
) -> None:
    streams = await seed(store)
    topic = service_topic(store.service)
    await publish(kafka_bootstrap_servers, topic, records(*streams["skp-1"], *streams["skp-2"]))

    assert await verify_store(store.pool, store.service) == []
    assert await verify_topic(kafka_bootstrap_servers, topic) == []
    outcome = await run_verify(
        "--service",
        store.service,
        database_url=database_url,
        bootstrap_servers=kafka_bootstrap_servers,
    )

    assert outcome.exit_code == 0, outcome
    assert "BREAK" not in outcome.stdout
    assert f"store {store.service}: verified 5 events in 2 streams: 0 breaks" in outcome.stdout
    assert f"topic {topic}: verified 5 events in 2 streams: 0 breaks" in outcome.stdout
    assert outcome.stdout.splitlines()[-1] == "verified 10 events in 4 streams: 0 breaks"


async def test_an_edited_payload_is_reported_with_its_stream_and_version_and_exits_1(
    store: EventStore, pool: asyncpg.Pool, database_url: str, kafka_bootstrap_servers: str
) -> None:
    await seed(store)
    await pool.execute(
        f"UPDATE {store.schema}.events SET payload = $1"
        " WHERE stream_id = 'skp-1' AND stream_version = 2",
        json.dumps({"indicator": "b", "target": 200}),
    )

    breaks = await verify_store(store.pool, store.service)
    outcome = await run_verify(
        "--service",
        store.service,
        "--no-topics",
        database_url=database_url,
        bootstrap_servers=kafka_bootstrap_servers,
    )

    assert verdicts(breaks) == [("edited", "skp-1", 2)]
    assert breaks[0].where == "store"
    assert outcome.exit_code == 1, outcome
    assert "BREAK store stream=skp-1 version=2 kind=edited: " in outcome.stdout
    assert outcome.stdout.splitlines()[-1] == "verified 5 events in 2 streams: 1 breaks"


async def test_a_deleted_middle_event_is_missing(store: EventStore, pool: asyncpg.Pool) -> None:
    await seed(store)
    await pool.execute(
        f"DELETE FROM {store.schema}.events WHERE stream_id = 'skp-1' AND stream_version = 2"
    )

    assert verdicts(await verify_store(pool, store.service)) == [("missing", "skp-1", 2)]


async def test_a_deleted_newest_event_is_missing_by_the_streams_head(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    await seed(store)
    await pool.execute(
        f"DELETE FROM {store.schema}.events WHERE stream_id = 'skp-1' AND stream_version = 3"
    )

    assert verdicts(await verify_store(pool, store.service)) == [("missing", "skp-1", 3)]


async def test_a_rewritten_head_is_a_head_mismatch(store: EventStore, pool: asyncpg.Pool) -> None:
    await seed(store)
    await pool.execute(
        f"UPDATE {store.schema}.streams SET last_hash = repeat('e', 64) WHERE stream_id = 'skp-2'"
    )

    assert verdicts(await verify_store(pool, store.service)) == [("head-mismatch", "skp-2", 2)]


async def test_a_stream_whose_every_event_was_deleted_is_missing_from_version_1(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    await seed(store)
    await pool.execute(f"DELETE FROM {store.schema}.events WHERE stream_id = 'skp-2'")

    assert verdicts(await verify_store(pool, store.service)) == [("missing", "skp-2", 1)]


async def test_two_swapped_events_are_reported(store: EventStore, pool: asyncpg.Pool) -> None:
    await seed(store)
    # the primary key is checked row by row, so the swap goes through a free version
    for old, new in ((2, 99), (3, 2), (99, 3)):
        await pool.execute(
            f"UPDATE {store.schema}.events SET stream_version = $2"
            " WHERE stream_id = 'skp-1' AND stream_version = $1",
            old,
            new,
        )

    assert verdicts(await verify_store(pool, store.service)) == [
        ("edited", "skp-1", 2),
        ("broken-link", "skp-1", 2),
        ("edited", "skp-1", 3),
        ("broken-link", "skp-1", 3),
        ("head-mismatch", "skp-1", 3),
    ]


async def test_the_store_is_walked_in_batches_through_a_cursor(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    for stream in range(5):
        await store.append(
            f"skp-{stream}",
            0,
            [TargetSet(indicator=f"i-{n}", target=n) for n in range(999)],
            subject=NIP,
            context=context(),
        )
    batches: list[int] = []

    async with pool.acquire() as connection:
        breaks = await verify_store(connection, store.service, progress=batches.append)

    assert breaks == []
    assert sum(batches) == 5 * 999
    assert len(batches) > 1


async def test_identical_duplicates_on_a_topic_are_no_break(
    store: EventStore, kafka_bootstrap_servers: str, unique_topic: str
) -> None:
    streams = await seed(store)
    first, second = streams["skp-1"], streams["skp-2"]
    # a publisher that re-sends its head, and one that restarts from an old checkpoint
    delivered = [*first, first[2], *second, *first[1:], second[1]]
    await publish(kafka_bootstrap_servers, unique_topic, records(*delivered))

    assert await verify_topic(kafka_bootstrap_servers, unique_topic) == []


@pytest.mark.parametrize("in_place", [True, False], ids=["instead", "besides"])
async def test_a_message_with_an_altered_payload_is_reported_with_its_stream_and_version(
    store: EventStore, kafka_bootstrap_servers: str, unique_topic: str, in_place: bool
) -> None:
    first = (await seed(store))["skp-1"]
    genuine = to_record(first[1])
    body = json.loads(genuine.value)
    altered = Record(genuine.key, json.dumps({**body, "target": 200}).encode(), genuine.headers)
    delivered = (
        [to_record(first[0]), altered, to_record(first[2])]
        if in_place
        else [*records(*first), altered]
    )
    await publish(kafka_bootstrap_servers, unique_topic, delivered)

    breaks = await verify_topic(kafka_bootstrap_servers, unique_topic)

    assert verdicts(breaks) == [("edited", "skp-1", 2)]
    assert breaks[0].where.startswith(f"topic {unique_topic} partition ")
    assert breaks[0].where.endswith(" offset 1" if in_place else " offset 3")


async def test_a_garbage_message_on_a_topic_is_forged(
    store: EventStore, kafka_bootstrap_servers: str, unique_topic: str
) -> None:
    first = (await seed(store))["skp-1"]
    garbage = Record(NIP.encode(), b"bukan CloudEvent", [("source", b"somewhere")])
    await publish(kafka_bootstrap_servers, unique_topic, [*records(*first), garbage])

    breaks = await verify_topic(kafka_bootstrap_servers, unique_topic)

    assert verdicts(breaks) == [("forged", "?", None)]
    assert breaks[0].where.endswith(" offset 3")


async def test_a_message_never_published_and_one_published_late_are_reported(
    store: EventStore, kafka_bootstrap_servers: str, unique_topic: str
) -> None:
    streams = await seed(store)
    first, second = streams["skp-1"], streams["skp-2"]
    await publish(
        kafka_bootstrap_servers,
        unique_topic,
        records(first[0], first[2], first[1], second[1]),
    )

    # the two NIPs may land in different partitions, read in either order
    assert sorted(verdicts(await verify_topic(kafka_bootstrap_servers, unique_topic))) == [
        ("missing", "skp-1", 2),
        ("missing", "skp-2", 1),
        ("reordered", "skp-1", 2),
    ]


async def test_the_command_exits_2_with_a_reason_when_it_cannot_reach_either_side(
    store: EventStore, database_url: str, kafka_bootstrap_servers: str
) -> None:
    unreachable_database = await run_verify(
        "--service",
        store.service,
        "--no-topics",
        "--database-url",
        "postgresql://kinerja:secret@127.0.0.1:1/kinerja",
        database_url=database_url,
        bootstrap_servers=kafka_bootstrap_servers,
    )
    unreachable_broker = await run_verify(
        "--service",
        store.service,
        "--no-store",
        "--bootstrap-servers",
        "127.0.0.1:1",
        database_url=database_url,
        bootstrap_servers=kafka_bootstrap_servers,
    )

    for outcome in (unreachable_database, unreachable_broker):
        assert outcome.exit_code == 2, outcome
        assert "verify: could not run: cannot reach the" in outcome.stderr
        assert "Traceback" not in outcome.stderr
    assert "secret" not in unreachable_database.stderr
