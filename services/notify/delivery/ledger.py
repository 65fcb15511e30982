"""The delivery ledger (`notify.deliveries`): what was decided to be sent, to whom, and how
each attempt went. Decisions are inserted by the inbox projection in its own transaction,
with ids derived from the event, so a redelivered or replayed event decides nothing new."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson

from shared.store.db import Connection

Channel = Literal["email", "webhook"]
# a fixed namespace: the same event, channel and target always give the same delivery id
DELIVERY_IDS = uuid.UUID("0b6f0a4e-8d0b-4d8e-9a57-6b1f4a4f9c11")


def delivery_id(event_id: uuid.UUID | str, channel: Channel, target: str) -> uuid.UUID:
    return uuid.uuid5(DELIVERY_IDS, f"{event_id}/{channel}/{target}")


@dataclass(frozen=True)
class Delivery:
    delivery_id: uuid.UUID
    channel: Channel
    target: str
    event_id: uuid.UUID
    kind: str
    body: dict[str, Any]
    attempts: int
    created_at: datetime


async def decide(
    db: Connection,
    schema: str,
    decisions: list[tuple[Channel, str, uuid.UUID, str, dict[str, Any]]],
) -> None:
    """Record deliveries to make: (channel, target, event id, kind, body); one already
    decided is left as it is."""
    if not decisions:
        return
    await db.executemany(
        f'INSERT INTO "{schema}".deliveries (delivery_id, channel, target, event_id, kind, body)'
        " VALUES ($1, $2, $3, $4, $5, $6::jsonb) ON CONFLICT (delivery_id) DO NOTHING",
        [
            (delivery_id(event_id, channel, target), channel, target, event_id, kind,
             orjson.dumps(body).decode())
            for channel, target, event_id, kind, body in decisions
        ],
    )  # fmt: skip
