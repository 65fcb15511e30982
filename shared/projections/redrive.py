"""Re-drive: apply a projection's dead letters again, in their order, once the cause is fixed.

Progress through the dead-letter topic is stored with the read model like any topic's, so a
re-drive interrupted half way resumes without applying anything twice. It stops at the
first message that still fails: the messages behind it keep their stream order.
"""

from collections.abc import Callable

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer

from shared.events.kafka_binding import NotAKinerjaEvent
from shared.projections.applier import share_lock
from shared.projections.batch import Message, apply_dead_letter, lock_next_offset
from shared.projections.dead_letters import RedriveReport, dead_letter_spec
from shared.projections.projection import Projection
from shared.projections.schema import ensure_live_schema, use_schema
from shared.relay.topics import ensure_topics, topic_partitions

log = structlog.get_logger(__name__)


async def redrive(
    projection: Projection,
    pool: asyncpg.Pool,
    bootstrap_servers: str,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> RedriveReport:
    async with pool.acquire() as db:
        await ensure_live_schema(db, projection)
    topic = dead_letter_spec(projection).name
    await ensure_topics(bootstrap_servers, [dead_letter_spec(projection)])
    [partition] = await topic_partitions(bootstrap_servers, [topic])
    report = RedriveReport()
    # earliest: an offset reset racing the seek below must never jump to the end
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        consumer.assign([partition])
        async with pool.acquire() as db:
            start = await db.fetchval(
                f'SELECT next_offset FROM "{projection.schema()}"._offsets'
                " WHERE topic = $1 AND partition = 0",
                topic,
            )
        consumer.seek(partition, start or 0)
        end = (await consumer.end_offsets([partition]))[partition]
        while await consumer.position(partition) < end and not report.still_failing:
            batch = await consumer.getmany(partition, timeout_ms=500)
            for record in batch.get(partition, []):
                if not await _redrive_one(pool, projection, record, report):
                    break
                if progress:
                    progress(record.offset + 1 - (start or 0), end - (start or 0))
    finally:
        await consumer.stop()
    log.info("projection.redriven", projection=projection.name, **vars(report))
    return report


async def _redrive_one(
    pool: asyncpg.Pool, projection: Projection, dead: Message, report: RedriveReport
) -> bool:
    """Apply one dead letter to the live schema; False if it fails again."""
    try:
        async with pool.acquire() as db, db.transaction():
            await share_lock(db, projection)
            await use_schema(db, projection.schema())
            if dead.offset < await lock_next_offset(db, dead.topic, dead.partition):
                return True  # an earlier re-drive got past it
            try:
                outcome = await apply_dead_letter(db, projection, dead)
                report.applied += outcome.applied
                report.duplicates += outcome.duplicates
            except NotAKinerjaEvent:
                report.unreadable += 1  # nothing any projection can apply: counted, passed
            await db.execute(
                "UPDATE _offsets SET next_offset = $3 WHERE topic = $1 AND partition = $2",
                dead.topic,
                dead.partition,
                dead.offset + 1,
            )
    except Exception as error:  # the cause is not fixed yet: stop here, keep the order
        report.still_failing.append(f"{dead.topic}@{dead.offset}: {error!r}")
        return False
    return True
