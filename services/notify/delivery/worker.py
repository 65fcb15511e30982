"""The delivery worker: sends what the ledger holds due, records every attempt, retries with
backoff and gives up after a while.

A delivery is claimed by a lease (`leased_until`), sent outside any transaction, then marked.
A worker that dies between sending and marking leaves the lease to run out, and the delivery
is sent again with the same id: at least once, and once more at most per crash. Many workers
may run: a claim skips rows another worker holds, and a mark only lands while the lease it
was claimed with is still the row's (a fencing token), so a late worker changes nothing.
"""

import asyncio
import contextlib
import random
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import structlog
from prometheus_client import Counter

from services.notify.delivery.email import EmailSender, NotifySmtpSettings
from services.notify.delivery.ledger import Delivery
from services.notify.delivery.sending import DeliveryFailed, DeliverySkipped, Sender, SendResult
from services.notify.delivery.webhooks import WebhookSender
from shared.config import KinerjaSettings
from shared.store.db import create_pool
from shared.store.event_store import Clock, EventStore, utc_now
from shared.store.migrations import load, migrate, quote_identifier

log = structlog.get_logger(__name__)

DELIVERY_OUTCOMES = Counter(
    "kinerja_notify_delivery_outcomes_total",
    "Delivery attempts by channel and outcome (sent, failed, skipped, gave_up).",
    ["channel", "outcome"],
)


def backoff_delay(attempts: int, base: timedelta, cap: timedelta, rng: random.Random) -> timedelta:
    """The wait after the `attempts`-th failure: base doubling up to cap, the upper half of it
    drawn at random so that many deliveries failing together do not retry together."""
    ceiling = min(cap, base * (1 << min(attempts - 1, 40)))
    return ceiling / 2 + ceiling / 2 * rng.random()


@dataclass(frozen=True)
class Claim:
    """A delivery this worker holds until `leased_until` (also its token to mark it)."""

    delivery: Delivery
    leased_until: datetime
    first_failed_at: datetime | None


@dataclass(frozen=True)
class Outcome:
    state: str  # PENDING (to retry), SENT, SKIPPED, GAVE_UP
    attempted_at: datetime | None = None  # None: nothing was attempted (a skip)
    succeeded: bool = False
    status_code: int | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None
    first_failed_at: datetime | None = None


