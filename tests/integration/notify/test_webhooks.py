"""Webhooks end to end on real PostgreSQL and a real HTTP receiver on loopback: registered by
an admin, sent signed, retried until they succeed, disabled when they fail for too long."""

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

import asyncpg
import orjson
import pytest

from services.notify.delivery.registry import WebhookHandlers
from services.notify.delivery.webhooks import WebhookSender
from services.notify.domain.webhook import fingerprint
from services.notify.projections import ADMINS, Inbox
from shared.contracts.notify import WebhookDisabled
from shared.domain.errors import NotAllowed, NotFound, RuleViolation, WrongState
from shared.domain.identity import Identity
from shared.events.envelope import Envelope
from shared.projections.schema import ensure_live_schema, use_schema
from shared.store.event_store import EventStore
from tests.integration.notify.conftest import (
    GIVE_UP_AFTER,
    SECRET,
    Clock,
    attempts_of,
    context,
    decide_webhook,
    delivery_row,
    worker,
)
from tests.support.receivers import WebhookReceiver, serving

PREDIKAT = "kinerja.appraisal.predikat-determined"
ADMIN = Identity.from_subject("admin:a")
NewEvent = Callable[[], Awaitable[Envelope]]


async def register(webhooks: WebhookHandlers, url: str) -> str:
    return (await webhooks.register_webhook(url, ["*"], SECRET, ADMIN, context())).webhook_id


async def test_a_delivery_is_posted_as_a_signed_cloudevent(
    notify_store: EventStore, webhooks: WebhookHandlers, clock: Clock, new_event: NewEvent
) -> None:
    receiver = WebhookReceiver(SECRET)
    async with serving(receiver) as url, WebhookSender(notify_store) as sender:
        webhook_id = await register(webhooks, url)
        event = await new_event()
        delivery = await decide_webhook(notify_store, webhook_id, event)

        assert await worker(notify_store, clock, sender).run_once() == 1

    [request] = receiver.requests
    assert (request.signed, request.status) == (True, 200)
    assert request.delivery_id == str(delivery)
    assert request.content_type == "application/cloudevents+json"
    assert request.body["id"] == str(event.event_id)
    assert request.body["type"] == "kinerja.targets.unit-created.v1"
    assert request.body["data"] == event.payload
    row = await delivery_row(notify_store, delivery)
    assert (row["state"], row["attempts"], row["finished_at"] is not None) == ("SENT", 1, True)


async def test_a_receiver_failing_five_times_gets_the_event_once_under_one_delivery_id(
    notify_store: EventStore, webhooks: WebhookHandlers, clock: Clock, new_event: NewEvent
) -> None:
    receiver = WebhookReceiver(SECRET, failures=5, failing_status=503)
    async with serving(receiver) as url, WebhookSender(notify_store) as sender:
        webhook_id = await register(webhooks, url)
        delivery = await decide_webhook(notify_store, webhook_id, await new_event())
        sending = worker(notify_store, clock, sender)
        for _ in range(6):
            assert await sending.run_once() == 1
            assert await sending.run_once() == 0  # not due again before its backoff
            clock.advance(timedelta(seconds=5))  # past the longest backoff of these tests
        assert await sending.run_once() == 0

    assert [r.status for r in receiver.requests] == [503] * 5 + [200]
    assert {r.delivery_id for r in receiver.requests} == {str(delivery)}
    assert len(receiver.accepted) == 1
    [logged] = await webhooks.delivery_log(webhook_id, ADMIN)
    assert (logged["delivery_id"], logged["state"], logged["attempts"]) == (delivery, "SENT", 6)
    assert [(a["attempt"], a["succeeded"], a["status_code"]) for a in logged["attempt_log"]] == [
        *((n, False, 503) for n in range(1, 6)),
        (6, True, 200),
    ]
    assert logged["first_failed_at"] == logged["attempt_log"][0]["attempted_at"]


async def test_a_webhook_failing_past_the_give_up_time_is_disabled_once(
    notify_store: EventStore, webhooks: WebhookHandlers, clock: Clock, new_event: NewEvent
) -> None:
    receiver = WebhookReceiver(SECRET, failures=10**6, failing_status=500)
    async with serving(receiver) as url, WebhookSender(notify_store) as sender:
        webhook_id = await register(webhooks, url)
        failing = [await decide_webhook(notify_store, webhook_id, await new_event())
                   for _ in range(2)]  # fmt: skip
        sending = worker(notify_store, clock, sender)
        for _ in range(3):  # at 0, 5 and 10 minutes: both fail for give_up_after, then stop
            assert await sending.run_once() == 2
            clock.advance(GIVE_UP_AFTER / 2)
        later = await decide_webhook(notify_store, webhook_id, await new_event())
        assert await sending.run_once() == 1

    assert [(await delivery_row(notify_store, d))["state"] for d in failing] == ["GAVE_UP"] * 2
    assert len(await attempts_of(notify_store, failing[0])) == 3
    later_row = await delivery_row(notify_store, later)
    assert (later_row["state"], later_row["attempts"]) == ("SKIPPED", 0)
    assert later_row["last_error"] == f"webhook {webhook_id} is disabled"
    assert len(receiver.requests) == 6  # nothing went to it after it was disabled
    stream = await notify_store.read_stream(f"webhook-{webhook_id}")
    disabled = [e for e in stream if e.event_type == WebhookDisabled.type_name]
    assert len(disabled) == 1
    assert disabled[0].payload["url"] == url
    last_error = "500: the receiver answered 500 Internal Server Error"
    assert (disabled[0].payload["last_error"], disabled[0].actor) == (last_error, "notify:delivery")
    [listed] = await webhooks.list_webhooks(ADMIN)
    assert (listed["state"], listed["last_error"]) == ("DISABLED", last_error)
    assert await _admins_told(notify_store, disabled[0]) == [("WEBHOOK_DISABLED", url)]


