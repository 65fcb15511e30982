"""Idempotent POSTs: a retry with the same `Idempotency-Key` and body gets the first answer
again and records nothing new; the same key with another body is a 409. Keys are scoped per
caller and kept for a day (see idempotency_keys.py; a service purges them periodically).

The request runs inside one database transaction that holds its key: the events it appends
(the store writes through that transaction, shared/store/db.holding), the key and its answer
commit together, and only then is the answer sent. So a retry after any crash, kill or
database loss either finds the answer or finds nothing done, never half."""

import asyncio
import contextlib
import hashlib
import re
from collections.abc import Callable

import asyncpg
import structlog
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.http.auth import JwtSettings, bearer_token, jwt_settings, verify_token
from shared.http.idempotency_keys import Answer, Attempt, IdempotencyKeys
from shared.http.problems import (
    RETRY_AFTER_SECONDS,
    Conflict,
    Problem,
    ServiceUnavailable,
    Unauthorized,
    Unprocessable,
    unavailable,
)
from shared.store.db import database_away, holding
from shared.store.migrations import quote_identifier

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"

_KEY = re.compile(r"[\x20-\x7e]{1,255}")

PoolGetter = Callable[[], asyncpg.Pool]
log = structlog.get_logger(__name__)


class IdempotencyMiddleware:
    """Pure ASGI; acts only on a POST carrying `Idempotency-Key` from a verified caller."""

    def __init__(
        self,
        app: ASGIApp,
        pool_getter: PoolGetter,
        schema: str,
        *,
        settings: JwtSettings | None = None,
    ) -> None:
        quote_identifier(schema)  # refuse a bad schema name now, not on the first POST
        self.app = app
        # A getter, since a service makes its pool in the lifespan, after the app is built.
        self.pool_getter = pool_getter
        self.schema = schema
        self.settings = settings or jwt_settings()
        self._semaphores: dict[int, asyncio.Semaphore] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        caller_and_key = self._caller_and_key(scope)
        if caller_and_key is None:
            await self.app(scope, receive, send)
            return
        try:
            attempt, body = await self._read_attempt(scope, receive, *caller_and_key)
        except Problem as problem:
            await problem.response()(scope, receive, send)
            return
        except ClientDisconnect:
            return  # nobody is left to answer
        await self._run_once(scope, _replaying(body, receive), send, attempt)

    def _caller_and_key(self, scope: Scope) -> tuple[str, str] | None:
        """(caller, key) of a request this middleware handles, else None."""
        if scope["type"] != "http" or scope["method"] != "POST":
            return None
        headers = Headers(scope=scope)
        key = headers.get(IDEMPOTENCY_HEADER)
        token = bearer_token(headers.get("authorization"))
        if key is None or token is None:
            return None
        try:
            return verify_token(token, self.settings).subject, key
        except Unauthorized:
            # Nothing is stored for an unknown caller; the route answers its own 401.
            return None

    async def _read_attempt(
        self, scope: Scope, receive: Receive, caller: str, key: str
    ) -> tuple[Attempt, bytes]:
        if not _KEY.fullmatch(key):
            message = "must be 1 to 255 printable ASCII characters"
            errors = [{"field": f"header.{IDEMPOTENCY_HEADER}", "message": message}]
            raise Unprocessable(f"the {IDEMPOTENCY_HEADER} header is invalid", errors)
        # bounded by BodyLimitMiddleware around this one: its receive raises past the limit
        body = await _read_body(receive)
        request_hash = hashlib.sha256(body).hexdigest()
        return Attempt(caller, key, scope["method"], scope["path"], request_hash), body

    async def _run_once(self, scope: Scope, receive: Receive, send: Send, attempt: Attempt) -> None:
        pool = self.pool_getter()
        try:
            async with self._slots(pool):
                respond = await self._in_transaction(pool, scope, receive, attempt)
        except Exception as error:
            if not database_away(error):
                raise
            respond = unavailable(error).response()
        # only now, after the commit: a success the caller sees is one that was stored
        with contextlib.suppress(OSError):  # a caller gone meanwhile: a retry replays it
            await respond(scope, receive, send)

    def _slots(self, pool: asyncpg.Pool) -> asyncio.Semaphore:
        """At most half the pool holds a keyed request's transaction: the request's other
        reads (its read models) take connections of their own, and a pool all held by
        requests waiting for a second connection would wait for ever."""
        slots = self._semaphores.get(id(pool))
        if slots is None:
            slots = asyncio.Semaphore(max(1, pool.get_max_size() // 2))
            self._semaphores = {id(pool): slots}
        return slots

    async def _in_transaction(
        self, pool: asyncpg.Pool, scope: Scope, receive: Receive, attempt: Attempt
    ) -> ASGIApp:
        """Run the request inside one transaction that also holds its key and stores its
        answer: the events it appends, the key and the answer commit together or not at all.
        A crash, a kill or a lost database before the commit leaves nothing, so the retry
        runs the request afresh; after it, the retry gets the stored answer. Returns what to
        send the caller."""
        keys = IdempotencyKeys(self.schema)
        async with pool.acquire() as connection:
            transaction = connection.transaction()
            await transaction.start()
            committed = False
            answer = Answer()
            try:
                if not await keys.hold(connection, attempt):
                    return in_progress().response()
                held = await keys.find(connection, attempt)
                if held is not None:
                    return _repeat_answer(held, attempt)

                async def capture(message: Message) -> None:
                    answer.observe(message)

                with holding(pool, connection):
                    await self.app(scope, receive, capture)
                # A server error, or an answer that says to retry, is not an answer: nothing
                # of the request stays, and the retry runs it again.
                if answer.final:
                    await keys.record(connection, attempt, answer)
                    await transaction.commit()
                    committed = True
            except asyncpg.InFailedSQLTransactionError:
                # a statement of the request failed, so what it did is undone and its answer
                # not stored: a refusal may go to the caller as it is, but a success would
                # name what is not there, so it becomes a 503 that the retry runs afresh
                log.warning("idempotency.not_recorded", key=attempt.key, status=answer.status)
                if answer.status is not None and answer.status < 400:
                    failed = ServiceUnavailable(
                        "the request could not be recorded; retry it",
                        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                    )
                    return failed.response()
            finally:
                if not committed:
                    with contextlib.suppress(Exception):  # a connection lost rolls back too
                        await transaction.rollback()
        return answer.respond


def in_progress() -> Problem:
    detail = "a request with this key is still in progress; retry it in a moment"
    return Conflict(detail, slug="idempotency-key-in-progress", headers={"Retry-After": "1"})


def _repeat_answer(held: asyncpg.Record, attempt: Attempt) -> Response:
    """The answer to a POST whose key holds a stored answer."""
    if (held["method"], held["path"]) != (attempt.method, attempt.path):
        detail = f"this {IDEMPOTENCY_HEADER} was used for {held['method']} {held['path']}"
        return Conflict(detail, slug="idempotency-key-reused").response()
    if held["request_hash"] != attempt.request_hash:
        detail = f"this {IDEMPOTENCY_HEADER} was used with another body"
        return Conflict(detail, slug="idempotency-key-reused").response()
    log.info("idempotency.replayed", key=attempt.key, status=held["status"])
    headers = {REPLAYED_HEADER: "true"}
    if held["content_type"]:
        headers["content-type"] = held["content_type"]
    return Response(held["body"], status_code=held["status"], headers=headers)


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A receive handing the app the body already read, then the real channel (disconnects)."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
