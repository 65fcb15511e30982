"""What the delivery worker asks of a sender (one per channel), and the two ways a send ends
other than success."""

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from services.notify.delivery.ledger import Delivery


@dataclass(frozen=True)
class SendResult:
    """The receiver took it: its status code (HTTP, SMTP) and anything worth keeping."""

    status_code: int | None = None
    detail: str | None = None


class DeliveryFailed(Exception):
    """This attempt failed; the worker tries again later, until it gives up."""

    def __init__(self, detail: str, status_code: int | None = None) -> None:
        self.detail = detail
        self.status_code = status_code
        super().__init__(detail if status_code is None else f"{status_code}: {detail}")


class DeliverySkipped(Exception):
    """The delivery must not be sent at all (opted out, no address, webhook removed)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class Sender(Protocol):
    channel: str

    async def send(self, delivery: Delivery) -> SendResult:
        """Send once; DeliveryFailed or DeliverySkipped when it did not go out."""
        ...

    async def gave_up(self, delivery: Delivery, failing_since: datetime, last_error: str) -> None:
        """Called before a delivery is marked GAVE_UP (again, should that mark be lost)."""
        ...
