"""The replay suite: a projection rebuilt from a topic by `shared.projections.replay`, beside a
bare aiokafka loop that only consumes the same topic."""

import asyncio
import time
from datetime import UTC, datetime

import uuid_utils.compat as uuid7
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.events.canonical import GENESIS_HASH
from shared.events.envelope import Envelope, seal
from shared.events.kafka_binding import from_record, to_record
from shared.projections.projection import Projection
from shared.projections.replay import replay
from shared.relay.topics import TopicSpec, dead_letter_topic, ensure_topics, topic_partitions
from shared.store.db import Connection, create_pool
from tests.bench.environment import (
    Bench,
    CpuMeter,
    count_rows,
    delete_topics,
    drop_schemas,
    nip,
    target_event,
    unique,
)
from tests.bench.results import Case, Suite
from tests.bench.rounds import run_rounds
from tests.support.projections import BulkTally, Tally

PARTITIONS = 6
WORKERS = 2  # replay processes: one per core of the machine the goals are set for
SUBJECTS = 10_000  # NIPs the streams are spread over (the Kafka key)
DECODE_SAMPLE = 20_000
Sample = list[tuple[bytes, list[tuple[str, bytes]]]]


class Nothing(Projection):
    """Applies nothing: what a replay costs without any projection's own SQL."""

    tables = "CREATE TABLE nothing (id integer)"

    def __init__(self, name: str, topic: str) -> None:
        self.name = name
        self.topics = (topic,)

    async def apply(self, db: Connection, event: Envelope) -> None:
        return None


def run(bench: Bench) -> Suite:
    suite = Suite("replay")
    suite.notes.append(
        f"{bench.replay_events:,} events on a fresh topic of {PARTITIONS} partitions, keyed by "
        f"{SUBJECTS:,} NIPs, streams of two events; each reader starts from the beginning"
    )
    topic = f"kinerja.{unique('bench')}.v1"
    tally, nothing = Tally(unique("bench_tally"), topic), Nothing(unique("bench_noop"), topic)
    bulk = BulkTally(unique("bench_bulk"), topic)
    sample: Sample = []
    try:
        suite.cases.append(asyncio.run(publish(bench, topic)))
        run_rounds(
            suite,
            bench,
            [
                ("bare consume", lambda: bare_consume(bench, topic, sample)),
                ("replay BulkTally", lambda: replay_case(bench, bulk, workers=WORKERS)),
                ("replay BulkTally x1", lambda: replay_case(bench, bulk, workers=1)),
                ("replay Tally", lambda: replay_case(bench, tally)),
                ("replay no-op", lambda: replay_case(bench, nothing)),
                ("decode only", lambda: decode_only(sample)),
            ],
        )
    finally:
        asyncio.run(_clean_up(bench, topic, [bulk, tally, nothing]))
    suite.ratio(f"replay (BulkTally, {WORKERS} processes) / bare consume", "replay_bulk",
                "bare_consume", 0.5, ">= 0.5")  # fmt: skip
    suite.ratio("replay (BulkTally, one process) / bare consume", "replay_bulk_x1",
                "bare_consume", None, "—")  # fmt: skip
    suite.ratio("replay (Tally, a statement per event) / bare consume", "replay_tally",
                "bare_consume", None, "—")  # fmt: skip
    suite.ratio("replay (no-op projection) / bare consume", "replay_nothing", "bare_consume",
                None, "—")  # fmt: skip
    suite.ratio("decode only / bare consume", "decode_only", "bare_consume", None, "—")
    return suite


async def _clean_up(bench: Bench, topic: str, projections: list[Projection]) -> None:
    schemas = [p.schema() + suffix for p in projections for suffix in ("", "__next", "__retired")]
    await drop_schemas(bench.database_url, *schemas)
    await delete_topics(bench.kafka, [topic, *(dead_letter_topic(p.name) for p in projections)])


