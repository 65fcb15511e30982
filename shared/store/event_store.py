"""The PostgreSQL event store of one service: append with optimistic concurrency, read a
stream, read everything in commit order without ever skipping a late commit."""

import asyncio
import contextlib
import struct
from collections import Counter
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

import asyncpg
import orjson
import uuid_utils

from shared.events.canonical import GENESIS_HASH, event_hash
from shared.events.envelope import Envelope, hash_content, iso_utc, seal_chain
from shared.events.model import DomainEvent
from shared.observability.metrics import APPEND_CONFLICTS, EVENTS_APPENDED
from shared.store import copy_format
from shared.store.db import Connection, connection_of
from shared.store.errors import ConcurrencyError, SubjectMismatch
from shared.store.migrations import KIT_MIGRATIONS, load, migrate, quote_identifier

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class CommandContext:
    """Who asked, why, and when it happened: the metadata every appended event carries."""

    actor: str
    correlation_id: str
    occurred_at: datetime
    causation_id: str | None = None


class Position(NamedTuple):
    """A place in commit order: (transaction id, position within the store)."""

    transaction_id: int
    position: int


START = Position(0, 0)


@dataclass(frozen=True)
class StoredEvent:
    position: Position
    envelope: Envelope


EVENT_COLUMNS = (
    "event_id, stream_id, stream_version, event_type, schema_version, subject, occurred_at,"
    " recorded_at, actor, correlation_id, causation_id, previous_hash, hash, payload"
)


@dataclass(frozen=True)
class StreamAppend:
    """One stream's part of a bulk append."""

    stream_id: str
    expected_version: int
    subject: str
    events: Sequence[DomainEvent]


# the bulk path's COPY columns, in the order of what changes with each event, then with its
# event type, its stream and its batch: each group after the first is encoded once
BULK_COLUMNS = [
    "event_id", "stream_version", "previous_hash", "hash", "payload",
    "event_type", "schema_version",
    "stream_id", "subject",
    "occurred_at", "recorded_at", "actor", "correlation_id", "causation_id",
]  # fmt: skip
# a row's field count, then its event id, stream version, previous hash and hash, each with
# its length (a hash is always 64 hex digits); the payload's length varies, so it follows in
# a piece of its own
_EVENT_FIELDS = struct.Struct(">hi16sii i64s i64s")
# a new stream's head, a row of the streams table: its field count, its id and subject, then
# its version and last hash
_HEAD_ROW, _HEAD_TAIL = copy_format.field_count(4), struct.Struct(">ii i64s")
SEAL_SLICE = 250  # streams sealed between two turns of the event loop in a bulk append


@dataclass
class CopyBatch:
    """What every row of one bulk append shares: its source, instants (as hashed), actor,
    correlation and causation ids (`hashed`); those as the COPY fields that end each row
    (`fields`); and each event type's fields, encoded once (`type_fields`)."""

    hashed: tuple[str, str, str, str, str, str | None]
    fields: bytes
    type_fields: dict[type[DomainEvent], bytes] = field(default_factory=dict)

    def add_type(self, event: DomainEvent) -> bytes:
        """The event_type and schema_version fields of an event's type, kept for the next."""
        encoded = copy_format.text(event.type_name) + copy_format.int4(event.schema_version)
        self.type_fields[type(event)] = encoded
        return encoded