async def _admins_told(store: EventStore, disabled: Envelope) -> list[tuple[str, str]]:
    """What the inbox projection makes of the event: a message to the admins."""
    inbox = Inbox(ledger_schema=store.service)
    inbox.name = f"notify.inbox_{uuid.uuid4().hex[:8]}"  # a read model of this test's own
    async with store.pool.acquire() as db:
        await ensure_live_schema(db, inbox)
        async with db.transaction():
            await use_schema(db, inbox.schema())
            await inbox.apply_all(db, [disabled])
        rows = await db.fetch(
            f'SELECT kind, params FROM "{inbox.schema()}".messages WHERE recipient = $1', ADMINS
        )
        await db.execute(f'DROP SCHEMA "{inbox.schema()}" CASCADE')
    return [(r["kind"], orjson.loads(r["params"])["url"]) for r in rows]


async def test_a_connection_refused_is_a_failed_attempt_retried_later(
    notify_store: EventStore, webhooks: WebhookHandlers, clock: Clock, new_event: NewEvent
) -> None:
    receiver = WebhookReceiver(SECRET)
    async with serving(receiver) as url:
        pass  # the port is closed again: nothing listens there
    async with WebhookSender(notify_store) as sender:
        webhook_id = await register(webhooks, url)
        delivery = await decide_webhook(notify_store, webhook_id, await new_event())
        assert await worker(notify_store, clock, sender).run_once() == 1

    row = await delivery_row(notify_store, delivery)
    assert (row["state"], row["attempts"]) == ("PENDING", 1)
    assert row["next_attempt_at"] > clock()
    assert row["last_error"].startswith("ConnectError")
    [attempt] = await attempts_of(notify_store, delivery)
    assert (attempt["succeeded"], attempt["status_code"]) == (False, None)


async def test_registering_with_a_bad_url_is_refused_and_stores_nothing(
    pool: asyncpg.Pool, notify_store: EventStore, webhooks: WebhookHandlers
) -> None:
    with pytest.raises(RuleViolation) as refused:
        await webhooks.register_webhook(
            "https://admin:pw@siasn.example.go.id/hook", [PREDIKAT], SECRET, ADMIN, context()
        )

    assert refused.value.field == "url"
    async with pool.acquire() as connection:
        secrets = await connection.fetchval(
            f'SELECT count(*) FROM "{notify_store.service}".webhook_secrets'
        )
    assert secrets == 0
    assert await webhooks.list_webhooks(ADMIN) == []


async def test_only_an_admin_manages_webhooks(webhooks: WebhookHandlers) -> None:
    pegawai = Identity.from_subject("199001012015031001")
    auditor = Identity.from_subject("auditor:bpk")
    for caller in (pegawai, auditor):
        with pytest.raises(NotAllowed):
            await webhooks.register_webhook("https://x.example/h", ["*"], SECRET, caller,
                                            context(caller))  # fmt: skip
        with pytest.raises(NotAllowed):
            await webhooks.remove_webhook("any", caller, context(caller))
        with pytest.raises(NotAllowed):
            await webhooks.list_webhooks(caller)
        with pytest.raises(NotAllowed):
            await webhooks.delivery_log("any", caller)


async def test_a_removed_webhook_is_listed_no_more_and_its_pending_deliveries_are_skipped(
    notify_store: EventStore, webhooks: WebhookHandlers, clock: Clock, new_event: NewEvent
) -> None:
    receiver = WebhookReceiver(SECRET)
    async with serving(receiver) as url, WebhookSender(notify_store) as sender:
        kept = await register(webhooks, url)
        gone = await register(webhooks, url)
        listed = await webhooks.list_webhooks(ADMIN)
        assert [w["webhook_id"] for w in listed] == [kept, gone]
        assert listed[0]["secret_sha256"] == fingerprint(SECRET)
        assert not any(SECRET in str(value) for w in listed for value in w.values())
        delivery = await decide_webhook(notify_store, gone, await new_event())

        done = await webhooks.remove_webhook(gone, ADMIN, context(ADMIN))
        assert await worker(notify_store, clock, sender).run_once() == 1

    assert (done.webhook_id, done.version) == (gone, 2)
    assert [w["webhook_id"] for w in await webhooks.list_webhooks(ADMIN)] == [kept]
    row = await delivery_row(notify_store, delivery)
    assert (row["state"], row["last_error"]) == ("SKIPPED", f"webhook {gone} is removed")
    assert receiver.requests == []
    with pytest.raises(WrongState):
        await webhooks.remove_webhook(gone, ADMIN, context(ADMIN))
    with pytest.raises(NotFound):
        await webhooks.remove_webhook("no-such-webhook", ADMIN, context(ADMIN))
    with pytest.raises(NotFound):
        await webhooks.delivery_log("no-such-webhook", ADMIN)
