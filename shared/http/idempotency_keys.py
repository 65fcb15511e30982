"""The `idempotency_keys` table of a service's schema: stored answers, held keys, expiry."""

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import asyncpg
from starlette.datastructures import Headers
from starlette.types import Message, Receive, Scope, Send

from shared.store.db import Connection
from shared.store.migrations import load, migrate, quote_identifier

KEY_LIFETIME = timedelta(hours=24)
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
    """The response as the app sent it, held back until the request's transaction ends."""

    status: int | None = None
    content_type: str = ""
    retry_after: bool = False
    messages: list[Message] = field(default_factory=list)

    def observe(self, message: Message) -> None:
        self.messages.append(message)
        if message["type"] == "http.response.start":
            self.status = message["status"]
            headers = Headers(raw=message.get("headers", []))
            self.content_type = headers.get("content-type", "")
            self.retry_after = "retry-after" in headers

    @property
    def final(self) -> bool:
        """Whether this answer is one a retry must get again: not a server error, and not an
        answer that itself says to retry (`Retry-After`, as a 409 not-yet-seen says)."""
        return self.status is not None and self.status < 500 and not self.retry_after

    @property
    def body(self) -> bytes:
        return b"".join(
            m.get("body", b"") for m in self.messages if m["type"] == "http.response.body"
        )

    async def respond(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the response as the app gave it."""
        for message in self.messages:
            await send(message)


class IdempotencyKeys:
    """The keys of one schema, each read and written inside the transaction of the request
    that holds it: the answer row commits with the request's events, or neither does."""

    def __init__(self, schema: str) -> None:
        self.schema = schema
        self.table = f"{quote_identifier(schema)}.idempotency_keys"

    async def hold(self, connection: Connection, attempt: Attempt) -> bool:
        """Take the key for the transaction open on `connection`; False while another
        request's transaction has it. A transaction-scoped advisory lock, so a request that
        crashes or is killed lets go of its key with its transaction: "in progress" never
        outlives the request. The lock's 64-bit id hashes schema, caller and key; a collision
        only makes one of two requests wait a second and retry."""
        held: bool = await connection.fetchval(
            "SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))",
            "\x1f".join((self.schema, attempt.caller, attempt.key)),
        )
        return held

    async def find(self, connection: Connection, attempt: Attempt) -> asyncpg.Record | None:
        """The stored answer under the key, unless it has expired."""
        return await connection.fetchrow(
            "SELECT method, path, request_hash, status, body, content_type"
            f" FROM {self.table} WHERE caller = $1 AND key = $2 AND state = 'done'"
            " AND created_at >= now() - $3::interval",
            attempt.caller,
            attempt.key,
            KEY_LIFETIME,
        )

    async def record(self, connection: Connection, attempt: Attempt, answer: Answer) -> None:
        """Store the answer in the open transaction (an expired one under the key goes)."""
        await connection.execute(
            f"INSERT INTO {self.table} AS held (caller, key, method, path, request_hash, state,"
            " status, body, content_type, completed_at)"
            " VALUES ($1, $2, $3, $4, $5, 'done', $6, $7, $8, now())"
            " ON CONFLICT (caller, key) DO UPDATE SET method = $3, path = $4, request_hash = $5,"
            " state = 'done', status = $6, body = $7, content_type = $8, created_at = now(),"
            " completed_at = now()",
            *(attempt.caller, attempt.key, attempt.method, attempt.path, attempt.request_hash),
            *(answer.status, answer.body, answer.content_type),
        )
