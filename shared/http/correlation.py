"""One correlation id per request: accepted or made, bound to every log line and event of the
request, echoed to the caller; one access line per request; the last resort for bugs."""

import re
import time

import structlog
import uuid_utils.compat as uuid7
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.domain.identity import Identity
from shared.http.auth import ACTOR_LOG_KEY
from shared.http.problems import unexpected_error
from shared.observability.logging import bind_message_context, current_correlation_id
from shared.store.event_store import Clock, CommandContext, utc_now

CORRELATION_HEADER = "X-Correlation-ID"

# Narrow on purpose: the id lands in logs, headers and events, so nothing that could inject.
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Probes and scrapes arrive every few seconds; their access lines would drown the rest.
_QUIET_PATHS = frozenset({"/livez", "/readyz", "/metrics", "/metrics/"})

log = structlog.get_logger(__name__)


def correlation_id_of(headers: Headers) -> str:
    """The caller's correlation id if it is acceptable, else a new UUIDv7."""
    given = headers.get(CORRELATION_HEADER)
    if given is not None and _ACCEPTED_ID.fullmatch(given):
        return given
    return str(uuid7.uuid7())


class CorrelationMiddleware:
    """Pure ASGI, so the bound context is the one route handlers run in."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation_id = correlation_id_of(Headers(scope=scope))
        status: int | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append(CORRELATION_HEADER, correlation_id)
            await send(message)

        started = time.perf_counter()
        with bind_message_context(correlation_id, None, method=scope["method"], path=scope["path"]):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as error:
                # Here rather than in Starlette's outermost handler, which runs after this
                # context is gone: the 500 and its log line keep the correlation id.
                if status is not None:
                    raise
                await unexpected_error(error).response()(scope, receive, send_with_id)
            finally:
                emit = log.debug if scope["path"] in _QUIET_PATHS else log.info
                emit(
                    "http.request",
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                )
                # Bound by current_identity for this request only; the task may serve another.
                structlog.contextvars.unbind_contextvars(ACTOR_LOG_KEY)


def request_context(identity: Identity, *, clock: Clock = utc_now) -> CommandContext:
    """The metadata of the events a route handler's command appends."""
    # Outside CorrelationMiddleware (a script, a test) the command starts its own correlation.
    correlation_id = current_correlation_id() or str(uuid7.uuid7())
    return CommandContext(
        actor=identity.subject, correlation_id=correlation_id, occurred_at=clock()
    )
