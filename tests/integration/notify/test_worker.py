"""The delivery worker's promises on real PostgreSQL, with a real HTTP receiver: a crash
between sending and marking resends once with the same id, a late worker changes nothing,
workers side by side send each delivery once, and a stopped worker stops cleanly."""

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta

import asyncpg
from pydantic import PostgresDsn

from services.notify.delivery.email import NotifySmtpSettings
from services.notify.delivery.ledger import Delivery
from services.notify.delivery.registry import WebhookHandlers
from services.notify.delivery.sending import SendResult
from services.notify.delivery.webhooks import WebhookSender
from services.notify.delivery.worker import sending_worker
from shared.config import KinerjaSettings
from shared.domain.identity import Identity
from shared.events.envelope import Envelope
from shared.store.event_store import EventStore
from tests.integration.notify.conftest import (
    LEASE,
    SECRET,
    Clock,
    CrashAfterSending,
    attempts_of,
    context,
    crash_after_sending,
    decide_webhook,
    delivery_row,
    worker,
)
from tests.support.receivers import WebhookReceiver, serving

NewEvent = Callable[[], Awaitable[Envelope]]
ADMIN = Identity.from_subject("admin:a")


async def registered(webhooks: WebhookHandlers, url: str) -> str:
    return (await webhooks.register_webhook(url, ["*"], SECRET, ADMIN, context())).webhook_id


async def test_a_crash_after_sending_resends_once_with_the_same_delivery_id(
    notify_store: EventStore, webhooks: WebhookHandlers, clock: Clock, new_event: NewEvent
) -> None:
    receiver = WebhookReceiver(SECRET)
    async with serving(receiver) as url, WebhookSender(notify_store) as sender:
        delivery = await decide_webhook(notify_store, await registered(webhooks, url),
                                        await new_event())  # fmt: skip
        crashing = CrashAfterSending(sender)
        await crash_after_sending(worker(notify_store, clock, crashing), crashing)
        assert len(receiver.requests) == 1
        restarted = worker(notify_store, clock, sender)
        assert await restarted.run_once() == 0  # the dead worker's lease still holds it

        clock.advance(LEASE + timedelta(seconds=1))
        assert await restarted.run_once() == 1
        clock.advance(LEASE + timedelta(seconds=1))
        assert await restarted.run_once() == 0

    assert [r.delivery_id for r in receiver.requests] == [str(delivery)] * 2
    assert receiver.requests[0].body == receiver.requests[1].body
    row = await delivery_row(notify_store, delivery)
    assert (row["state"], row["attempts"], row["leased_until"]) == ("SENT", 1, None)
    [attempt] = await attempts_of(notify_store, delivery)
    assert attempt["succeeded"]


class Held:
    """A sender that answers only when the test lets it: a worker slower than its lease."""

    channel = "webhook"

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def send(self, delivery: Delivery) -> SendResult:
        self.started.set()
        await self.release.wait()
        return SendResult(200)

    async def gave_up(self, *_: object) -> None:
        raise AssertionError("nothing gives up here")


async def test_a_worker_that_outlived_its_lease_marks_nothing(
    notify_store: EventStore, webhooks: WebhookHandlers, clock: Clock, new_event: NewEvent
) -> None:
    receiver, held = WebhookReceiver(SECRET), Held()
    async with serving(receiver) as url, WebhookSender(notify_store) as sender:
        delivery = await decide_webhook(notify_store, await registered(webhooks, url),
                                        await new_event())  # fmt: skip
        slow = asyncio.create_task(worker(notify_store, clock, held).run_once())
        await asyncio.wait_for(held.started.wait(), 10)
        clock.advance(LEASE + timedelta(seconds=1))
        assert await worker(notify_store, clock, sender).run_once() == 1
        held.release.set()
        assert await slow == 1

    assert len(receiver.accepted) == 1
    row = await delivery_row(notify_store, delivery)
    assert (row["state"], row["attempts"]) == ("SENT", 1)
    assert len(await attempts_of(notify_store, delivery)) == 1


