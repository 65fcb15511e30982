"""The sending half of notify on real PostgreSQL: a notify schema per test, a clock the test
moves, events to deliver, and the ledger rows the inbox projection would decide."""

import asyncio
import itertools
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from services.notify.delivery.ledger import Channel, decide, delivery_id
from services.notify.delivery.registry import WebhookHandlers
from services.notify.delivery.sending import Sender
from services.notify.delivery.worker import DeliveryWorker
from shared.contracts.targets import UnitCreated
from shared.domain.identity import Identity
from shared.events.envelope import Envelope
from shared.events.kafka_binding import to_structured
from shared.store.event_store import CommandContext, EventStore
from shared.store.migrations import load, migrate

SQL = Path(__file__).parents[3] / "services" / "notify" / "sql"
ADMIN = Identity.from_subject("admin:biro-sdm")
SECRET = "a-long-enough-secret-for-tests"
LEASE = timedelta(seconds=30)
BACKOFF = (timedelta(seconds=1), timedelta(seconds=4))
GIVE_UP_AFTER = timedelta(minutes=10)


class Clock:
    """Real time plus an offset the test moves forward: a delivery the database dates with
    now() is due at once, and an hour passes in a call."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, by: timedelta) -> None:
        self.offset += by


def context(actor: Identity = ADMIN) -> CommandContext:
    return CommandContext(actor.subject, "test", datetime.now(UTC))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def notify_store(pool: asyncpg.Pool, clock: Clock) -> EventStore:
    """notify's store and ledger in a schema of the test's own."""
    store = EventStore(pool, f"notify_{uuid.uuid4().hex[:10]}", clock=clock)
    await store.migrate()
    async with pool.acquire() as connection:
        await migrate(connection, store.service, load(SQL))
    return store


@pytest.fixture
def webhooks(notify_store: EventStore) -> WebhookHandlers:
    return WebhookHandlers(notify_store)


@pytest.fixture
async def new_event(pool: asyncpg.Pool) -> Callable[[], Awaitable[Envelope]]:
    """Appends a fresh event to a store of another service, as the inbox would read it."""
    targets = EventStore(pool, f"targets_{uuid.uuid4().hex[:10]}")
    await targets.migrate()
    codes = (f"UNIT{n}" for n in itertools.count())

    async def append() -> Envelope:
        code = next(codes)
        [envelope] = await targets.append(
            f"unit-{code}", 0, [UnitCreated(code=code, name=f"Unit {code}", parent_code=None)],
            subject=f"unit:{code}", context=context(),
        )  # fmt: skip
        return envelope

    return append


async def decide_webhook(store: EventStore, webhook_id: str, event: Envelope) -> uuid.UUID:
    """What the inbox projection decides for an event a webhook subscribed to."""
    return await _decide(store, "webhook", webhook_id, event, to_structured(event))


async def decide_email(store: EventStore, nip: str, event: Envelope) -> uuid.UUID:
    body = {"subject": "SKP Anda disetujui", "text": "SKP 2026 Anda telah disetujui."}
    return await _decide(store, "email", nip, event, body)


async def _decide(
    store: EventStore, channel: Channel, target: str, event: Envelope, body: dict[str, Any]
) -> uuid.UUID:
    async with store.pool.acquire() as connection:
        await decide(connection, store.service, [(channel, target, event.event_id, "K", body)])
    return delivery_id(event.event_id, channel, target)


def worker(store: EventStore, clock: Clock, *senders: Sender, **options: Any) -> DeliveryWorker:
    """A worker with the test's clock and backoffs of seconds (of the test's clock)."""
    settings: dict[str, Any] = {"lease": LEASE, "backoff": BACKOFF, "give_up_after": GIVE_UP_AFTER}
    return DeliveryWorker(
        store.pool, store.service, senders={s.channel: s for s in senders}, clock=clock,
        **(settings | options),
    )  # fmt: skip


async def delivery_row(store: EventStore, delivery: uuid.UUID) -> asyncpg.Record:
    async with store.pool.acquire() as connection:
        row = await connection.fetchrow(
            f'SELECT * FROM "{store.service}".deliveries WHERE delivery_id = $1', delivery
        )
    assert row is not None
    return row


async def attempts_of(store: EventStore, delivery: uuid.UUID) -> list[asyncpg.Record]:
    async with store.pool.acquire() as connection:
        return await connection.fetch(
            f'SELECT * FROM "{store.service}".delivery_attempts WHERE delivery_id = $1'
            " ORDER BY attempt",
            delivery,
        )


class CrashAfterSending:
    """A sender that really sends, then hangs where the worker would mark the delivery: the
    test cancels the worker there, as a crash would stop it."""

    def __init__(self, inner: Sender) -> None:
        self.inner = inner
        self.channel = inner.channel
        self.sent = asyncio.Event()

    async def send(self, delivery: Any) -> Any:
        result = await self.inner.send(delivery)
        self.sent.set()
        await asyncio.Event().wait()
        return result

    async def gave_up(self, delivery: Any, failing_since: datetime, last_error: str) -> None:
        await self.inner.gave_up(delivery, failing_since, last_error)


async def crash_after_sending(sending: DeliveryWorker, sender: CrashAfterSending) -> None:
    """Run the worker until its sender has sent, then kill it before it marks anything."""
    task = asyncio.create_task(sending.run_once())
    await asyncio.wait_for(sender.sent.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
