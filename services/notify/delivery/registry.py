"""The admin's handlers for webhooks, which the HTTP layer calls: register, remove, list, and
the delivery log of one webhook. Only an admin may; a webhook's secret is never read back."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import uuid_utils.compat as uuid7

from services.notify.domain.webhook import Webhook
from shared.contracts.catalog import full_catalog
from shared.domain.errors import NotAllowed, NotFound
from shared.domain.identity import Identity
from shared.store.db import connection_of
from shared.store.event_store import CommandContext, EventStore
from shared.store.migrations import quote_identifier
from shared.store.repository import Repository


@dataclass(frozen=True)
class WebhookDone:
    """The webhook a command made or touched, and its stream version after it."""

    webhook_id: str
    version: int


def new_webhook_id() -> str:
    return str(uuid7.uuid7())


class WebhookHandlers:
    def __init__(self, store: EventStore, new_id: Callable[[], str] = new_webhook_id) -> None:
        self.store = store
        self.repository = Repository(store, full_catalog())
        self.new_id = new_id
        schema = quote_identifier(store.service)
        self.secrets = f"{schema}.webhook_secrets"
        self.deliveries = f"{schema}.deliveries"
        self.attempts = f"{schema}.delivery_attempts"

    async def register_webhook(
        self,
        url: str,
        event_types: Sequence[str],
        secret: str,
        actor: Identity,
        context: CommandContext,
    ) -> WebhookDone:
        """A new webhook: RuleViolation (field url, event_types or secret) when one is bad."""
        _admin_only(actor)
        webhook = Webhook(self.new_id())
        webhook.register(url, event_types, secret, actor.subject)  # checks before any write
        # the secret first, in its own table: the worker signs only for a registered webhook,
        # and a registration appended without its secret could never be signed for
        # in the request's transaction when it holds one (an idempotent POST): with it, the
        # secret and the registration commit together
        async with connection_of(self.store.pool) as connection:
            await connection.execute(
                f"INSERT INTO {self.secrets} (webhook_id, secret) VALUES ($1, $2)"
                " ON CONFLICT (webhook_id) DO NOTHING",
                webhook.identity,
                secret,
            )
        await self.repository.save(webhook, subject=webhook.subject, context=context)
        return WebhookDone(webhook.identity, webhook.version)

    async def remove_webhook(
        self, webhook_id: str, actor: Identity, context: CommandContext
    ) -> WebhookDone:
        """Nothing more is sent to it; deliveries still pending are skipped."""
        _admin_only(actor)
        webhook = await self._webhook(webhook_id)
        webhook.remove(actor.subject)
        await self.repository.save(webhook, subject=webhook.subject, context=context)
        return WebhookDone(webhook.identity, webhook.version)

    async def list_webhooks(self, actor: Identity) -> list[dict[str, Any]]:
        """Every webhook not removed (active or disabled), oldest first, without secrets."""
        _admin_only(actor)
        async with self.store.pool.acquire() as connection:
            ids = [
                row["webhook_id"]
                for row in await connection.fetch(f"SELECT webhook_id FROM {self.secrets}")
            ]
        webhooks = await self.repository.load_many(Webhook, sorted(ids))  # uuid7: by time
        return [_described(w) for w in webhooks.values() if w.exists and not w.removed]

    async def delivery_log(
        self, webhook_id: str, actor: Identity, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Its latest deliveries, newest first, each with every attempt in order."""
        _admin_only(actor)
        await self._webhook(webhook_id)
        async with self.store.pool.acquire() as connection:
            deliveries = await connection.fetch(
                "SELECT delivery_id, event_id, kind, body->>'type' AS type, state, attempts,"
                " next_attempt_at, first_failed_at, last_error, created_at, finished_at"
                f" FROM {self.deliveries} WHERE channel = 'webhook' AND target = $1"
                " ORDER BY created_at DESC, delivery_id LIMIT $2",
                webhook_id,
                limit,
            )
            attempts = await connection.fetch(
                "SELECT delivery_id, attempt, attempted_at, succeeded, status_code, error"
                f" FROM {self.attempts} WHERE delivery_id = ANY($1::uuid[])"
                " ORDER BY delivery_id, attempt",
                [row["delivery_id"] for row in deliveries],
            )
        by_delivery: dict[Any, list[dict[str, Any]]] = {}
        for row in attempts:
            attempt = dict(row)
            by_delivery.setdefault(attempt.pop("delivery_id"), []).append(attempt)
        return [
            {**dict(row), "attempt_log": by_delivery.get(row["delivery_id"], [])}
            for row in deliveries
        ]

    async def _webhook(self, webhook_id: str) -> Webhook:
        webhook = await self.repository.load(Webhook, webhook_id)
        if not webhook.exists:
            raise NotFound(f"there is no webhook {webhook_id}")
        return webhook


def _described(webhook: Webhook) -> dict[str, Any]:
    disabled = webhook.disabled
    return {
        "webhook_id": webhook.identity,
        "url": webhook.url,
        "event_types": webhook.event_types,
        "state": webhook.state,
        "secret_sha256": webhook.secret_sha256,
        "registered_by": webhook.registered_by,
        "failing_since": disabled.failing_since if disabled else None,
        "last_error": disabled.last_error if disabled else None,
        "version": webhook.version,
    }


def _admin_only(actor: Identity) -> None:
    if not actor.is_admin:
        raise NotAllowed("only an admin manages webhooks")
