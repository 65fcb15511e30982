"""The projection runner on the real broker and database: exactly once, crash-safe, shared
partitions, dead letters and re-drive, replay."""

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from shared.events.canonical import GENESIS_HASH
from shared.events.envelope import Envelope, seal
from shared.events.ids import new_event_id
from shared.events.kafka_binding import to_record
from shared.projections.applier import Applier
from shared.projections.batch import apply_batch, fetched
from shared.projections.projection import Projection
from shared.projections.redrive import redrive
from shared.projections.replay import replay
from shared.projections.runner import ProjectionRunner
from shared.projections.schema import ReadModelOutdated, ensure_live_schema, use_schema
from shared.relay.outbox import OutboxRelay
from shared.relay.topics import dead_letter_topic
from shared.store.db import Connection, create_pool
from shared.store.event_store import START, EventStore
from tests.support.events import TargetSet, context
from tests.support.kafka import Consumed, read_topic
from tests.support.metrics import free_port, scrape
from tests.support.projections import POISON, BulkTally, Tally

Expected = dict[str, tuple[int, int]]


async def append_and_publish(
    store: EventStore, bootstrap: str, subjects: int, events_each: int, first: int = 0
) -> None:
    for s in range(first, first + subjects):
        nip = f"19900101201503{s:04d}"
        for version in range(events_each):
            await store.append(
                f"skp-{nip}", version, [TargetSet(indicator="a", target=version + 1)],
                subject=nip, context=context(),
            )  # fmt: skip
    await publish_all(store, bootstrap)


async def publish_all(store: EventStore, bootstrap: str) -> None:
    relay = OutboxRelay(store, bootstrap, partitions=3)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    async with store.pool.acquire() as db:
        async with asyncio.timeout(60):
            while (await relay.lag(db)).events:
                await asyncio.sleep(0.05)
    stop.set()
    await task


async def expected_tally(store: EventStore) -> Expected:
    tally: Counter[str] = Counter()
    sums: Counter[str] = Counter()
    for stored in await store.read_all(START, limit=1_000_000):
        tally[stored.envelope.subject] += 1
        sums[stored.envelope.subject] += stored.envelope.payload["target"]
    return {subject: (tally[subject], sums[subject]) for subject in tally}


async def read_tally(pool: asyncpg.Pool, projection: Tally) -> Expected:
    rows = await pool.fetch(
        f'SELECT subject, events, target_sum FROM "{projection.schema()}".tally'
    )
    return {r["subject"]: (r["events"], r["target_sum"]) for r in rows}


async def wait_for_tally(pool: asyncpg.Pool, projection: Tally, expected: Expected) -> None:
    async with asyncio.timeout(90):
        while await _tally_or_empty(pool, projection) != expected:
            await asyncio.sleep(0.1)


async def _tally_or_empty(pool: asyncpg.Pool, projection: Tally) -> Expected:
    try:
        return await read_tally(pool, projection)
    except asyncpg.UndefinedTableError:
        return {}


@asynccontextmanager
async def running(*runners: ProjectionRunner) -> AsyncIterator[None]:
    stop = asyncio.Event()
    tasks = [asyncio.create_task(r.run(stop)) for r in runners]
    try:
        yield
    finally:
        stop.set()
        await asyncio.gather(*tasks)


@pytest.fixture
def tally(store: EventStore) -> Tally:
    return Tally(f"test.tally.{uuid.uuid4().hex[:8]}", f"kinerja.{store.service}.v1")


@pytest.fixture(params=[Tally, BulkTally], ids=["per-event", "set-based"])
def any_tally(request: pytest.FixtureRequest, store: EventStore) -> Tally:
    """A projection that applies event by event, and one that applies a batch at once."""
    kind: type[Tally] = request.param
    return kind(f"test.tally.{uuid.uuid4().hex[:8]}", f"kinerja.{store.service}.v1")


async def test_redelivered_and_republished_events_are_counted_once(
    store: EventStore, pool: asyncpg.Pool, kafka_bootstrap_servers: str, any_tally: Tally
) -> None:
    tally = any_tally
    await append_and_publish(store, kafka_bootstrap_servers, subjects=5, events_each=4)
    expected = await expected_tally(store)

    async with running(ProjectionRunner(tally, pool, kafka_bootstrap_servers, batch_size=7)):
        await wait_for_tally(pool, tally, expected)
    # the relay publishes again after a crash: the same events at new offsets
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap_servers)
    await producer.start()
    for stored in await store.read_all(START):
        record = to_record(stored.envelope)
        await producer.send_and_wait(
            tally.topics[0], record.value, record.key, headers=record.headers
        )
    await producer.stop()
    # and a runner restarted from Kafka's view would read everything again
    await pool.execute(f'UPDATE "{tally.schema()}"._offsets SET next_offset = 0')
    async with running(ProjectionRunner(tally, pool, kafka_bootstrap_servers)):
        await asyncio.sleep(3)

    assert await read_tally(pool, tally) == expected
    assert await pool.fetchval(f'SELECT count(*) FROM "{tally.schema()}".applied') == 20


