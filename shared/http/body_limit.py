"""The largest request body a service takes, on every route: a body over it is a 413 before
the app holds it all in memory. The idempotency middleware inside it reads keyed bodies
through it, so a request that may be sent at all may be sent with an `Idempotency-Key`."""

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.http.problems import PayloadTooLarge

# a month-end batch of 5,000 entries is about 2 MB
MAX_BODY_BYTES = 16 * 1024 * 1024


class BodyLimitMiddleware:
    """Pure ASGI: refuses by Content-Length at once, and counts a streamed body as it comes."""

    def __init__(self, app: ASGIApp, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await too_large(limit).response()(scope, receive, send)
            return
        size = 0

        async def counted() -> Message:
            nonlocal size
            message = await receive()
            size += len(message.get("body", b""))
            if size > limit:
                raise too_large(limit)
            return message

        await self.app(scope, counted, send)


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"a request body carries at most {limit} bytes")
