"""Dead letters on the real broker and database: an event PostgreSQL cannot store is parked at
once and once, with a reason that says so; a replay leaves the dead letters as they were."""

import asyncio
import json
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from services.targets.projections import TargetsBoard
from shared.cli.dlq import DeadLetter, collect
from shared.contracts.targets import UnitCreated
from shared.events.kafka_binding import to_record
from shared.events.model import DomainEvent
from shared.projections.projection import Projection
from shared.projections.redrive import redrive
from shared.projections.replay import replay
from shared.projections.runner import ProjectionRunner
from shared.relay.topics import TopicSpec, ensure_topics, service_topic
from shared.store.event_store import CommandContext, EventStore
from tests.integration.test_projections import publish_all, read_tally, running
from tests.support.cli import kinerja
from tests.support.events import ProgressRecorded, TargetSet, context
from tests.support.projections import POISON, Notes, Tally

SICK, WELL = "199001012015030001", "199001012015030002"


async def dead_letters(
    projection: Projection, pool: asyncpg.Pool, bootstrap: str, *, count: int
) -> list[DeadLetter]:
    """The projection's dead letters once there are `count`, as `kinerja dlq list --all` reads
    them; then a moment more, in which no other may come."""
    async with asyncio.timeout(20):
        while len(found := await collect([projection], pool, bootstrap)) < count:
            await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)
    assert await collect([projection], pool, bootstrap) == found
    return found


async def sick_and_well(store: EventStore, middle: DomainEvent) -> None:
    """A stream whose second event is `middle`, and a stream beside it."""
    for version, event in enumerate([TargetSet(indicator="a", target=1), middle]):
        await store.append("skp-sick", version, [event], subject=SICK, context=context())
    await store.append(
        "skp-sick", 2, [TargetSet(indicator="b", target=100)], subject=SICK, context=context()
    )
    await store.append(
        "skp-well", 0, [TargetSet(indicator="c", target=5)], subject=WELL, context=context()
    )


async def notes_of(pool: asyncpg.Pool, projection: Notes) -> list[tuple[str, int]]:
    rows = await pool.fetch(f'SELECT indicator, target FROM "{projection.schema()}".notes')
    return sorted((row["indicator"], row["target"]) for row in rows)


@pytest.mark.parametrize(
    ("unstorable", "said"),
    [
        (TargetSet(indicator="Laporan\x00", target=10), "a NUL character (U+0000)"),
        (ProgressRecorded(indicator="a", realised=1, unit="lembar\x00"), "a NUL character"),
        (TargetSet(indicator="a", target=2**40), "a number out of the range"),
    ],
    ids=["NUL in text", "NUL in json", "number out of range"],
)
async def test_an_event_postgresql_cannot_store_is_parked_at_once_and_once_saying_why(
    store: EventStore,
    pool: asyncpg.Pool,
    kafka_bootstrap_servers: str,
    unstorable: DomainEvent,
    said: str,
) -> None:
    # recorded as before the HTTP edge refused such input: old data, in the store and topic
    await sick_and_well(store, unstorable)
    await publish_all(store, kafka_bootstrap_servers)
    notes = Notes(f"test.notes.{uuid.uuid4().hex[:8]}", f"kinerja.{store.service}.v1")
    # retried, it would be a dead letter only after 7 waits of 5 s: it comes at once, or late
    runner = ProjectionRunner(notes, pool, kafka_bootstrap_servers, attempts=8, backoff_seconds=5)

    async with running(runner):
        letters = await dead_letters(notes, pool, kafka_bootstrap_servers, count=2)
    [parked] = await pool.fetch(f'SELECT * FROM "{notes.schema()}"._parked')
    # the old event again, in a rebuild: parked again, sent again never
    await replay(notes, pool, kafka_bootstrap_servers)
    after_replay = await dead_letters(notes, pool, kafka_bootstrap_servers, count=2)
    [parked_again] = await pool.fetch(f'SELECT * FROM "{notes.schema()}"._parked')

    failed, behind = letters
    assert (failed.stream_id, failed.stream_version) == ("skp-sick", "2")
    assert failed.reason == "unstorable"
    assert failed.error.startswith("PostgreSQL cannot store this event: it holds ")
    assert said in failed.error
    assert (behind.stream_version, behind.reason) == ("3", "parked")
    assert (parked["stream_id"], parked["through_version"]) == ("skp-sick", 3)
    assert said in parked["reason"]
    assert after_replay == letters
    assert (parked_again["stream_id"], parked_again["through_version"]) == ("skp-sick", 3)
    assert await notes_of(pool, notes) == [("a", 1), ("c", 5)]


