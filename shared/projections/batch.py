"""Apply the messages of one partition to a projection inside the caller's transaction.

Exactly once in effect: the partition's next offset is read under a row lock and written
back in the same transaction as the read-model change, and each stream's last applied
version skips an event the relay published twice. Two runners that briefly share a
partition during a rebalance serialise on that row and skip what the other applied.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import asyncpg

from shared.events.envelope import Envelope
from shared.events.kafka_binding import NotAKinerjaEvent, from_record
from shared.projections.projection import Projection
from shared.projections.schema import use_schema
from shared.store.db import Connection

# the database or the network failing is no fault of the message: retry, never dead-letter
INFRASTRUCTURE_ERRORS = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
)


class ApplyFailed(Exception):
    """The projection could not apply a message; after retries it is a dead letter."""

    def __init__(self, message: "Message", cause: BaseException) -> None:
        self.message = message
        self.cause = cause
        super().__init__(f"{message.topic}[{message.partition}]@{message.offset}: {cause!r}")


class Message(Protocol):
    """The parts of a Kafka record the runner reads: aiokafka's ConsumerRecord as it comes,
    with no copy per message."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes]]: ...


@dataclass
class Outcome:
    applied: int = 0
    duplicates: int = 0
    # messages of parked streams: to the dead-letter topic before this transaction commits
    parked: list[Message] = field(default_factory=list)


StreamKey = tuple[str, str]


def decode(message: Message) -> Envelope:
    if message.value is None:
        raise NotAKinerjaEvent("a message without a body")
    return from_record(message.value, message.headers)


async def apply_batch(
    db: Connection, projection: Projection, schema: str, messages: Sequence[Message]
) -> Outcome:
    """Apply messages (one topic partition, offset order); the caller owns the transaction."""
    outcome = Outcome()
    if not messages:
        return outcome
    await use_schema(db, schema)
    topic, partition = messages[0].topic, messages[0].partition
    next_offset = await lock_next_offset(db, topic, partition)
    fresh = [m for m in messages if m.offset >= next_offset]
    if not fresh:
        return outcome
    envelopes = [(m, _decode_or_fail(m)) for m in fresh]
    versions, parked = await _streams_of(db, {(e.source, e.stream_id) for _, e in envelopes})
    changed: set[StreamKey] = set()
    to_apply: list[Envelope] = []
    for message, envelope in envelopes:
        key = (envelope.source, envelope.stream_id)
        if envelope.stream_version <= versions.get(key, 0):
            outcome.duplicates += 1
        elif key in parked:
            outcome.parked.append(message)
        else:
            to_apply.append(envelope)
            versions[key] = envelope.stream_version
            changed.add(key)
    await _apply(db, projection, fresh[0], to_apply)
    outcome.applied = len(to_apply)
    await _record_progress(db, versions, changed, topic, partition, fresh[-1].offset + 1)
    if outcome.parked:
        await _park_all(db, [decode(m) for m in outcome.parked])
    return outcome


def _decode_or_fail(message: Message) -> Envelope:
    try:
        return decode(message)
    except NotAKinerjaEvent as error:
        raise ApplyFailed(message, error) from error


async def _apply(
    db: Connection, projection: Projection, first: Message, envelopes: list[Envelope]
) -> None:
    if not envelopes:
        return
    try:
        await projection.apply_all(db, envelopes)
    except INFRASTRUCTURE_ERRORS:
        raise
    except Exception as error:
        raise ApplyFailed(first, error) from error


async def lock_next_offset(db: Connection, topic: str, partition: int) -> int:
    await db.execute(
        "INSERT INTO _offsets (topic, partition, next_offset) VALUES ($1, $2, 0)"
        " ON CONFLICT DO NOTHING",
        topic,
        partition,
    )
    offset: int = await db.fetchval(
        "SELECT next_offset FROM _offsets WHERE topic = $1 AND partition = $2 FOR UPDATE",
        topic,
        partition,
    )
    return offset


