"""Idempotent POSTs: a retry with the same `Idempotency-Key` and body gets the first answer
again and records nothing new; the same key with another body is a 409. Keys are scoped per
caller and kept for a day (see idempotency_keys.py; a service purges them periodically)."""

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
from shared.http.problems import Conflict, PayloadTooLarge, Problem, Unauthorized, Unprocessable
from shared.store.migrations import quote_identifier

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_BODY_BYTES = 1024 * 1024

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
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        quote_identifier(schema)  # refuse a bad schema name now, not on the first POST
        self.app = app
        # A getter, since a service makes its pool in the lifespan, after the app is built.
        self.pool_getter = pool_getter
        self.schema = schema
        self.settings = settings or jwt_settings()
        self.max_body_bytes = max_body_bytes

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
        body = await _read_body(receive, self.max_body_bytes)
        request_hash = hashlib.sha256(body).hexdigest()
        return Attempt(caller, key, scope["method"], scope["path"], request_hash), body

    async def _run_once(self, scope: Scope, receive: Receive, send: Send, attempt: Attempt) -> None:
        keys = IdempotencyKeys(self.pool_getter(), self.schema)
        claim = await keys.claim(attempt)
        if claim is None:
            await _repeat_answer(await keys.find(attempt), attempt)(scope, receive, send)
            return
        answer = Answer()

        async def capture(message: Message) -> None:
            answer.observe(message)
            await send(message)

        try:
            await self.app(scope, receive, capture)
        except Exception:
            await keys.release(attempt, claim)
            raise
        # A server error, or an answer that says to retry, is not an answer: release the key
        # so that the retry runs again (else it would be told to retry for ever).
        if not answer.final:
            await keys.release(attempt, claim)
            return
        try:
            await keys.record(attempt, claim, answer)
        except Exception:
            # The caller already has its answer and raising now would not reach it. The claim
            # stays in progress until ABANDONED_AFTER, when a retry runs the request again.
            log.exception("idempotency.record_failed", key=attempt.key)


def _repeat_answer(held: asyncpg.Record | None, attempt: Attempt) -> Response:
    """The answer to a POST whose key was already claimed."""
    if held is None:
        # The first run failed and released the key between our claim and this read.
        return Conflict("a request with this key has just failed; retry it").response()
    if (held["method"], held["path"]) != (attempt.method, attempt.path):
        detail = f"this {IDEMPOTENCY_HEADER} was used for {held['method']} {held['path']}"
        return Conflict(detail, slug="idempotency-key-reused").response()
    if held["request_hash"] != attempt.request_hash:
        detail = f"this {IDEMPOTENCY_HEADER} was used with another body"
        return Conflict(detail, slug="idempotency-key-reused").response()
    if held["state"] != "done":
        detail = "a request with this key is still in progress"
        return Conflict(detail, slug="idempotency-key-in-progress").response()
    log.info("idempotency.replayed", key=attempt.key, status=held["status"])
    headers = {REPLAYED_HEADER: "true"}
    if held["content_type"]:
        headers["content-type"] = held["content_type"]
    return Response(held["body"], status_code=held["status"], headers=headers)


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"a POST with {IDEMPOTENCY_HEADER} carries at most {limit} bytes")
        chunks.append(chunk)
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
