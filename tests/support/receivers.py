"""Real receivers on loopback for the sending tests: an HTTP server (uvicorn) that checks each
webhook delivery's signature as an outside subscriber would, and an SMTP server (aiosmtpd)."""

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import orjson
import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from services.notify.delivery.signing import verify_signature


@dataclass(frozen=True)
class Request:
    delivery_id: str | None
    content_type: str | None
    signed: bool
    body: dict[str, Any]
    status: int


class WebhookReceiver:
    """Answers `failing_status` to the first `failures` deliveries, then 200; a bad signature
    is answered 401. Every request is kept."""

    def __init__(self, secret: str, failures: int = 0, failing_status: int = 503) -> None:
        self.secret = secret
        self.failures = failures
        self.failing_status = failing_status
        self.requests: list[Request] = []

    @property
    def accepted(self) -> list[Request]:
        return [r for r in self.requests if 200 <= r.status < 300]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {name.decode().lower(): value.decode() for name, value in scope["headers"]}
        signed = verify_signature(self.secret, raw, headers.get("x-kinerja-signature"))
        status = 401 if not signed else 200
        if signed and len(self.requests) < self.failures:
            status = self.failing_status
        self.requests.append(
            Request(headers.get("x-kinerja-delivery"), headers.get("content-type"), signed,
                    orjson.loads(raw), status)
        )  # fmt: skip
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@asynccontextmanager
async def serving(app: WebhookReceiver) -> AsyncIterator[str]:
    """The app served on a free loopback port; yields its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_config=None, access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}/kinerja/events"
    finally:
        server.should_exit = True
        await task
        sock.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Mail:
    sender: str
    recipients: list[str]
    message: EmailMessage


class Mailbox:
    """An aiosmtpd handler keeping what it receives."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.mails.append(Mail(str(envelope.mail_from), list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on a free loopback port, in aiosmtpd's own thread."""
    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()