async def _streams_of(
    db: Connection, keys: set[StreamKey]
) -> tuple[dict[StreamKey, int], set[StreamKey]]:
    """The last applied version of each stream, and which are parked, in one round trip.

    An index probe per key, whatever the planner thinks of the tables: a join with unnest()
    chose to scan the whole of _streams, which every stream the read model has seen makes
    longer (4 ms a batch at 50,000 streams, and growing); LIMIT 1 keeps the probes apart."""
    by_source: dict[str, list[str]] = {}
    for source, stream_id in keys:
        by_source.setdefault(source, []).append(stream_id)
    versions: dict[StreamKey, int] = {}
    parked: set[StreamKey] = set()
    for source, stream_ids in by_source.items():
        rows = await db.fetch(
            "SELECT k.stream_id, s.version, p.parked FROM unnest($2::text[]) AS k(stream_id)"
            " LEFT JOIN LATERAL (SELECT version FROM _streams"
            "  WHERE source = $1 AND stream_id = k.stream_id LIMIT 1) AS s ON true"
            " LEFT JOIN LATERAL (SELECT true AS parked FROM _parked"
            "  WHERE source = $1 AND stream_id = k.stream_id LIMIT 1) AS p ON true"
            " WHERE s.version IS NOT NULL OR p.parked",
            source,
            stream_ids,
        )
        for row in rows:
            if row["version"] is not None:
                versions[(source, row["stream_id"])] = row["version"]
            if row["parked"]:
                parked.add((source, row["stream_id"]))
    return versions, parked


async def _record_progress(
    db: Connection,
    versions: dict[StreamKey, int],
    changed: set[StreamKey],
    topic: str,
    partition: int,
    next_offset: int,
) -> None:
    if changed:
        await _record_progress_of_streams(db, {key: versions[key] for key in changed})
    await db.execute(
        "UPDATE _offsets SET next_offset = $3 WHERE topic = $1 AND partition = $2",
        topic,
        partition,
        next_offset,
    )


async def _record_progress_of_streams(db: Connection, versions: dict[StreamKey, int]) -> None:
    ordered = sorted(versions)  # a fixed lock order: concurrent batches cannot deadlock
    await db.execute(
        "INSERT INTO _streams (source, stream_id, version)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::int[])"
        " ON CONFLICT (source, stream_id) DO UPDATE SET version = EXCLUDED.version",
        [k[0] for k in ordered],
        [k[1] for k in ordered],
        [versions[k] for k in ordered],
    )


async def _park_all(db: Connection, envelopes: list[Envelope]) -> None:
    for envelope in envelopes:
        await park(db, envelope, "behind a dead letter")


async def park(db: Connection, envelope: Envelope, reason: str) -> None:
    """This event waits in the dead-letter topic, and so will the rest of its stream."""
    await db.execute(
        "INSERT INTO _parked (source, stream_id, through_version, first_event_id, reason)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (source, stream_id) DO UPDATE"
        " SET through_version = greatest(_parked.through_version, EXCLUDED.through_version)",
        envelope.source,
        envelope.stream_id,
        envelope.stream_version,
        envelope.event_id,
        reason,
    )


async def apply_dead_letter(db: Connection, projection: Projection, message: Message) -> Outcome:
    """Apply a re-driven message to the current schema (the caller sets it and owns the
    transaction); release its stream once its last parked event is through."""
    outcome = Outcome()
    envelope = decode(message)
    key = (envelope.source, envelope.stream_id)
    applied = (await _streams_of(db, {key}))[0].get(key, 0)
    if envelope.stream_version <= applied:
        outcome.duplicates += 1
    else:
        await _apply(db, projection, message, [envelope])
        await _record_progress_of_streams(db, {key: envelope.stream_version})
        outcome.applied += 1
    # dead letters keep stream order, so past the last parked version the stream is free
    await db.execute(
        "DELETE FROM _parked WHERE source = $1 AND stream_id = $2 AND through_version <= $3",
        *key,
        envelope.stream_version,
    )
    return outcome