async def test_two_instances_share_the_partitions_and_count_everything_once(
    store: EventStore, pool: asyncpg.Pool, kafka_bootstrap_servers: str, tally: Tally
) -> None:
    await append_and_publish(store, kafka_bootstrap_servers, subjects=1, events_each=1)
    first = ProjectionRunner(tally, pool, kafka_bootstrap_servers, batch_size=5)
    second = ProjectionRunner(tally, pool, kafka_bootstrap_servers, batch_size=5)

    async with running(first, second):
        async with asyncio.timeout(60):  # both joined the group and the partitions are split
            while not (first.assignment and second.assignment):
                await asyncio.sleep(0.1)
        assert not first.assignment & second.assignment
        await append_and_publish(
            store, kafka_bootstrap_servers, subjects=12, events_each=5, first=1
        )
        await wait_for_tally(pool, tally, await expected_tally(store))

    assert await pool.fetchval(f'SELECT count(*) FROM "{tally.schema()}".applied') == 61


def start_projection(
    tally: Tally,
    database_url: str,
    bootstrap: str,
    metrics_port: int = 0,
    command: Sequence[str] = ("run",),
) -> subprocess.Popen[bytes]:
    """`python -m shared.projections COMMAND` of the tally (`run` with a batch size of 10)."""
    env = {
        **os.environ,
        "KINERJA_DATABASE_URL": database_url,
        "KINERJA_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "TALLY_NAME": tally.name,
        "TALLY_TOPIC": tally.topics[0],
    }
    options = ["--batch-size", "10", "--metrics-port", str(metrics_port)]
    return subprocess.Popen(
        [
            sys.executable, "-m", "shared.projections", *command,
            "--projection", "tests.support.projections:from_environment",
            *(options if list(command) == ["run"] else []),
        ],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


async def test_a_projection_killed_with_sigkill_mid_stream_resumes_with_nothing_counted_twice(
    store: EventStore,
    pool: asyncpg.Pool,
    kafka_bootstrap_servers: str,
    database_url: str,
    tally: Tally,
) -> None:
    await append_and_publish(store, kafka_bootstrap_servers, subjects=40, events_each=25)
    expected = await expected_tally(store)
    applied = f'SELECT count(*) FROM "{tally.schema()}".applied'

    process = start_projection(tally, database_url, kafka_bootstrap_servers)
    try:
        async with asyncio.timeout(60):
            while not 0 < await _count_or_zero(pool, applied) < 1000:
                await asyncio.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert await pool.fetchval(applied) < 1000, "killed mid-stream"

        port = free_port()
        process = start_projection(tally, database_url, kafka_bootstrap_servers, port)
        await wait_for_tally(pool, tally, expected)
        async with asyncio.timeout(30):  # consumer lag, as a scraper sees it, drains to zero
            while _lags(await scrape(port), tally.name) != [0.0, 0.0, 0.0]:
                await asyncio.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, "a runner leaves its group cleanly on SIGTERM"

    assert await pool.fetchval(applied) == 1000


def _lags(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], projection: str
) -> list[float]:
    return sorted(
        v
        for (name, labels), v in samples.items()
        if name == "kinerja_consumer_lag_messages" and ("projection", projection) in labels
    )


async def _count_or_zero(pool: asyncpg.Pool, sql: str) -> int:
    try:
        return int(await pool.fetchval(sql))
    except asyncpg.UndefinedTableError:
        return 0


