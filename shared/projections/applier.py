"""Apply fetched batches to one schema of a projection: the whole batch in one transaction,
retried while the infrastructure is down; a failing message retried alone, then dead-lettered;
one PostgreSQL can never store (a NUL in its text, say) dead-lettered at once. Used by the
live runner and by a replay alike."""

from collections import Counter
from collections.abc import Sequence

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from shared.observability.metrics import DEAD_LETTERS, PROJECTION_APPLIED, PROJECTION_DUPLICATES
from shared.projections.batch import (
    INFRASTRUCTURE_ERRORS,
    ApplyFailed,
    Fetched,
    Message,
    StreamsRaced,
    apply_batch,
    cannot_store,
    fetched,
)
from shared.projections.dead_letters import (
    FAILED,
    PARKED,
    WaitingDeadLetters,
    dead_letter,
    failure_of,
    send_dead_letters,
)
from shared.projections.projection import Projection
from shared.store.db import Connection

log = structlog.get_logger(__name__)


class Applier:
    def __init__(
        self,
        projection: Projection,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        schema: str,
        *,
        attempts: int = 3,
        backoff_seconds: float = 0.2,
        waiting: WaitingDeadLetters | None = None,
    ) -> None:
        self.projection = projection
        self.pool = pool
        self.producer = producer
        self.schema = schema
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        # a replay's: the dead letters already in the topic, not to be sent again
        self.waiting = waiting

    async def process(self, partitions: Sequence[Sequence[Message]]) -> None:
        """What one fetch returned: per partition, messages in offset order; all in one
        transaction, the fewer the better at month-end peaks and in a replay."""
        await self.process_fetched([fetched(messages) for messages in partitions])

    async def process_fetched(self, partitions: Sequence[Sequence[Fetched]]) -> None:
        """`process` of messages decoded beforehand (`batch.fetched`)."""
        try:
            await self._apply(partitions)
        except ApplyFailed:
            for batch in partitions:
                for one in batch:
                    await self._apply_alone(one)

    async def _apply(self, partitions: Sequence[Sequence[Fetched]]) -> None:
        async for attempt in self._until_it_goes_through():
            with attempt:
                async with self.pool.acquire() as db, db.transaction():
                    await share_lock(db, self.projection)
                    outcome = await apply_batch(db, self.projection, self.schema, partitions)
                    sent = await self._not_yet_dead(outcome.parked)
                    if sent:
                        await send_dead_letters(self.producer, self.projection, sent, PARKED)
        PROJECTION_APPLIED.labels(self.projection.name).inc(outcome.applied)
        PROJECTION_DUPLICATES.labels(self.projection.name).inc(outcome.duplicates)
        for topic, parked in Counter(m.topic for m in sent).items():
            DEAD_LETTERS.labels(self.projection.name, topic).inc(parked)

    async def _not_yet_dead(self, messages: Sequence[Message]) -> list[Message]:
        if not messages or self.waiting is None:
            return list(messages)
        already = await self.waiting.already(messages)
        return [m for m, there in zip(messages, already, strict=True) if not there]

    async def _apply_alone(self, one: Fetched) -> None:
        message = one.message
        try:
            async for attempt in AsyncRetrying(
                # what PostgreSQL cannot store fails the same way every time: no retry
                retry=retry_if_exception(lambda error: cannot_store(error) is None),
                stop=stop_after_attempt(self.attempts),
                wait=wait_exponential(multiplier=self.backoff_seconds, max=5),
                reraise=True,
            ):
                with attempt:
                    await self._apply([[one]])
        except ApplyFailed as failure:
            await self._dead_letter(message, failure)

    async def _dead_letter(self, message: Message, failure: ApplyFailed) -> None:
        publish = bool(await self._not_yet_dead([message]))
        async with self.pool.acquire() as db:
            moved = await dead_letter(
                db,
                self.producer,
                self.projection,
                self.schema,
                message,
                failure.cause,
                publish=publish,
            )
        if not moved:
            return
        reason, error = failure_of(failure.cause)
        where = {
            "projection": self.projection.name,
            "topic": message.topic,
            "partition": message.partition,
            "offset": message.offset,
        }
        if not publish:
            log.info("projection.dead_letter_waiting_already", reason=reason, **where)
            return
        DEAD_LETTERS.labels(self.projection.name, message.topic).inc()
        if reason == FAILED:
            log.exception("projection.dead_letter", reason=reason, error=error, **where)
        else:  # no traceback: the reason says all, and the data is the cause
            log.error("projection.dead_letter", reason=reason, error=error, **where)

    def _until_it_goes_through(self) -> AsyncRetrying:
        """Retried while the infrastructure is down, or a concurrent batch took a stream: no
        fault of the messages."""
        return AsyncRetrying(
            retry=lambda state: isinstance(_error(state), (*INFRASTRUCTURE_ERRORS, StreamsRaced)),
            wait=wait_exponential(multiplier=self.backoff_seconds, max=10),
            before_sleep=lambda state: log.warning(
                "projection.retry",
                projection=self.projection.name,
                error=repr(_error(state)),
            ),
            reraise=True,
        )


async def share_lock(db: Connection, projection: Projection) -> None:
    """Live batches share this lock; a replay's switch-over takes it alone."""
    await db.execute("SELECT pg_advisory_xact_lock_shared(hashtext($1))", projection.lock_key())


async def exclusive_lock(db: Connection, projection: Projection) -> None:
    await db.execute("SELECT pg_advisory_xact_lock(hashtext($1))", projection.lock_key())


def _error(state: RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome else None