@pytest.mark.parametrize("workers", [1, 2], ids=["one process", "two worker processes"])
async def test_a_replay_leaves_the_dead_letters_as_they_were_and_a_redrive_releases_the_stream(
    store: EventStore,
    pool: asyncpg.Pool,
    kafka_bootstrap_servers: str,
    database_url: str,
    workers: int,
) -> None:
    tally = Tally(f"test.tally.{uuid.uuid4().hex[:8]}", f"kinerja.{store.service}.v1")
    await sick_and_well(store, TargetSet(indicator=POISON, target=10))
    await publish_all(store, kafka_bootstrap_servers)
    runner = ProjectionRunner(
        tally, pool, kafka_bootstrap_servers, attempts=2, backoff_seconds=0.01
    )
    async with running(runner):
        before = await dead_letters(tally, pool, kafka_bootstrap_servers, count=2)

    report = await replay(
        tally, pool, kafka_bootstrap_servers, workers=workers, database_url=database_url
    )
    after = await dead_letters(tally, pool, kafka_bootstrap_servers, count=2)

    assert report.workers == workers
    assert [(d.stream_version, d.reason, d.redriven) for d in before] == [
        ("2", "failed", False), ("3", "parked", False),
    ]  # fmt: skip
    assert after == before
    # the rebuilt read model holds the stream back behind the same dead letters...
    assert await read_tally(pool, tally) == {SICK: (1, 1), WELL: (1, 5)}
    # ...which a re-drive applies once the cause is fixed, releasing the stream
    await pool.execute(f"INSERT INTO \"{tally.schema()}\".cured VALUES ('{POISON}')")
    cured = await redrive(tally, pool, kafka_bootstrap_servers)
    assert (cured.applied, cured.still_failing) == (2, [])
    assert await read_tally(pool, tally) == {SICK: (3, 111), WELL: (1, 5)}

    # a replay after that re-drive starts where it got to: the two re-driven stay re-driven,
    # and the poison, failing again in a read model without the cure, waits anew
    await replay(tally, pool, kafka_bootstrap_servers)
    again = await dead_letters(tally, pool, kafka_bootstrap_servers, count=4)
    assert [(d.stream_version, d.redriven) for d in again] == [
        ("2", True), ("3", True), ("2", False), ("3", False),
    ]  # fmt: skip


async def test_kinerja_replay_leaves_kinerja_dlq_list_as_it_was(
    pool: asyncpg.Pool, database_url: str, kafka_bootstrap_servers: str
) -> None:
    """The issue's case on the commands: a unit whose name holds a NUL, recorded before the
    API refused it, is parked by the board once; replaying the board adds no dead letter."""
    namespace = f"cli-{uuid.uuid4().hex[:8]}"
    env = {
        "KINERJA_DATABASE_URL": database_url,
        "KINERJA_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap_servers,
        "KINERJA_TOPIC_NAMESPACE": namespace,
    }
    codes = [f"U{uuid.uuid4().hex[:6]}" for _ in "ab"]
    await _units_published(
        pool, kafka_bootstrap_servers, namespace, {codes[0]: "Biro\x00SDM", codes[1]: "Biro Umum"}
    )
    board = TargetsBoard(namespace)
    async with running(ProjectionRunner(board, pool, kafka_bootstrap_servers)):
        await dead_letters(board, pool, kafka_bootstrap_servers, count=1)

    listed = await kinerja(env, "dlq", "list", "--format", "json")
    replayed = await kinerja(env, "replay", "targets.board")
    listed_again = await kinerja(env, "dlq", "list", "--format", "json")

    assert replayed.exit_code == 0, replayed.output
    [letter] = json.loads(listed.stdout)
    assert (letter["stream_id"], letter["reason"]) == (f"unit-{codes[0]}", "unstorable")
    assert "a NUL character (U+0000)" in letter["error"]
    assert json.loads(listed_again.stdout) == [letter]
    units = await pool.fetch(
        "SELECT code FROM proj_targets_board.units WHERE code = ANY($1::text[])", codes
    )
    assert [row["code"] for row in units] == [codes[1]]


async def _units_published(
    pool: asyncpg.Pool, bootstrap: str, namespace: str, names: dict[str, str]
) -> None:
    store = EventStore(pool, "targets")
    await store.migrate()
    at = CommandContext("admin:test", "test", datetime.now(UTC))
    topic = service_topic("targets", namespace)
    await ensure_topics(bootstrap, [TopicSpec(topic, 2)])
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for code, name in names.items():
            event = UnitCreated(code=code, name=name, parent_code=None)
            [envelope] = await store.append(
                f"unit-{code}", 0, [event], subject=f"unit:{code}", context=at
            )
            record = to_record(envelope)
            await producer.send_and_wait(topic, record.value, record.key, headers=record.headers)
    finally:
        await producer.stop()