async def test_a_poison_message_is_dead_lettered_later_ones_flow_and_redrive_applies_it_once_cured(
    store: EventStore, pool: asyncpg.Pool, kafka_bootstrap_servers: str, tally: Tally
) -> None:
    sick, healthy = "199001012015030001", "199001012015030002"
    await store.append(
        "skp-sick", 0, [TargetSet(indicator="a", target=1)], subject=sick, context=context()
    )
    await store.append(
        "skp-sick", 1, [TargetSet(indicator=POISON, target=10)], subject=sick, context=context()
    )
    await store.append(
        "skp-sick", 2, [TargetSet(indicator="a", target=100)], subject=sick, context=context()
    )
    await store.append(
        "skp-well", 0, [TargetSet(indicator="a", target=5)], subject=healthy, context=context()
    )
    await publish_all(store, kafka_bootstrap_servers)
    runner = ProjectionRunner(
        tally, pool, kafka_bootstrap_servers, attempts=3, backoff_seconds=0.01
    )

    async with running(runner):
        # the healthy stream flows past; the sick one stops before its poison, in order
        await wait_for_tally(pool, tally, {sick: (1, 1), healthy: (1, 5)})
        dead = await read_topic(
            kafka_bootstrap_servers,
            dead_letter_topic(tally.name),
            until=lambda seen: len(seen) == 2,
        )
        assert [(e.stream_id, e.stream_version) for e in dead] == [("skp-sick", 2), ("skp-sick", 3)]

        still = await redrive(tally, pool, kafka_bootstrap_servers)
        assert still.applied == 0
        assert still.still_failing

        await pool.execute(f"INSERT INTO \"{tally.schema()}\".cured VALUES ('{POISON}')")
        cured = await redrive(tally, pool, kafka_bootstrap_servers)
        assert (cured.applied, cured.still_failing) == (2, [])
        assert await read_tally(pool, tally) == {sick: (3, 111), healthy: (1, 5)}

        # released: the stream's next event is applied directly again
        await store.append(
            "skp-sick", 3, [TargetSet(indicator="a", target=1000)], subject=sick, context=context()
        )
        await publish_all(store, kafka_bootstrap_servers)
        await wait_for_tally(pool, tally, {sick: (4, 1111), healthy: (1, 5)})

    again = await redrive(tally, pool, kafka_bootstrap_servers)
    assert (again.applied, again.duplicates) == (0, 0)


@pytest.mark.parametrize("workers", [1, 2], ids=["one process", "two worker processes"])
async def test_replay_rebuilds_an_equal_read_model_while_the_live_one_keeps_serving(
    store: EventStore,
    pool: asyncpg.Pool,
    kafka_bootstrap_servers: str,
    database_url: str,
    any_tally: Tally,
    workers: int,
) -> None:
    tally = any_tally
    await append_and_publish(store, kafka_bootstrap_servers, subjects=20, events_each=10)
    live = ProjectionRunner(tally, pool, kafka_bootstrap_servers)

    async with running(live):
        await wait_for_tally(pool, tally, await expected_tally(store))
        before = await read_tally(pool, tally)
        # damage the live read model: the replay must not copy it but rebuild from events
        await pool.execute(f'UPDATE "{tally.schema()}".tally SET events = -1')
        rebuilding = asyncio.create_task(
            replay(
                tally,
                pool,
                kafka_bootstrap_servers,
                batch_size=50,
                workers=workers,
                database_url=database_url,
            )
        )
        await append_and_publish(
            store, kafka_bootstrap_servers, subjects=3, events_each=2, first=20
        )
        report = await rebuilding
        expected = await expected_tally(store)
        await wait_for_tally(pool, tally, expected)

    # the damaged rows are gone only if the rebuilt schema took the live one's place
    assert all(events > 0 for events, _ in expected.values())
    assert report.messages >= 200
    assert report.workers == workers  # the topic has partitions enough to share out
    assert set(before) < set(expected)
    assert await pool.fetchval(f'SELECT count(*) FROM "{tally.schema()}".applied') == 206


async def test_one_connection_applies_two_projections_whose_statements_read_alike(
    pool: asyncpg.Pool, database_url: str
) -> None:
    # the same text, a table of each projection's own, their columns in another order: as
    # targets.board and journal.targets both `INSERT INTO assignments VALUES ($1, $2, $3)`
    tag = uuid.uuid4().hex[:8]
    tables = {f"alike_a_{tag}": "nip text, since date", f"alike_b_{tag}": "since date, nip text"}
    rows = [("199001012015031001", date(2026, 1, 1)), (date(2026, 1, 1), "199001012015031001")]
    for schema, columns in tables.items():
        await pool.execute(f'CREATE SCHEMA "{schema}"; CREATE TABLE "{schema}".t ({columns})')
    one_connection = await create_pool(database_url, max_size=1)
    try:
        async with one_connection.acquire() as db:
            for schema, row in zip(tables, rows, strict=True):
                async with db.transaction():
                    await use_schema(db, schema)
                    await db.execute("INSERT INTO t VALUES ($1, $2)", *row)
    finally:
        await one_connection.close()
    for schema in tables:
        assert await pool.fetchval(f'SELECT count(*) FROM "{schema}".t') == 1
        await pool.execute(f'DROP SCHEMA "{schema}" CASCADE')