async def test_workers_side_by_side_send_each_delivery_once(
    notify_store: EventStore, webhooks: WebhookHandlers, clock: Clock, new_event: NewEvent
) -> None:
    receiver = WebhookReceiver(SECRET)
    async with serving(receiver) as url, WebhookSender(notify_store) as sender:
        webhook_id = await registered(webhooks, url)
        deliveries = {str(await decide_webhook(notify_store, webhook_id, await new_event()))
                      for _ in range(30)}  # fmt: skip
        workers = [worker(notify_store, clock, sender, batch_size=4) for _ in range(3)]
        while sum(await asyncio.gather(*(w.run_once() for w in workers))):
            pass

    assert Counter(r.delivery_id for r in receiver.requests) == dict.fromkeys(deliveries, 1)


async def test_a_running_worker_sends_what_is_decided_and_stops_when_told(
    notify_store: EventStore, webhooks: WebhookHandlers, clock: Clock, new_event: NewEvent
) -> None:
    receiver = WebhookReceiver(SECRET)
    async with serving(receiver) as url, WebhookSender(notify_store) as sender:
        webhook_id = await registered(webhooks, url)
        stop = asyncio.Event()
        running = asyncio.create_task(
            worker(notify_store, clock, sender, poll_interval=timedelta(milliseconds=20)).run(stop)
        )
        delivery = await decide_webhook(notify_store, webhook_id, await new_event())
        for _ in range(250):
            if (await delivery_row(notify_store, delivery))["state"] == "SENT":
                break
            await asyncio.sleep(0.02)
        stop.set()
        await asyncio.wait_for(running, 5)

    assert [r.delivery_id for r in receiver.accepted] == [str(delivery)]
    assert (await delivery_row(notify_store, delivery))["state"] == "SENT"


async def test_a_delivery_out_of_attempts_gives_up_before_its_time(
    notify_store: EventStore, webhooks: WebhookHandlers, clock: Clock, new_event: NewEvent
) -> None:
    max_attempts = 3
    receiver = WebhookReceiver(SECRET, failures=10**6)
    async with serving(receiver) as url, WebhookSender(notify_store) as sender:
        delivery = await decide_webhook(notify_store, await registered(webhooks, url),
                                        await new_event())  # fmt: skip
        sending = worker(notify_store, clock, sender, max_attempts=max_attempts)
        while await sending.run_once():
            clock.advance(timedelta(seconds=5))

    row = await delivery_row(notify_store, delivery)
    assert (row["state"], row["attempts"]) == ("GAVE_UP", max_attempts)
    assert len(receiver.requests) == max_attempts


async def test_the_service_process_worker_makes_its_tables_and_sends_until_stopped(
    database_url: str, pool: asyncpg.Pool
) -> None:
    schema = f"notify_{uuid.uuid4().hex[:10]}"
    settings = KinerjaSettings(database_url=PostgresDsn(database_url))
    stop = asyncio.Event()
    running = asyncio.create_task(sending_worker(settings, NotifySmtpSettings(), schema)(stop))
    store = EventStore(pool, schema)
    receiver = WebhookReceiver(SECRET)
    async with serving(receiver) as url:
        for _ in range(250):  # until the worker has made the ledger's tables
            with contextlib.suppress(asyncpg.UndefinedTableError, asyncpg.InvalidSchemaNameError):
                webhook_id = await registered(WebhookHandlers(store), url)
                break
            await asyncio.sleep(0.02)
        [event] = await store.read_stream(f"webhook-{webhook_id}")
        await decide_webhook(store, webhook_id, event)
        for _ in range(250):
            if receiver.accepted:
                break
            await asyncio.sleep(0.02)
        stop.set()
        await asyncio.wait_for(running, 5)

    assert [r.body["id"] for r in receiver.accepted] == [str(event.event_id)]
