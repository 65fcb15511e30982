"""The inbox: messages from the projection, rendered in the reader's language, with the
reads each recipient marked (events on `inbox-<recipient>`, so a replay keeps them)."""

import uuid
from typing import Any

import asyncpg
import orjson

from services.notify.domain.templates import render
from services.notify.projections import ADMINS, Inbox
from shared.contracts.notify import NotificationRead
from shared.domain.errors import NotAllowed, NotFound
from shared.domain.identity import Identity
from shared.store.errors import ConcurrencyError
from shared.store.event_store import CommandContext, EventStore


class InboxService:
    def __init__(self, pool: asyncpg.Pool, store: EventStore, projection: Inbox) -> None:
        self.pool = pool
        self.store = store
        self.schema = f'"{projection.schema()}"'

    async def items(
        self, recipient: str, reader: Identity, language: str, limit: int
    ) -> list[dict[str, Any]]:
        """Newest first."""
        _check_may_read(recipient, reader)
        rows = await self.pool.fetch(
            f"SELECT notification_id, kind, params, created_at FROM {self.schema}.messages"
            " WHERE recipient = $1 ORDER BY created_at DESC, notification_id LIMIT $2",
            recipient, limit,
        )  # fmt: skip
        read = await self._read(recipient)
        items = []
        for row in rows:
            title, body = render(row["kind"], _params(row["params"]), language)
            items.append({
                "notification_id": str(row["notification_id"]), "kind": row["kind"],
                "title": title, "body": body, "created_at": row["created_at"],
                "read": str(row["notification_id"]) in read,
            })  # fmt: skip
        return items

    async def mark_read(
        self, recipient: str, notification_id: uuid.UUID, reader: Identity, context: CommandContext
    ) -> int:
        """Mark one message read (again: nothing new); the inbox stream's version after it."""
        _check_may_read(recipient, reader)
        exists = await self.pool.fetchval(
            f"SELECT true FROM {self.schema}.messages"
            " WHERE recipient = $1 AND notification_id = $2",
            recipient, notification_id,
        )  # fmt: skip
        if not exists:
            raise NotFound(f"{recipient} has no notification {notification_id}")
        while True:
            history = await self.store.read_stream(f"inbox-{recipient}")
            if str(notification_id) in {e.payload["notification_id"] for e in history}:
                return len(history)
            event = NotificationRead(recipient=recipient, notification_id=str(notification_id))
            try:
                await self.store.append(
                    f"inbox-{recipient}", len(history), [event], subject=recipient, context=context
                )
                return len(history) + 1
            except ConcurrencyError:
                continue  # another read was marked a moment ago: look again

    async def _read(self, recipient: str) -> set[str]:
        history = await self.store.read_stream(f"inbox-{recipient}")
        return {e.payload["notification_id"] for e in history}


def _check_may_read(recipient: str, reader: Identity) -> None:
    if recipient == ADMINS and reader.is_admin:
        return
    if reader.nip != recipient:
        raise NotAllowed(f"only {recipient} reads their inbox")


def _params(raw: str) -> dict[str, Any]:
    params: dict[str, Any] = orjson.loads(raw)
    return params