async def test_a_read_model_built_by_another_definition_is_refused_until_replayed(
    store: EventStore, pool: asyncpg.Pool, kafka_bootstrap_servers: str, tally: Tally
) -> None:
    await append_and_publish(store, kafka_bootstrap_servers, subjects=2, events_each=2)
    async with pool.acquire() as db:
        await ensure_live_schema(db, tally)
        await ensure_live_schema(db, tally)  # the same definition: found, fine
    changed = Tally(tally.name, tally.topics[0])
    changed.tables = tally.tables + "CREATE TABLE since_the_change (note text);"

    async with pool.acquire() as db:
        with pytest.raises(ReadModelOutdated, match=f"kinerja replay {tally.name}"):
            await ensure_live_schema(db, changed)
    await replay(changed, pool, kafka_bootstrap_servers)
    async with pool.acquire() as db:
        await ensure_live_schema(db, changed)
    assert await pool.fetchval(f'SELECT count(*) FROM "{tally.schema()}".applied') == 4


async def test_a_replay_killed_with_sigkill_leaves_no_worker_writing_and_runs_again_whole(
    store: EventStore,
    pool: asyncpg.Pool,
    kafka_bootstrap_servers: str,
    database_url: str,
    tally: Tally,
) -> None:
    await append_and_publish(store, kafka_bootstrap_servers, subjects=40, events_each=50)
    expected = await expected_tally(store)
    building = f'SELECT count(*) FROM "{tally.schema()}__next".applied'
    process = start_projection(
        tally, database_url, kafka_bootstrap_servers, command=["replay", "--workers", "2"]
    )
    try:
        async with asyncio.timeout(60):  # the workers are applying
            while not 0 < await _count_or_zero(pool, building) < 1500:
                await asyncio.sleep(0.01)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()

    # its workers went with it: nothing more reaches the schema it was building
    await asyncio.sleep(1.0)
    left = await pool.fetchval(building)
    await asyncio.sleep(1.5)
    assert await pool.fetchval(building) == left < 2000

    report = await replay(
        tally, pool, kafka_bootstrap_servers, workers=2, database_url=database_url
    )
    assert (report.messages, report.workers) == (2000, 2)
    assert await read_tally(pool, tally) == expected
    assert await pool.fetchval(f'SELECT count(*) FROM "{tally.schema()}".applied') == 2000


class Counted(Projection):
    """Events per subject, and nothing else: no key of its own would catch an event applied
    twice, so the runner's bookkeeping alone keeps the count right."""

    tables = "CREATE TABLE counted (subject text PRIMARY KEY, events integer NOT NULL)"

    def __init__(self, name: str, topic: str) -> None:
        self.name = name
        self.topics = (topic,)

    async def apply(self, db: Connection, event: Envelope) -> None:
        await db.execute(
            "INSERT INTO counted VALUES ($1, 1)"
            " ON CONFLICT (subject) DO UPDATE SET events = counted.events + 1",
            event.subject,
        )


async def test_a_stream_two_batches_both_found_new_is_applied_once(
    pool: asyncpg.Pool, kafka_bootstrap_servers: str, unique_topic: str
) -> None:
    """One event in two partitions (the relay published it again after the topic gained
    partitions, say), applied by two batches side by side: both find its stream new. The
    second waits on the first's row, fails once the first commits, and is applied again,
    finding the event applied."""
    projection = Counted(f"test.counted.{uuid.uuid4().hex[:8]}", unique_topic)
    async with pool.acquire() as db:
        await ensure_live_schema(db, projection)
    now = datetime.now(UTC)
    event = seal(
        event_id=new_event_id(), event=TargetSet(indicator="a", target=1), stream_version=1,
        source="targets", stream_id="skp-1", subject="199001012015031001", occurred_at=now,
        recorded_at=now, actor="199001012015031001", correlation_id="c", causation_id=None,
        previous_hash=GENESIS_HASH,
    )  # fmt: skip
    record = to_record(event)
    first, second = (
        Consumed(unique_topic, partition, 0, record.key, record.value, record.headers)
        for partition in (0, 1)
    )
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap_servers)
    await producer.start()
    applier = Applier(projection, pool, producer, projection.schema(), backoff_seconds=0.01)
    try:
        async with pool.acquire() as db:
            async with db.transaction():
                await apply_batch(db, projection, projection.schema(), [fetched([first])])
                side_by_side = asyncio.create_task(applier.process([[second]]))
                async with asyncio.timeout(30):  # until it waits on the first's rows
                    while not await pool.fetchval(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                        " AND datname = current_database()"
                    ):
                        await asyncio.sleep(0.02)
            await side_by_side
    finally:
        await producer.stop()

    schema = projection.schema()
    assert await pool.fetchval(f'SELECT events FROM "{schema}".counted') == 1
    offsets = await pool.fetch(f'SELECT partition, next_offset FROM "{schema}"._offsets')
    assert sorted(tuple(row) for row in offsets) == [(0, 1), (1, 1)]
