"""The `idempotency_keys` table of a service's schema: claims, stored answers, expiry."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
from starlette.datastructures import Headers
from starlette.types import Message

from shared.store.db import Connection
from shared.store.migrations import load, migrate, quote_identifier

KEY_LIFETIME = timedelta(hours=24)
# A claim still in progress after this belongs to a process that died mid-request: without a
# takeover, its key would answer "in progress" until it expires.
ABANDONED_AFTER = timedelta(minutes=5)
MIGRATIONS = Path(__file__).parent / "sql"


async def migrate_idempotency(connection: Connection, schema: str) -> int:
    """Create `<schema>.idempotency_keys` (migration 0500, clear of the event store's numbers)."""
    return await migrate(connection, schema, load(MIGRATIONS))


async def purge_idempotency_keys(
    connection: Connection, schema: str, older_than: timedelta = KEY_LIFETIME
) -> int:
    """Delete stored answers older than `older_than`; returns how many went. A service runs
    this periodically (say hourly, from its lifespan); expired keys are reusable even before."""
    outcome = await connection.execute(
        f"DELETE FROM {quote_identifier(schema)}.idempotency_keys"
        " WHERE created_at < now() - $1::interval",
        older_than,
    )
    return int(outcome.split()[-1])


@dataclass(frozen=True)
class Attempt:
    """One POST under a key: who sent it, where, and the sha256 of its body."""

    caller: str
    key: str
    method: str
    path: str
    request_hash: str


@dataclass
class Answer:
    """The response as the app sent it, gathered while it streams to the caller."""

    status: int | None = None
    content_type: str = ""
    retry_after: bool = False
    chunks: list[bytes] = field(default_factory=list)

    def observe(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            headers = Headers(raw=message.get("headers", []))
            self.content_type = headers.get("content-type", "")
            self.retry_after = "retry-after" in headers
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))

    @property
    def final(self) -> bool:
        """Whether this answer is one a retry must get again: not a server error, and not an
        answer that itself says to retry (`Retry-After`, as a 409 not-yet-seen says)."""
        return self.status is not None and self.status < 500 and not self.retry_after


class IdempotencyKeys:
    """Claims are told apart by their created_at, so a run whose claim was taken over as
    abandoned can neither record into nor release the new one."""

    def __init__(self, pool: asyncpg.Pool, schema: str) -> None:
        self.pool = pool
        self.table = f"{quote_identifier(schema)}.idempotency_keys"

    async def claim(self, attempt: Attempt) -> datetime | None:
        """Our claim, or None while an answer or a live request holds the key."""
        claimed: datetime | None = await self.pool.fetchval(
            f"INSERT INTO {self.table} AS held"
            " (caller, key, method, path, request_hash, state)"
            " VALUES ($1, $2, $3, $4, $5, 'in_progress') ON CONFLICT (caller, key) DO UPDATE"
            " SET method = $3, path = $4, request_hash = $5, state = 'in_progress',"
            " status = NULL, body = NULL, content_type = NULL, created_at = now(),"
            " completed_at = NULL"
            " WHERE held.created_at < now() - $6::interval"
            " OR (held.state = 'in_progress' AND held.created_at < now() - $7::interval)"
            " RETURNING created_at",
            *(attempt.caller, attempt.key, attempt.method, attempt.path, attempt.request_hash),
            *(KEY_LIFETIME, ABANDONED_AFTER),
        )
        return claimed

    async def find(self, attempt: Attempt) -> asyncpg.Record | None:
        return await self.pool.fetchrow(
            "SELECT method, path, request_hash, state, status, body, content_type"
            f" FROM {self.table} WHERE caller = $1 AND key = $2",
            attempt.caller,
            attempt.key,
        )

    async def record(self, attempt: Attempt, claim: datetime, answer: Answer) -> None:
        await self.pool.execute(
            f"UPDATE {self.table} SET state = 'done', status = $4, body = $5, content_type = $6,"
            " completed_at = now()"
            " WHERE caller = $1 AND key = $2 AND created_at = $3 AND state = 'in_progress'",
            *(attempt.caller, attempt.key, claim),
            *(answer.status, b"".join(answer.chunks), answer.content_type),
        )

    async def release(self, attempt: Attempt, claim: datetime) -> None:
        await self.pool.execute(
            f"DELETE FROM {self.table}"
            " WHERE caller = $1 AND key = $2 AND created_at = $3 AND state = 'in_progress'",
            *(attempt.caller, attempt.key, claim),
        )