class DeliveryWorker:
    def __init__(
        self,
        pool: asyncpg.Pool,
        schema: str = "notify",
        *,
        senders: Mapping[str, Sender],
        clock: Clock = utc_now,
        lease: timedelta = timedelta(seconds=60),
        backoff: tuple[timedelta, timedelta] = (timedelta(seconds=10), timedelta(hours=1)),
        give_up_after: timedelta = timedelta(hours=24),
        max_attempts: int | None = None,
        batch_size: int = 20,
        poll_interval: timedelta = timedelta(seconds=1),
        rng: random.Random | None = None,
    ) -> None:
        self.pool = pool
        self.table = f"{quote_identifier(schema)}.deliveries"
        self.attempts_table = f"{quote_identifier(schema)}.delivery_attempts"
        self.senders = dict(senders)
        self.clock = clock
        self.lease = lease
        self.backoff = backoff
        self.give_up_after = give_up_after
        self.max_attempts = max_attempts
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        # a send still running when half the lease is gone is abandoned, so that it is marked
        # failed before another worker may claim the delivery again
        self.send_timeout = lease / 2

    async def run(self, stop: asyncio.Event) -> None:
        """Send until `stop` is set; what is in flight then is finished and marked first."""
        log.info("delivery.worker_started", channels=sorted(self.senders))
        while not stop.is_set():
            sent = 0
            try:
                sent = await self.run_once()
            except* (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as errors:
                # the database went away: it comes back, and leases free what was held
                log.warning("delivery.worker_error", error=repr(errors.exceptions[0]))
            if sent < self.batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.poll_interval.total_seconds())
        log.info("delivery.worker_stopped")

    async def run_once(self) -> int:
        """Claim due deliveries, send them side by side, mark each; how many were claimed."""
        claims = await self._claim()
        async with asyncio.TaskGroup() as sending:
            for claim in claims:
                sending.create_task(self._deliver(claim))
        return len(claims)

    async def _claim(self) -> list[Claim]:
        now = self.clock()
        async with self.pool.acquire() as connection:
            rows = await connection.fetch(
                f"UPDATE {self.table} SET leased_until = $2 WHERE delivery_id IN ("
                f" SELECT delivery_id FROM {self.table} WHERE state = 'PENDING'"
                " AND next_attempt_at <= $1 AND (leased_until IS NULL OR leased_until < $1)"
                " AND channel = ANY($3::text[])"
                " ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED)"
                " RETURNING delivery_id, channel, target, event_id, kind, body, attempts,"
                " created_at, leased_until, first_failed_at",
                now, now + self.lease, list(self.senders), self.batch_size,
            )  # fmt: skip
        return [Claim(_delivery(row), row["leased_until"], row["first_failed_at"]) for row in rows]

    async def _deliver(self, claim: Claim) -> None:
        delivery, sender = claim.delivery, self.senders[claim.delivery.channel]
        started = self.clock()
        try:
            async with asyncio.timeout(self.send_timeout.total_seconds()):
                result = await sender.send(delivery)
        except DeliverySkipped as skipped:
            await self._mark(claim, Outcome("SKIPPED", error=skipped.reason))
        except DeliveryFailed as failed:
            await self._mark(claim, await self._failure(claim, sender, started, failed))
        except TimeoutError:
            late = DeliveryFailed(f"no answer within {self.send_timeout.total_seconds():g} s")
            await self._mark(claim, await self._failure(claim, sender, started, late))
        except Exception as error:  # a sender's bug: recorded, retried, never silent
            log.exception("delivery.sender_crashed", delivery_id=str(delivery.delivery_id))
            crashed = DeliveryFailed(f"{type(error).__name__}: {error}")
            await self._mark(claim, await self._failure(claim, sender, started, crashed))
        else:
            await self._mark(claim, _success(started, result))

    async def _failure(
        self, claim: Claim, sender: Sender, started: datetime, failed: DeliveryFailed
    ) -> Outcome:
        """Try again after a backoff, or give up: failing since longer than give_up_after, or
        out of attempts."""
        first_failed_at = claim.first_failed_at or started
        attempts = claim.delivery.attempts + 1
        outcome = Outcome(
            "PENDING", started, status_code=failed.status_code, error=str(failed),
            first_failed_at=first_failed_at,
            next_attempt_at=self.clock() + backoff_delay(attempts, *self.backoff, self.rng),
        )  # fmt: skip
        out_of_time = self.clock() - first_failed_at >= self.give_up_after
        if not out_of_time and (self.max_attempts is None or attempts < self.max_attempts):
            return outcome
        try:  # before the mark: should the mark be lost, the next give-up calls it again
            await sender.gave_up(claim.delivery, first_failed_at, str(failed))
        except Exception:
            log.exception("delivery.give_up_failed", delivery_id=str(claim.delivery.delivery_id))
            return outcome
        return replace(outcome, state="GAVE_UP", next_attempt_at=None)

    async def _mark(self, claim: Claim, outcome: Outcome) -> None:
        """Record the outcome and its attempt in one transaction, if the lease is still ours."""
        now, delivery = self.clock(), claim.delivery
        finished = outcome.state != "PENDING"
        async with self.pool.acquire() as connection, connection.transaction():
            attempts = await connection.fetchval(
                f"UPDATE {self.table} SET state = $3, attempts = attempts + $4,"
                " next_attempt_at = coalesce($5, next_attempt_at), leased_until = NULL,"
                " first_failed_at = coalesce(first_failed_at, $6),"
                " last_error = coalesce($7, last_error), finished_at = $8"
                " WHERE delivery_id = $1 AND state = 'PENDING' AND leased_until = $2"
                " RETURNING attempts",
                delivery.delivery_id, claim.leased_until, outcome.state,
                int(outcome.attempted_at is not None), outcome.next_attempt_at,
                outcome.first_failed_at, outcome.error, now if finished else None,
            )  # fmt: skip
            if attempts is None:
                log.warning("delivery.lease_lost", delivery_id=str(delivery.delivery_id))
                return
            if outcome.attempted_at is not None:
                await connection.execute(
                    f"INSERT INTO {self.attempts_table} (delivery_id, attempt, attempted_at,"
                    " succeeded, status_code, error) VALUES ($1, $2, $3, $4, $5, $6)",
                    delivery.delivery_id, attempts, outcome.attempted_at, outcome.succeeded,
                    outcome.status_code, outcome.error,
                )  # fmt: skip
        self._report(delivery, outcome, attempts)

    def _report(self, delivery: Delivery, outcome: Outcome, attempts: int) -> None:
        name = {"SENT": "sent", "SKIPPED": "skipped", "GAVE_UP": "gave_up"}
        outcome_name = name.get(outcome.state, "failed")
        DELIVERY_OUTCOMES.labels(delivery.channel, outcome_name).inc()
        level = log.info if outcome.state in ("SENT", "SKIPPED") else log.warning
        level(
            f"delivery.{outcome_name}",
            delivery_id=str(delivery.delivery_id),
            channel=delivery.channel,
            target=delivery.target,
            attempt=attempts,
            status_code=outcome.status_code,
            error=outcome.error,
            next_attempt_at=outcome.next_attempt_at and outcome.next_attempt_at.isoformat(),
        )


def _delivery(row: asyncpg.Record) -> Delivery:
    return Delivery(
        delivery_id=row["delivery_id"],
        channel=row["channel"],
        target=row["target"],
        event_id=row["event_id"],
        kind=row["kind"],
        body=orjson.loads(row["body"]),
        attempts=row["attempts"],
        created_at=row["created_at"],
    )


def _success(started: datetime, result: SendResult) -> Outcome:
    return Outcome("SENT", started, succeeded=True, status_code=result.status_code)


SQL = Path(__file__).parents[1] / "sql"
Worker = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


def sending_worker(
    settings: KinerjaSettings, smtp: NotifySmtpSettings, schema: str = "notify"
) -> Worker:
    """The worker a service process runs beside its API (shared.process.serve): its own pool,
    the ledger's tables made if the API has not yet, webhooks and email sent until stopped."""

    async def run(stop: asyncio.Event) -> None:
        pool = await create_pool(str(settings.database_url), max_size=4)
        try:
            store = EventStore(pool, schema)
            await store.migrate()
            async with pool.acquire() as connection:
                await migrate(connection, schema, load(SQL))
            async with WebhookSender(store) as webhooks:
                senders: dict[str, Sender] = {
                    "webhook": webhooks,
                    "email": EmailSender(store, smtp),
                }
                await DeliveryWorker(pool, schema, senders=senders).run(stop)
        finally:
            await pool.close()

    return run