async def publish(bench: Bench, topic: str) -> Case:
    """Setup, reported for scale: sealed envelopes straight to the topic, no database."""
    await ensure_topics(bench.kafka, [TopicSpec(topic, PARTITIONS)])
    producer = AIOKafkaProducer(
        bootstrap_servers=bench.kafka, linger_ms=20, max_batch_size=1 << 20, acks=1
    )
    await producer.start()
    started = time.perf_counter()
    try:
        now, previous, pending = datetime.now(UTC), GENESIS_HASH, []
        for i in range(bench.replay_events):
            stream, version = divmod(i, 2)
            envelope = seal(
                event_id=uuid7.uuid7(), event=target_event(i), source="bench",
                stream_id=f"target-{stream}", stream_version=version + 1,
                subject=nip(stream % SUBJECTS), occurred_at=now, recorded_at=now, actor=nip(0),
                correlation_id="bench", causation_id=None,
                previous_hash=previous if version else GENESIS_HASH,
            )  # fmt: skip
            previous = envelope.hash
            record = to_record(envelope)
            pending.append(
                await producer.send(topic, record.value, record.key, headers=record.headers)
            )
            if len(pending) >= 5_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    seconds = time.perf_counter() - started
    n = bench.replay_events
    return Case("publish", "setup: seal + to_record + produce", n, seconds, n / seconds, "msg/s")


async def bare_consume(bench: Bench, topic: str, sample: Sample) -> Case:
    """getmany with a large max_records, counting messages, decoding nothing; keeps the first
    messages for the decode diagnostic."""
    meter = CpuMeter(bench.database_url)
    meter.start()
    started = time.perf_counter()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bench.kafka,
        enable_auto_commit=False,
        auto_offset_reset="earliest",  # the reset assign() starts cannot race the seek to the end
    )
    await consumer.start()
    seen = 0
    try:
        partitions = await topic_partitions(bench.kafka, [topic])
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        total = sum((await consumer.end_offsets(partitions)).values())
        async with asyncio.timeout(600 + total / 1_000):
            while seen < total:
                batches = await consumer.getmany(timeout_ms=1_000, max_records=10_000)
                for records in batches.values():
                    seen += len(records)
                    if len(sample) < DECODE_SAMPLE:
                        sample += [(r.value, list(r.headers)) for r in records[:1_000]]
    finally:
        await consumer.stop()
    seconds = time.perf_counter() - started
    cpu = meter.stop(seen)
    if seen != bench.replay_events:
        raise AssertionError(f"consumed {seen}, published {bench.replay_events}")
    return Case("bare_consume", "bare aiokafka consume (getmany, no decoding)", seen, seconds,
                seen / seconds, "msg/s", cpu)  # fmt: skip


async def replay_case(bench: Bench, projection: Projection, workers: int = 1) -> Case:
    pool = await create_pool(bench.database_url, max_size=4)
    meter = CpuMeter(bench.database_url)
    meter.start()
    started = time.perf_counter()
    try:
        report = await replay(
            projection, pool, bench.kafka, workers=workers, database_url=bench.database_url
        )
        wall = time.perf_counter() - started
        cpu = meter.stop(report.messages)
    finally:
        await pool.close()
    if report.messages != bench.replay_events:
        raise AssertionError(f"replayed {report.messages}, published {bench.replay_events}")
    schema = f'"{report.schema}"'
    if isinstance(projection, Tally):  # each event applied exactly once
        applied = await count_rows(bench.database_url, f"{schema}.applied")
        if applied != bench.replay_events:
            raise AssertionError(f"{applied} events applied, {bench.replay_events} replayed")
    if isinstance(projection, BulkTally) and workers > 1:
        key = "replay_bulk"
        name = f"shared.projections.replay, BulkTally (set-based), {workers} worker processes"
    elif isinstance(projection, BulkTally):
        key, name = "replay_bulk_x1", "diagnostic: replay, BulkTally, in one process"
    elif isinstance(projection, Tally):
        key, name = "replay_tally", "diagnostic: replay, Tally (two statements per event)"
    elif isinstance(projection, Nothing):
        key, name = "replay_nothing", "diagnostic: replay, no-op projection (framework only)"
    rate = report.messages / report.seconds
    return Case(key, name, report.messages, report.seconds, rate, "msg/s", {"wall s": wall, **cpu})


async def decode_only(sample: Sample) -> Case:
    """Diagnostic: from_record (CloudEvents binding and envelope validation) alone."""
    if not sample:
        raise RuntimeError("no sample: the bare consume did not run")
    started = time.perf_counter()
    for value, headers in sample:
        from_record(value, headers)
    seconds = time.perf_counter() - started
    n = len(sample)
    cpu = {"client CPU µs/event": seconds / n * 1e6}
    name = "diagnostic: from_record only (no Kafka, no database)"
    return Case("decode_only", name, n, seconds, n / seconds, "msg/s", cpu)
