"""The envelope every stored and published event travels in, sealed into its stream's hash
chain."""

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any
from uuid import UUID

from pydantic import AwareDatetime, Field, StringConstraints, TypeAdapter

from shared.events.canonical import event_hash
from shared.events.model import DomainEvent
from shared.events.registry import EventRegistry

Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


@lru_cache(maxsize=4096)  # the events of one command or batch share their instants
def iso_utc(moment: datetime) -> str:
    """One spelling of an instant (microseconds, Z), so a hash reads the same everywhere."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class Envelope:
    """An event as recorded: who, when, where in which stream, chained to its predecessor.

    A plain dataclass: it is built for every event on every hot path (append, relay,
    replay). `ENVELOPE`, a pydantic TypeAdapter, validates one from plain data and gives
    its JSON Schema.
    """

    event_id: UUID
    event_type: str
    schema_version: Annotated[int, Field(ge=1)]
    source: Annotated[str, Field(description="the service that recorded it")]
    stream_id: str
    stream_version: Annotated[int, Field(ge=1)]
    subject: Annotated[str, Field(description="the NIP the event is about (the Kafka key)")]
    occurred_at: AwareDatetime
    recorded_at: AwareDatetime
    actor: str
    correlation_id: str
    causation_id: str | None
    previous_hash: Sha256Hex
    hash: Sha256Hex
    payload: dict[str, Any]

    def hash_content(self) -> dict[str, Any]:
        """Everything the hash covers: all fields but the hash itself."""
        return {**self._metadata(), "payload": self.payload}

    def computed_hash(self) -> str:
        return event_hash(self._metadata(), self.payload)

    def _metadata(self) -> dict[str, Any]:
        return {
            "event_id": str(self.event_id),
            "event_type": self.event_type,
            "schema_version": self.schema_version,
            "source": self.source,
            "stream_id": self.stream_id,
            "stream_version": self.stream_version,
            "subject": self.subject,
            "occurred_at": iso_utc(self.occurred_at),
            "recorded_at": iso_utc(self.recorded_at),
            "actor": self.actor,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "previous_hash": self.previous_hash,
        }

    def is_intact(self) -> bool:
        """Whether the recorded hash still matches the content (nothing edited)."""
        return self.computed_hash() == self.hash

    def decode(self, registry: EventRegistry) -> DomainEvent:
        """The domain event in its current schema, upcast if it was stored under an older one."""
        return registry.decode(self.event_type, self.schema_version, self.payload)


def seal(
    *,
    event_id: UUID,
    event: DomainEvent,
    source: str,
    stream_id: str,
    stream_version: int,
    subject: str,
    occurred_at: datetime,
    recorded_at: datetime,
    actor: str,
    correlation_id: str,
    causation_id: str | None,
    previous_hash: str,
) -> Envelope:
    """Wrap a new domain event and chain it to `previous_hash`."""
    envelope = Envelope(
        event_id=event_id,
        event_type=event.type_name,
        schema_version=event.schema_version,
        source=source,
        stream_id=stream_id,
        stream_version=stream_version,
        subject=subject,
        occurred_at=occurred_at,
        recorded_at=recorded_at,
        actor=actor,
        correlation_id=correlation_id,
        causation_id=causation_id,
        previous_hash=previous_hash,
        hash="",
        payload=event.payload(),
    )
    # the hash covers every other field, so it is set once they exist (one object per event)
    object.__setattr__(envelope, "hash", envelope.computed_hash())
    return envelope


ENVELOPE = TypeAdapter(Envelope)
