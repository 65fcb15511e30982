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


def cannot_store(error: BaseException) -> str | None:
    """Why PostgreSQL can never store what the event holds, said for an operator; None when
    the failure is of another kind. Such an event fails the same way on every attempt, in
    every replay: it is dead-lettered at once, under its own reason, never retried.

    Events recorded before the HTTP edge refused such input (shared/http/bodies.py) are still
    in the store and on the topics; this is how the read models meet them."""
    if isinstance(error, ApplyFailed):
        error = error.cause
    match error:
        case asyncpg.CharacterNotInRepertoireError() | asyncpg.UntranslatableCharacterError():
            what = "a NUL character (U+0000), which PostgreSQL text and jsonb cannot hold"
        case asyncpg.NumericValueOutOfRangeError():
            what = "a number out of the range of the read model's columns"
        case asyncpg.DataError() if "out of" in str(error) and "range" in str(error):
            what = "a number out of the range of the read model's columns"  # found by asyncpg
        case UnicodeError():
            what = "text that is not UTF-8 (an unpaired surrogate)"
        case asyncpg.DataError() if "surrogate" in str(error):
            what = "text that is not UTF-8 (an unpaired surrogate)"
        case asyncpg.DataError():
            what = "a value the read model's columns cannot take"
        case _:
            return None
    return f"PostgreSQL cannot store this event: it holds {what} ({error!r})"


class StreamsRaced(Exception):
    """Another transaction recorded a stream this batch took for new (the stream's events in
    two partitions, say); the batch is rolled back and applied again, finding it known."""


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


@dataclass(slots=True)
class Fetched:
    """A message with what it decodes to, decoded once and before any transaction: a batch
    retried (the database away, a failing message) is not decoded again, and no connection
    is held while it is decoded."""

    message: Message
    envelope: Envelope | None
    error: NotAKinerjaEvent | None = None


def fetched(messages: Sequence[Message]) -> list[Fetched]:
    """Decode one partition's messages; what is not an event of ours keeps its error."""
    decoded = []
    for message in messages:
        try:
            decoded.append(Fetched(message, decode(message)))
        except NotAKinerjaEvent as error:
            decoded.append(Fetched(message, None, error))
    return decoded


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
    db: Connection, projection: Projection, schema: str, partitions: Sequence[Sequence[Fetched]]
) -> Outcome:
    """Apply what one fetch returned (per topic partition, messages in offset order) in a few
    statements for all partitions together; the caller owns the transaction."""
    outcome = Outcome()
    partitions = [batch for batch in partitions if batch]
    if not partitions:
        return outcome
    await use_schema(db, schema)
    next_offsets = await lock_next_offsets(
        db, [(batch[0].message.topic, batch[0].message.partition) for batch in partitions]
    )
    fresh: list[Fetched] = []
    ends: dict[tuple[str, int], int] = {}
    for batch in partitions:
        first, last = batch[0].message, batch[-1].message
        start = next_offsets[(first.topic, first.partition)]
        if last.offset >= start:
            fresh += (
                batch if first.offset >= start else [f for f in batch if f.message.offset >= start]
            )
            ends[(first.topic, first.partition)] = last.offset + 1
    if not fresh:
        return outcome
    envelopes = [_envelope_or_fail(f) for f in fresh]
    versions, parked = await _streams_of(db, {(e.source, e.stream_id) for e in envelopes})
    known = set(versions)
    changed: dict[StreamKey, int] = {}
    to_apply: list[Envelope] = []
    to_park: list[Envelope] = []
    for one, envelope in zip(fresh, envelopes, strict=True):
        key = (envelope.source, envelope.stream_id)
        if envelope.stream_version <= versions.get(key, 0):
            outcome.duplicates += 1
        elif key in parked:
            outcome.parked.append(one.message)
            to_park.append(envelope)
        else:
            to_apply.append(envelope)
            versions[key] = changed[key] = envelope.stream_version
    await _apply(db, projection, fresh[0].message, to_apply)
    outcome.applied = len(to_apply)
    await _record_progress(db, changed, ends, known)
    for envelope in to_park:
        await park(db, envelope, "behind a dead letter")
    return outcome


def _envelope_or_fail(fetched: Fetched) -> Envelope:
    if fetched.envelope is None:
        error = fetched.error or NotAKinerjaEvent("not decoded")
        raise ApplyFailed(fetched.message, error) from error
    return fetched.envelope


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
    return (await lock_next_offsets(db, [(topic, partition)]))[(topic, partition)]


async def lock_next_offsets(
    db: Connection, partitions: Sequence[tuple[str, int]]
) -> dict[tuple[str, int], int]:
    """Each partition's next offset, its row locked until the transaction ends; in one
    order (sorted), so two runners sharing partitions during a rebalance cannot deadlock."""
    ordered = sorted(set(partitions))
    topics, numbers = [t for t, _ in ordered], [p for _, p in ordered]
    await db.execute(
        "INSERT INTO _offsets (topic, partition, next_offset)"
        " SELECT *, 0 FROM unnest($1::text[], $2::int[]) ON CONFLICT DO NOTHING",
        topics,
        numbers,
    )
    rows = await db.fetch(
        "SELECT o.topic, o.partition, o.next_offset FROM _offsets AS o"
        " JOIN unnest($1::text[], $2::int[]) AS k(topic, partition) USING (topic, partition)"
        " ORDER BY o.topic, o.partition FOR UPDATE OF o",
        topics,
        numbers,
    )
    return {(row["topic"], row["partition"]): row["next_offset"] for row in rows}


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
    ends: dict[tuple[str, int], int],
    known: set[StreamKey],
) -> None:
    if versions:
        await _record_progress_of_streams(db, versions, known)
    await db.execute(
        "UPDATE _offsets AS o SET next_offset = k.next_offset"
        " FROM unnest($1::text[], $2::int[], $3::bigint[]) AS k(topic, partition, next_offset)"
        " WHERE o.topic = k.topic AND o.partition = k.partition",
        [topic for topic, _ in ends],
        [partition for _, partition in ends],
        list(ends.values()),
    )


async def _record_progress_of_streams(
    db: Connection, versions: dict[StreamKey, int], known: set[StreamKey] | None = None
) -> None:
    """Each stream's last applied version: the streams `_streams_of` did not find are
    inserted, the others updated (all of them, when `known` is not given), in one statement.

    A plain INSERT of a new stream takes 6 µs where the upsert's speculative insertion takes
    8.6 (100,000 new streams in statements of 2,500, measured alone), and a replay meets
    every stream new once. Should another transaction
    have recorded one of them meanwhile, the INSERT fails and so does the batch: StreamsRaced,
    applied again."""
    ordered = sorted(versions)  # a fixed lock order: concurrent batches cannot deadlock
    new = [] if known is None else [k for k in ordered if k not in known]
    old = ordered if known is None else [k for k in ordered if k in known]
    try:
        await db.execute(
            "WITH new AS (INSERT INTO _streams (source, stream_id, version)"
            "  SELECT * FROM unnest($1::text[], $2::text[], $3::int[]))"
            " INSERT INTO _streams (source, stream_id, version)"
            " SELECT * FROM unnest($4::text[], $5::text[], $6::int[])"
            " ON CONFLICT (source, stream_id) DO UPDATE SET version = EXCLUDED.version",
            [k[0] for k in new],
            [k[1] for k in new],
            [versions[k] for k in new],
            [k[0] for k in old],
            [k[1] for k in old],
            [versions[k] for k in old],
        )
    except asyncpg.UniqueViolationError as error:
        raise StreamsRaced(str(error)) from error


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