class EventStore:
    def __init__(self, pool: asyncpg.Pool, service: str, *, clock: Clock = utc_now) -> None:
        self.pool = pool
        self.service = service
        self.schema = quote_identifier(service)
        self._clock = clock
        # $1 expected version; $2-$5 the new head; $6-$19 the events as arrays
        insert_events = (
            f"INSERT INTO {self.schema}.events ({EVENT_COLUMNS}) SELECT * FROM unnest("
            "$6::uuid[], $7::text[], $8::int[], $9::text[], $10::int[], $11::text[],"
            " $12::timestamptz[], $13::timestamptz[], $14::text[], $15::text[], $16::text[],"
            " $17::text[], $18::text[], $19::json[]) WHERE EXISTS (SELECT FROM head)"
        )
        self._append_new = (
            f"WITH head AS (INSERT INTO {self.schema}.streams AS s"
            " (stream_id, subject, version, last_hash) SELECT $2, $3, $4, $5 WHERE $1 = 0"
            " ON CONFLICT (stream_id) DO NOTHING RETURNING 1),"
            f" appended AS ({insert_events} RETURNING 1) SELECT count(*) FROM appended"
        )
        self._append_next = (
            f"WITH head AS (UPDATE {self.schema}.streams SET version = $4, last_hash = $5"
            " WHERE stream_id = $2 AND subject = $3 AND version = $1 RETURNING 1),"
            f" appended AS ({insert_events} RETURNING 1) SELECT count(*) FROM appended"
        )

    async def migrate(self) -> None:
        async with self.pool.acquire() as connection:
            await migrate(connection, self.service, load(KIT_MIGRATIONS))

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[DomainEvent],
        *,
        subject: str,
        context: CommandContext,
    ) -> list[Envelope]:
        """Append atomically after `expected_version` (0: a new stream); else ConcurrencyError."""
        if not events:
            raise ValueError("append needs at least one event")
        async with connection_of(self.pool) as connection:
            # a new stream is written in one round trip: the statement inserts its head only
            # if no stream has that id, and the events only if it did. An existing one is
            # read first, without a lock, for the hash its chain goes on from; then one
            # statement moves the head only if it is still where it was read, and inserts
            # the events only if it did. Either statement is its own transaction, or part of
            # the request's when it holds one (an idempotent POST: shared/store/db.holding).
            head = None
            if expected_version:
                head = await connection.fetchrow(
                    f"SELECT subject, version, last_hash FROM {self.schema}.streams"
                    " WHERE stream_id = $1",
                    stream_id,
                )
                if head is None or head["version"] != expected_version:
                    APPEND_CONFLICTS.labels(self.service).inc()
                    actual = head["version"] if head else 0
                    raise ConcurrencyError(stream_id, expected_version, actual)
                if head["subject"] != subject:
                    raise SubjectMismatch(
                        f"stream {stream_id!r} concerns {head['subject']}, not {subject}"
                    )
            envelopes = self._chain(
                stream_id,
                subject,
                expected_version,
                head["last_hash"] if head else None,
                events,
                context,
            )
            written = await connection.fetchval(
                self._append_new if head is None else self._append_next,
                expected_version,
                *_head_row(envelopes[-1]),
                *zip(*(_row(envelope) for envelope in envelopes), strict=True),
            )
            if written != len(envelopes):  # another writer moved or made the head first
                APPEND_CONFLICTS.labels(self.service).inc()
                now = await connection.fetchval(
                    f"SELECT version FROM {self.schema}.streams WHERE stream_id = $1", stream_id
                )
                raise ConcurrencyError(stream_id, expected_version, now)
        self._count(e.event_type for e in envelopes)
        return envelopes

    def _count(self, event_types: Iterable[str]) -> None:
        for event_type, appended in Counter(event_types).items():
            EVENTS_APPENDED.labels(self.service, event_type).inc(appended)

    def _chain(
        self,
        stream_id: str,
        subject: str,
        version: int,
        previous_hash: str | None,
        events: Sequence[DomainEvent],
        context: CommandContext,
        recorded_at: datetime | None = None,
    ) -> list[Envelope]:
        return seal_chain(
            events,
            source=self.service,
            stream_id=stream_id,
            after_version=version,
            subject=subject,
            occurred_at=context.occurred_at,
            recorded_at=recorded_at or self._clock(),
            actor=context.actor,
            correlation_id=context.correlation_id,
            causation_id=context.causation_id,
            previous_hash=previous_hash or GENESIS_HASH,
        )

    async def append_many(self, appends: Sequence[StreamAppend], *, context: CommandContext) -> int:
        """Many streams in one transaction, written with COPY: the path for imports; returns
        the number of events written. All or nothing; the same concurrency, subject and
        chaining rules as `append`."""
        _check_parts(appends)
        try:
            async with connection_of(self.pool) as connection, connection.transaction():
                written = await self._write(connection, appends, context, asyncio.Lock())
        except _NewStreamExists as taken:
            raise await self._explained(taken) from taken.__cause__
        self._count(e.type_name for part in appends for e in part.events)
        return written

    async def append_batches(
        self,
        batches: Iterable[Sequence[StreamAppend]],
        *,
        context: CommandContext,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """`append_many` of each batch in turn, each its own transaction, committed in the
        order given; returns the number of events written. The path for large imports.

        Two batches are in flight on two connections: while the server writes one batch's
        last rows, moves its heads and commits, the next is hashed and streamed, so the
        client's core and the server's work side by side instead of taking turns. One batch
        is hashed at a time (`sealing`), so the client's core is not shared with a second
        server backend writing beside the first. A batch
        commits only after the one before it has; if one fails, those before it stay
        written, none after it is, and BatchFailed says how many were written.
        `progress` is told the events of each batch as it commits.
        """
        written, index = 0, -1
        pending: list[tuple[int, asyncio.Task[int]]] = []  # in flight, oldest first
        last_streams: set[str] = set()
        sealing = asyncio.Lock()
        try:
            for index, appends in enumerate(batches):
                streams = _check_parts(appends)
                if pending and not last_streams.isdisjoint(streams):
                    written += await _committed(pending[-1][1], progress)  # its heads first
                    pending.pop()
                after = pending[-1][1] if pending else None
                batch = self._append_in_turn(appends, context, after, sealing)
                pending.append((index, asyncio.create_task(batch)))
                if len(pending) == 2:
                    written += await _committed(pending[0][1], progress)
                    pending.pop(0)
                last_streams = streams
            while pending:
                written += await _committed(pending[0][1], progress)
                pending.pop(0)
        except Exception as error:
            failed = index  # unless one in flight failed: then it, and what waited on it
            for number, task in pending:
                try:
                    written += await _committed(task, progress)
                except Exception:
                    failed = min(failed, number)
            raise BatchFailed(written, failed) from error
        return written

    async def _append_in_turn(
        self,
        appends: Sequence[StreamAppend],
        context: CommandContext,
        after: asyncio.Task[int] | None,
        sealing: asyncio.Lock,
    ) -> int:
        try:
            async with self.pool.acquire() as connection, connection.transaction():
                written = await self._write(connection, appends, context, sealing)
                if after is not None:
                    await after  # committed first; if it failed, this rolls back
        except _NewStreamExists as taken:
            raise await self._explained(taken) from taken.__cause__
        self._count(e.type_name for part in appends for e in part.events)
        return written

    async def _explained(self, taken: "_NewStreamExists") -> ConcurrencyError:
        """Which stream said to be new exists, and at what version (read after the failed
        transaction, on a connection of its own)."""
        async with self.pool.acquire() as connection:
            row = await connection.fetchrow(
                f"SELECT stream_id, version FROM {self.schema}.streams"
                " WHERE stream_id = ANY($1::text[]) ORDER BY stream_id LIMIT 1",
                taken.stream_ids,
            )
        if row is None:  # written meanwhile by a transaction not yet committed
            return ConcurrencyError(str(taken.__cause__), 0, None)
        return ConcurrencyError(row["stream_id"], 0, row["version"])

    async def _write(
        self,
        connection: Connection,
        appends: Sequence[StreamAppend],
        context: CommandContext,
        sealing: asyncio.Lock,
    ) -> int:
        """Lock and check the heads, then seal and COPY the events and move the heads; the
        caller owns the transaction."""
        # only streams said to exist are read (and locked): a stream said to be new costs no
        # lookup, and if it exists after all its first version's key refuses the rows
        existing = [part.stream_id for part in appends if part.expected_version]
        heads = {
            row["stream_id"]: row
            for row in (
                await connection.fetch(
                    f"SELECT stream_id, subject, version, last_hash FROM {self.schema}.streams"
                    " WHERE stream_id = ANY($1::text[]) ORDER BY stream_id FOR UPDATE",
                    existing,
                )
                if existing
                else []
            )
        }
        for part in appends:
            self._check_head(part, heads.get(part.stream_id))
        batch = self.copy_batch(context, self._clock())
        new_heads = bytearray()  # binary COPY rows of the streams table
        moved: list[tuple[str, int, str]] = []  # existing heads: stream id, version, last hash

        async def copy_data() -> AsyncGenerator[bytes, None]:
            # sealed while COPY streams them: the server writes one chunk as the next is
            # hashed. One batch at a time (append_batches): the next is sealed while the
            # server finishes this one, rather than beside it on a second backend that would
            # take the client's core.
            async with sealing:
                yield copy_format.HEADER
                for start in range(0, len(appends), SEAL_SLICE):
                    chunk = bytearray()
                    moved.extend(
                        self.seal_copy(
                            appends[start : start + SEAL_SLICE], heads, batch, chunk, new_heads
                        )
                    )
                    yield bytes(chunk)
                    await asyncio.sleep(0)  # a turn for the batch committing meanwhile
                yield copy_format.TRAILER

        try:
            async with contextlib.aclosing(copy_data()) as source:  # the lock freed on failure
                await connection.copy_to_table(
                    "events",
                    schema_name=self.service,
                    columns=BULK_COLUMNS,
                    source=source,
                    format="binary",
                )
            await self._move_heads(connection, bytes(new_heads), moved)
        except asyncpg.UniqueViolationError as error:  # a stream said to be new exists
            APPEND_CONFLICTS.labels(self.service).inc()
            raise _NewStreamExists(
                [p.stream_id for p in appends if not p.expected_version]
            ) from error
        return sum(len(part.events) for part in appends)

    def copy_batch(self, context: CommandContext, recorded_at: datetime) -> CopyBatch:
        """What every row of one bulk append shares, its COPY fields encoded once."""
        return CopyBatch(
            (
                self.service, iso_utc(context.occurred_at), iso_utc(recorded_at), context.actor,
                context.correlation_id, context.causation_id,
            ),
            copy_format.timestamptz(context.occurred_at)
            + copy_format.timestamptz(recorded_at)
            + copy_format.text(context.actor)
            + copy_format.text(context.correlation_id)
            + copy_format.text(context.causation_id),
        )  # fmt: skip

    def seal_copy(
        self,
        parts: Sequence[StreamAppend],
        heads: Mapping[str, asyncpg.Record],
        batch: CopyBatch,
        rows: bytearray,
        new_heads: bytearray,
    ) -> list[tuple[str, int, str]]:
        """Streams' new events hashed and chained as `seal_chain` would (the same
        `hash_content`), each after its head in `heads` (none: a new stream), added to `rows`
        as binary COPY rows of BULK_COLUMNS. A new stream's head is added to `new_heads` as
        a COPY row of the streams table; an existing one's is returned as (stream id,
        version, last hash). No Envelope per event: the bulk path only returns a count, and
        an object per event less is a twentieth of its work."""
        source, occurred, recorded, actor, correlation_id, causation_id = batch.hashed
        fields, type_fields = batch.fields, batch.type_fields
        moved = []
        for part in parts:
            stream_id, subject, version = part.stream_id, part.subject, part.expected_version
            head = heads.get(stream_id)
            previous_hash = head["last_hash"] if head else GENESIS_HASH
            previous = previous_hash.encode()
            stream = copy_format.text(stream_id) + copy_format.text(subject)
            shared = stream + fields
            for event in part.events:
                version += 1
                event_id = uuid_utils.uuid7()
                payload = event.payload()
                digest = event_hash(
                    hash_content(
                        str(event_id), event.type_name, event.schema_version, source, stream_id,
                        version, subject, occurred, recorded, actor, correlation_id,
                        causation_id, previous_hash, payload,
                    )
                )  # fmt: skip
                hashed, body = digest.encode(), orjson.dumps(payload)
                rows += _EVENT_FIELDS.pack(
                    14, 16, event_id.bytes, 4, version, 64, previous, 64, hashed
                )
                rows += copy_format.length(len(body))
                # copied, and orjson's output freed at once: thousands of them held alive
                # cost 2.4 µs each to make instead of 0.1 (measured; the allocator fragments)
                rows += body
                rows += type_fields.get(type(event)) or batch.add_type(event)
                rows += shared
                previous_hash, previous = digest, hashed
            if head is None:
                new_heads += _HEAD_ROW + stream
                new_heads += _HEAD_TAIL.pack(4, version, 64, previous)
            else:
                moved.append((stream_id, version, previous_hash))
        return moved

    def _check_head(self, part: StreamAppend, head: asyncpg.Record | None) -> None:
        actual = head["version"] if head else 0
        if actual != part.expected_version:
            APPEND_CONFLICTS.labels(self.service).inc()
            raise ConcurrencyError(part.stream_id, part.expected_version, actual)
        if head and head["subject"] != part.subject:
            raise SubjectMismatch(f"stream {part.stream_id!r} concerns {head['subject']}")

    async def _move_heads(
        self, connection: Connection, new: bytes, moved: list[tuple[str, int, str]]
    ) -> None:
        """New streams' heads copied in (binary COPY rows of the streams table); existing
        ones, as (stream id, version, last hash), updated."""
        if new:
            await connection.copy_to_table(
                "streams",
                schema_name=self.service,
                columns=["stream_id", "subject", "version", "last_hash"],
                source=copy_format.source([new]),
                format="binary",
            )
        if moved:
            stream_ids, versions, last_hashes = zip(*moved, strict=True)
            await connection.execute(
                f"UPDATE {self.schema}.streams AS s SET version = h.version,"
                " last_hash = h.last_hash FROM unnest($1::text[], $2::int[], $3::text[])"
                " AS h(stream_id, version, last_hash) WHERE s.stream_id = h.stream_id",
                stream_ids,
                versions,
                last_hashes,
            )

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[Envelope]:
        async with connection_of(self.pool) as connection:
            rows = await connection.fetch(
                f"SELECT {EVENT_COLUMNS} FROM {self.schema}.events"
                " WHERE stream_id = $1 AND stream_version > $2 ORDER BY stream_version",
                stream_id,
                after_version,
            )
        return [self._envelope(row) for row in rows]

    async def read_streams(self, stream_ids: Sequence[str]) -> dict[str, list[Envelope]]:
        """Many streams in one query (for imports): stream id -> its events, in order."""
        async with connection_of(self.pool) as connection:
            rows = await connection.fetch(
                f"SELECT {EVENT_COLUMNS} FROM {self.schema}.events"
                " WHERE stream_id = ANY($1::text[]) ORDER BY stream_id, stream_version",
                list(stream_ids),
            )
        streams: dict[str, list[Envelope]] = {}
        for row in rows:
            streams.setdefault(row["stream_id"], []).append(self._envelope(row))
        return streams

    async def read_all(self, after: Position = START, limit: int = 1000) -> list[StoredEvent]:
        """Events in commit order after `after`, stopping below the oldest running transaction:
        an event committed later by a slower writer always sorts after what this returns."""
        async with self.pool.acquire() as connection:
            rows = await connection.fetch(
                f"SELECT transaction_id::text::bigint AS txid, position, {EVENT_COLUMNS}"
                f" FROM {self.schema}.events"
                " WHERE (transaction_id, position) > ($1::text::xid8, $2)"
                " AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())"
                " ORDER BY transaction_id, position LIMIT $3",
                str(after.transaction_id),
                after.position,
                limit,
            )
        return [
            StoredEvent(Position(row["txid"], row["position"]), self._envelope(row)) for row in rows
        ]

    def _envelope(self, row: asyncpg.Record) -> Envelope:
        return envelope_from_row(row, self.service)


def envelope_from_row(row: asyncpg.Record, source: str) -> Envelope:
    """A stored event row (EVENT_COLUMNS) as an envelope; the store's service is its source.
    Positional, in the envelope's field order: the relay reads every event through here."""
    return Envelope(
        row["event_id"],
        row["event_type"],
        row["schema_version"],
        source,
        row["stream_id"],
        row["stream_version"],
        row["subject"],
        row["occurred_at"],
        row["recorded_at"],
        row["actor"],
        row["correlation_id"],
        row["causation_id"],
        row["previous_hash"],
        row["hash"],
        orjson.loads(row["payload"]),
    )


class _NewStreamExists(Exception):
    """A bulk append's COPY met a key of a stream it was told is new (the cause)."""

    def __init__(self, stream_ids: list[str]) -> None:
        super().__init__(f"one of {len(stream_ids)} new streams exists")
        self.stream_ids = stream_ids


class BatchFailed(Exception):
    """A batch of `append_batches` failed (the cause is chained): `written` events of the
    batches before it are stored, nothing of it or after it."""

    def __init__(self, written: int, batch: int) -> None:
        super().__init__(f"batch {batch} failed; the {batch} before it are written")
        self.written = written
        self.batch = batch


def _check_parts(appends: Sequence[StreamAppend]) -> set[str]:
    """The ids of a bulk append's streams, checked: each once, each with events."""
    ids = {part.stream_id for part in appends}
    if len(ids) != len(appends) or any(not part.events for part in appends):
        raise ValueError("a bulk append takes each stream once, each with events")
    return ids


async def _committed(batch: asyncio.Task[int], progress: Callable[[int], None] | None) -> int:
    written = await batch
    if progress is not None:
        progress(written)
    return written


def _head_row(last: Envelope) -> tuple[str, str, int, str]:
    return (last.stream_id, last.subject, last.stream_version, last.hash)


def _row(envelope: Envelope) -> tuple[Any, ...]:
    return (
        envelope.event_id,
        envelope.stream_id,
        envelope.stream_version,
        envelope.event_type,
        envelope.schema_version,
        envelope.subject,
        envelope.occurred_at,
        envelope.recorded_at,
        envelope.actor,
        envelope.correlation_id,
        envelope.causation_id,
        envelope.previous_hash,
        envelope.hash,
        orjson.dumps(envelope.payload).decode(),
    )
