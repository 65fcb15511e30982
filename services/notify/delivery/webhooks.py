"""Webhook deliveries: the structured CloudEvent POSTed, signed, to the webhook's URL.

Headers: `Content-Type: application/cloudevents+json`, `X-Kinerja-Delivery: <delivery id>`
(the same on every resend), `X-Kinerja-Signature: sha256=<hex>` (see signing.py). A 2xx
answer is success; any other answer, a redirect included (never followed), a timeout or a
connection error is a failed attempt. A webhook whose delivery gives up is disabled.
"""

from datetime import datetime, timedelta
from types import TracebackType
from typing import Self

import httpx
import orjson
import structlog

from services.notify.delivery.ledger import Delivery
from services.notify.delivery.sending import DeliveryFailed, DeliverySkipped, SendResult
from services.notify.delivery.signing import DELIVERY_HEADER, SIGNATURE_HEADER, sign
from services.notify.domain.webhook import Webhook
from shared.contracts.catalog import full_catalog
from shared.store.errors import ConcurrencyError
from shared.store.event_store import Clock, CommandContext, EventStore, utc_now
from shared.store.migrations import quote_identifier
from shared.store.repository import Repository

log = structlog.get_logger(__name__)

CONTENT_TYPE = "application/cloudevents+json"
USER_AGENT = "Kinerja-Webhooks/1"
ACTOR = "notify:delivery"  # who disables a webhook: the worker, not a person


class WebhookSender:
    channel = "webhook"

    def __init__(
        self,
        store: EventStore,
        *,
        timeout: timedelta = timedelta(seconds=10),
        client: httpx.AsyncClient | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.store = store
        self.repository = Repository(store, full_catalog())
        self.secrets = f"{quote_identifier(store.service)}.webhook_secrets"
        self.client = client or httpx.AsyncClient(
            timeout=timeout.total_seconds(), follow_redirects=False
        )
        self.clock = clock

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.client.aclose()

    async def send(self, delivery: Delivery) -> SendResult:
        webhook = await self.repository.load(Webhook, delivery.target)
        if not webhook.active:
            state = webhook.state.lower() if webhook.exists else "not registered"
            raise DeliverySkipped(f"webhook {webhook.identity} is {state}")
        secret = await self._secret(webhook.identity)
        body = orjson.dumps(delivery.body)
        headers = {
            "Content-Type": CONTENT_TYPE,
            "User-Agent": USER_AGENT,
            DELIVERY_HEADER: str(delivery.delivery_id),
            SIGNATURE_HEADER: sign(secret, body),
        }
        try:
            response = await self.client.post(webhook.url, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise DeliveryFailed(f"{type(error).__name__}: {error}") from error
        if not response.is_success:
            raise DeliveryFailed(
                f"the receiver answered {response.status_code} {response.reason_phrase}",
                response.status_code,
            )
        return SendResult(response.status_code)

    async def _secret(self, webhook_id: str) -> str:
        async with self.store.pool.acquire() as connection:
            secret: str | None = await connection.fetchval(
                f"SELECT secret FROM {self.secrets} WHERE webhook_id = $1", webhook_id
            )
        if secret is None:  # stored before the registration is appended, so never
            raise DeliveryFailed(f"webhook {webhook_id} has no secret stored")
        return secret

    async def gave_up(self, delivery: Delivery, failing_since: datetime, last_error: str) -> None:
        """Disable the webhook (once: a webhook already disabled or removed is left alone)."""
        context = CommandContext(
            ACTOR, f"delivery:{delivery.delivery_id}", self.clock(), str(delivery.event_id)
        )
        for _ in range(3):  # a lost race is to another disable or a removal: look again
            webhook = await self.repository.load(Webhook, delivery.target)
            if not webhook.active:
                return
            webhook.disable(failing_since, last_error[:1000])
            try:
                await self.repository.save(webhook, subject=webhook.subject, context=context)
            except ConcurrencyError:
                continue
            log.warning(
                "webhook.disabled",
                webhook_id=webhook.identity,
                failing_since=failing_since.isoformat(),
                last_error=last_error,
            )
            return
        raise ConcurrencyError(Webhook.stream_id(delivery.target), webhook.loaded_version, None)
