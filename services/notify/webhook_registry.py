"""Which webhooks an event goes to, read from notify's own event store (not a read model):
a webhook receives the events recorded after its registration and before its removal or
disabling. The store is strongly consistent and never rebuilt, so a replay decides exactly
what the first pass decided, whatever order the topics arrive in."""

from dataclasses import dataclass
from datetime import datetime

import orjson

from shared.contracts.notify import WebhookDisabled, WebhookRegistered, WebhookRemoved
from shared.events.envelope import Envelope
from shared.events.kafka_binding import versioned_type
from shared.store.db import Connection

TYPES = [WebhookRegistered.type_name, WebhookRemoved.type_name, WebhookDisabled.type_name]


@dataclass
class Subscription:
    webhook_id: str
    event_types: frozenset[str]
    since: datetime
    until: datetime | None = None


@dataclass(frozen=True)
class WebhookRegistry:
    subscriptions: tuple[Subscription, ...]

    @classmethod
    async def load(cls, db: Connection, schema: str) -> "WebhookRegistry":
        rows = await db.fetch(
            f'SELECT event_type, payload, recorded_at FROM "{schema}".events'
            " WHERE event_type = ANY($1::text[]) ORDER BY transaction_id, position",
            TYPES,
        )
        found: dict[str, Subscription] = {}
        for row in rows:
            payload = orjson.loads(row["payload"])
            webhook_id = payload["webhook_id"]
            if row["event_type"] == WebhookRegistered.type_name:
                types = frozenset(payload["event_types"])
                found[webhook_id] = Subscription(webhook_id, types, row["recorded_at"])
            elif webhook_id in found and found[webhook_id].until is None:
                found[webhook_id].until = row["recorded_at"]
        return cls(tuple(found.values()))

    def matching(self, event: Envelope) -> list[str]:
        names = {"*", event.event_type, versioned_type(event.event_type, event.schema_version)}
        return [
            s.webhook_id
            for s in self.subscriptions
            if names & s.event_types
            and s.since <= event.recorded_at
            and (s.until is None or event.recorded_at < s.until)
        ]
