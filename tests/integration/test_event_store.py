import asyncio
import json
import uuid
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import asyncpg
import pytest

from shared.events.canonical import GENESIS_HASH
from shared.store.errors import ConcurrencyError, SubjectMismatch
from shared.store.event_store import (
    SEAL_SLICE,
    START,
    BatchFailed,
    CommandContext,
    EventStore,
    Position,
    StoredEvent,
    StreamAppend,
)
from shared.store.migrations import KIT_MIGRATIONS, load, migrate
from tests.support.events import ProgressRecorded, TargetSet, context, registry

NIP = "199001012015031001"


async def test_appended_events_read_back_in_order_as_an_intact_hash_chain(
    store: EventStore,
) -> None:
    await store.append(
        "skp-1", 0, [TargetSet(indicator="a", target=3)], subject=NIP, context=context()
    )
    await store.append(
        "skp-1",
        1,
        [TargetSet(indicator="b", target=5), TargetSet(indicator="c", target=7)],
        subject=NIP,
        context=context(),
    )

    events = await store.read_stream("skp-1")

    assert [e.stream_version for e in events] == [1, 2, 3]
    assert [e.decode(registry) for e in events][2] == TargetSet(indicator="c", target=7)
    assert events[0].previous_hash == GENESIS_HASH
    assert [e.previous_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    assert all(e.is_intact() for e in events)


@pytest.mark.parametrize("existing_events", [0, 2])
async def test_two_concurrent_appends_at_the_same_version_give_one_success_and_one_conflict(
    store: EventStore, existing_events: int
) -> None:
    for version in range(existing_events):
        await store.append(
            "skp-race",
            version,
            [TargetSet(indicator="x", target=1)],
            subject=NIP,
            context=context(),
        )

    results = await asyncio.gather(
        *(
            store.append(
                "skp-race",
                existing_events,
                [TargetSet(indicator=w, target=1)],
                subject=NIP,
                context=context(),
            )
            for w in ("first", "second")
        ),
        return_exceptions=True,
    )

    assert sorted(type(r).__name__ for r in results) == ["ConcurrencyError", "list"]
    events = await store.read_stream("skp-race")
    assert len(events) == existing_events + 1


async def test_a_stale_expected_version_is_refused_with_both_versions_named(
    store: EventStore,
) -> None:
    await store.append(
        "skp-2", 0, [TargetSet(indicator="a", target=1)], subject=NIP, context=context()
    )

    with pytest.raises(ConcurrencyError, match="at version 1, not 0") as raised:
        await store.append(
            "skp-2", 0, [TargetSet(indicator="b", target=1)], subject=NIP, context=context()
        )

    assert (raised.value.expected_version, raised.value.actual_version) == (0, 1)


async def test_a_stream_keeps_one_subject(store: EventStore) -> None:
    await store.append(
        "skp-3", 0, [TargetSet(indicator="a", target=1)], subject=NIP, context=context()
    )

    with pytest.raises(SubjectMismatch):
        await store.append(
            "skp-3",
            1,
            [TargetSet(indicator="a", target=1)],
            subject="198507072010011002",
            context=context(),
        )


async def settled_read_all(store: EventStore, after: Position, expected: int) -> list[StoredEvent]:
    """read_all once every transaction older than our appends has ended: any transaction of
    the cluster (another test run, a benchmark) holds the visible horizon back until then."""
    async with asyncio.timeout(30):
        while len(seen := await store.read_all(after)) < expected:
            await asyncio.sleep(0.05)
    return seen


async def test_read_all_never_passes_an_event_that_a_slower_transaction_commits_later(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    await store.append(
        "early", 0, [TargetSet(indicator="a", target=1)], subject=NIP, context=context()
    )
    async with pool.acquire() as slow:
        transaction = slow.transaction()
        await transaction.start()
        await slow.execute("SELECT pg_current_xact_id()")  # the slow writer takes its id now
        await store.append(
            "late", 0, [TargetSet(indicator="b", target=1)], subject=NIP, context=context()
        )

        seen = await settled_read_all(store, START, expected=1)
        assert [e.envelope.stream_id for e in seen] == ["early"]

        stream_of_slow = replace(
            (await store.read_stream("early"))[0], stream_id="slow", event_id=uuid.uuid4()
        )
        await slow.execute(
            f"INSERT INTO {store.schema}.events (event_id, stream_id, stream_version, event_type,"
            " schema_version, subject, occurred_at, recorded_at, actor, correlation_id,"
            " previous_hash, hash, payload) SELECT $1, 'slow', 1, event_type, schema_version,"
            " subject, occurred_at, recorded_at, actor, correlation_id, previous_hash, hash,"
            f" payload FROM {store.schema}.events WHERE stream_id = 'early'",
            stream_of_slow.event_id,
        )
        await transaction.commit()

    after_early = seen[-1].position
    rest = await settled_read_all(store, after_early, expected=2)
    assert [e.envelope.stream_id for e in rest] == ["slow", "late"]


async def test_read_all_pages_through_everything_once(store: EventStore) -> None:
    for n in range(7):
        await store.append(
            f"s-{n}", 0, [TargetSet(indicator="a", target=n)], subject=NIP, context=context()
        )

    await settled_read_all(store, START, expected=7)
    seen, position = [], START
    while page := await store.read_all(position, limit=3):
        seen += [e.envelope.stream_id for e in page]
        position = page[-1].position

    assert seen == [f"s-{n}" for n in range(7)]
    assert isinstance(position, Position)


async def test_an_event_stored_under_an_old_schema_version_reads_back_through_its_upcaster(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    await store.append(
        "p-1", 0, [TargetSet(indicator="a", target=1)], subject=NIP, context=context()
    )
    # an event written by last year's code: v1, before `unit` existed
    await pool.execute(
        f"UPDATE {store.schema}.events SET event_type = $1, schema_version = 1, payload = $2"
        " WHERE stream_id = 'p-1'",
        ProgressRecorded.type_name,
        json.dumps({"indicator": "a", "realised": 4}),
    )

    [stored] = await store.read_stream("p-1")

    assert stored.schema_version == 1
    assert stored.decode(registry) == ProgressRecorded(indicator="a", realised=4, unit="kegiatan")


async def test_migrations_run_once_and_refuse_an_edited_history(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    migrations = load(KIT_MIGRATIONS)
    async with pool.acquire() as connection:
        assert await migrate(connection, store.service, migrations) == 0

        edited = [migrations[0].__class__(1, "event_store", migrations[0].sql + "\n-- edited")]
        with pytest.raises(Exception, match="edited after it ran"):
            await migrate(connection, store.service, edited)


async def test_a_bulk_append_chains_each_stream_like_single_appends(store: EventStore) -> None:
    await store.append(
        "old", 0, [TargetSet(indicator="a", target=1)], subject=NIP, context=context()
    )

    await store.append_many(
        [
            StreamAppend("old", 1, NIP, [TargetSet(indicator="b", target=2)]),
            StreamAppend(
                "new",
                0,
                NIP,
                [TargetSet(indicator="c", target=3), TargetSet(indicator="d", target=4)],
            ),
        ],
        context=context(),
    )

    old, new = await store.read_stream("old"), await store.read_stream("new")
    assert [e.stream_version for e in old] == [1, 2]
    assert [e.stream_version for e in new] == [1, 2]
    assert old[1].previous_hash == old[0].hash
    assert all(e.is_intact() for e in old + new)
    in_commit_order = await settled_read_all(store, START, expected=4)
    assert [e.envelope.stream_id for e in in_commit_order] == ["old", "old", "new", "new"]
    # and the head moved on: a single append continues the chain
    [third] = await store.append(
        "new", 2, [TargetSet(indicator="e", target=5)], subject=NIP, context=context()
    )
    assert third.previous_hash == new[1].hash


@pytest.mark.parametrize("causation_id", [None, "cmd-7"])
async def test_a_bulk_append_stores_every_field_as_a_single_append_does(
    store: EventStore, causation_id: str | None
) -> None:
    # the bulk path writes PostgreSQL's binary COPY format by hand (shared/store/copy_format.py)
    recorded = datetime(2026, 11, 30, 23, 59, 59, 999_999, tzinfo=UTC)
    fixed = EventStore(store.pool, store.service, clock=lambda: recorded)
    wib = timezone(timedelta(hours=7))
    ctx = CommandContext(
        actor="Siti Nurhaliza ✓",
        correlation_id="corr-ü",
        occurred_at=datetime(2026, 12, 1, 6, 59, 59, 123_456, tzinfo=wib),
        causation_id=causation_id,
    )
    event = ProgressRecorded(indicator="iku-1 « bulanan » 日本語", realised=3, unit="dokumen")

    [single] = await fixed.append("single", 0, [event], subject=NIP, context=ctx)
    await fixed.append_many([StreamAppend("bulk", 0, NIP, [event])], context=ctx)

    [stored_single], [bulk] = await store.read_stream("single"), await store.read_stream("bulk")
    assert stored_single == single
    assert bulk.is_intact()
    assert (bulk.stream_version, bulk.previous_hash) == (1, GENESIS_HASH)
    assert replace(bulk, event_id=single.event_id, stream_id="single", hash=single.hash) == single
    assert (bulk.occurred_at, bulk.recorded_at) == (ctx.occurred_at, recorded)


async def test_a_bulk_append_with_one_stale_stream_writes_nothing(store: EventStore) -> None:
    await store.append(
        "taken", 0, [TargetSet(indicator="a", target=1)], subject=NIP, context=context()
    )

    with pytest.raises(ConcurrencyError, match="'taken' is at version 1, not 0"):
        await store.append_many(
            [
                StreamAppend("fresh", 0, NIP, [TargetSet(indicator="b", target=2)]),
                StreamAppend("taken", 0, NIP, [TargetSet(indicator="c", target=3)]),
            ],
            context=context(),
        )

    assert await store.read_stream("fresh") == []


def one_event_streams(names: Iterable[str], version: int = 0) -> list[StreamAppend]:
    return [StreamAppend(n, version, NIP, [TargetSet(indicator=n, target=version)]) for n in names]


async def test_batches_are_written_each_in_turn_with_progress_as_each_commits(
    store: EventStore,
) -> None:
    told: list[int] = []
    batches = [
        one_event_streams("ab"),
        [StreamAppend("c", 0, NIP, [TargetSet(indicator="c", target=1)] * 3)],
        one_event_streams("a", version=1),  # a stream of the batch before: after its commit
        one_event_streams("de"),
    ]

    written = await store.append_batches(batches, context=context(), progress=told.append)

    assert (written, told) == (8, [2, 3, 1, 2])
    streams = {name: await store.read_stream(name) for name in "abcde"}
    assert [len(events) for events in streams.values()] == [2, 1, 3, 1, 1]
    assert streams["a"][1].previous_hash == streams["a"][0].hash  # across the two batches
    assert [e.stream_version for e in streams["c"]] == [1, 2, 3]
    assert all(e.is_intact() for events in streams.values() for e in events)
    everything = await settled_read_all(store, START, expected=8)
    assert len({e.envelope.event_id for e in everything}) == 8


async def test_a_failing_batch_keeps_those_before_it_and_writes_none_after_it(
    store: EventStore,
) -> None:
    await store.append(
        "taken", 0, [TargetSet(indicator="a", target=1)], subject=NIP, context=context()
    )
    batches = [
        one_event_streams("ab"),
        [*one_event_streams("c"), *one_event_streams(["taken"])],  # stale: taken is at 1
        one_event_streams("de"),
        one_event_streams("fg"),
    ]

    with pytest.raises(BatchFailed, match="batch 1 failed") as failed:
        await store.append_batches(batches, context=context())

    assert (failed.value.written, failed.value.batch) == (2, 1)
    assert isinstance(failed.value.__cause__, ConcurrencyError)
    written = {name: len(await store.read_stream(name)) for name in "abcdefg"}
    assert written == {"a": 1, "b": 1, "c": 0, "d": 0, "e": 0, "f": 0, "g": 0}


async def test_an_event_that_cannot_be_hashed_mid_batch_fails_that_batch_and_no_later_one(
    store: EventStore,
) -> None:
    # beyond 2^53 an integer has no RFC 8785 form: sealing raises there, slices into the
    # batch's COPY, while the batch after it waits for its turn to seal
    streams = [f"s{i}" for i in range(3 * SEAL_SLICE)]
    unhashable = StreamAppend("bad", 0, NIP, [TargetSet(indicator="x", target=2**60)])
    batches = [
        one_event_streams("ab"),
        [*one_event_streams(streams[: 2 * SEAL_SLICE]), unhashable],
        one_event_streams(streams[2 * SEAL_SLICE :]),
    ]

    with pytest.raises(BatchFailed, match="batch 1 failed") as failed:
        await asyncio.wait_for(store.append_batches(batches, context=context()), timeout=60)

    assert (failed.value.written, failed.value.batch) == (2, 1)
    assert isinstance(failed.value.__cause__, ValueError)
    async with store.pool.acquire() as db:
        stored = await db.fetch(f"SELECT stream_id FROM {store.schema}.events ORDER BY 1")
    assert [row["stream_id"] for row in stored] == ["a", "b"]
