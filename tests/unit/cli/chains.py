"""Events sealed into hash-chained streams as a store records them, without a store."""

from datetime import UTC, datetime
from uuid import uuid4

from shared.events.canonical import GENESIS_HASH
from shared.events.envelope import Envelope, seal
from shared.events.model import DomainEvent

ANDI, KEPALA = "199001012015031001", "197001011995031001"


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 3, 0, tzinfo=UTC)


class Record:
    """Events sealed into their streams' chains, as the stores would have recorded them."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.heads: dict[str, tuple[int, str]] = {}

    def add(self, source: str, stream: str, when: datetime, *events: DomainEvent) -> None:
        for event in events:
            version, previous = self.heads.get(stream, (0, GENESIS_HASH))
            envelope = seal(
                event_id=uuid4(), event=event, source=source, stream_id=stream,
                stream_version=version + 1, subject=ANDI, occurred_at=when, recorded_at=when,
                actor=KEPALA if source == "appraisal" else ANDI, correlation_id="test",
                causation_id=None, previous_hash=previous,
            )  # fmt: skip
            self.heads[stream] = (version + 1, envelope.hash)
            self.envelopes.append(envelope)
