"""The envelope every stored and published event travels in, sealed into its stream's hash
chain."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any, TypeVar, dataclass_transform
from uuid import UUID

from pydantic import AwareDatetime, Field, StringConstraints, TypeAdapter

from shared.events.canonical import event_hash
from shared.events.ids import new_event_id
from shared.events.model import DomainEvent
from shared.events.registry import EventRegistry

Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


@lru_cache(maxsize=4096)  # the events of one command or batch share their instants
def iso_utc(moment: datetime) -> str:
    """One spelling of an instant (microseconds, Z), so a hash reads the same everywhere."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def hash_content(
    event_id: str,
    event_type: str,
    schema_version: int,
    source: str,
    stream_id: str,
    stream_version: int,
    subject: str,
    occurred_at: str,
    recorded_at: str,
    actor: str,
    correlation_id: str,
    causation_id: str | None,
    previous_hash: str,
    payload: dict[str, Any],
) -> dict[str, Any]:
    """What an event's hash covers, its instants spelled by `iso_utc`: every field of its
    envelope but the hash. The one definition, for an Envelope and for the store's bulk
    path, which seals rows without building envelopes."""
    return {
        "event_id": event_id,
        "event_type": event_type,
        "schema_version": schema_version,
        "source": source,
        "stream_id": stream_id,
        "stream_version": stream_version,
        "subject": subject,
        "occurred_at": occurred_at,
        "recorded_at": recorded_at,
        "actor": actor,
        "correlation_id": correlation_id,
        "causation_id": causation_id,
        "previous_hash": previous_hash,
        "payload": payload,
    }


_T = TypeVar("_T")


@dataclass_transform(frozen_default=True)
def _record(cls: type[_T]) -> type[_T]:
    """A dataclass the type checker holds frozen (no field may be assigned) and the runtime
    builds without frozen's cost: a frozen dataclass sets each field through
    object.__setattr__, 1.4 µs of an envelope's 1.6, and an envelope is built for every
    event on every hot path. mypy --strict guards the assignments instead."""
    return dataclass(slots=True)(cls)


@_record
class Envelope:
    """An event as recorded: who, when, where in which stream, chained to its predecessor.

    A plain dataclass, built positionally on the hot paths (append, relay, replay), in field
    order. `ENVELOPE`, a pydantic TypeAdapter, validates one from plain data and gives its
    JSON Schema.
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
        return hash_content(
            str(self.event_id), self.event_type, self.schema_version, self.source,
            self.stream_id, self.stream_version, self.subject, iso_utc(self.occurred_at),
            iso_utc(self.recorded_at), self.actor, self.correlation_id, self.causation_id,
            self.previous_hash, self.payload,
        )  # fmt: skip

    def computed_hash(self) -> str:
        return event_hash(self.hash_content())

    def is_intact(self) -> bool:
        """Whether the recorded hash still matches the content (nothing edited)."""
        return self.computed_hash() == self.hash

    def decode(self, registry: EventRegistry) -> DomainEvent:
        """The domain event in its current schema, upcast if it was stored under an older one."""
        return registry.decode(self.event_type, self.schema_version, self.payload)


def seal(*, event_id: UUID, event: DomainEvent, stream_version: int, **stream: Any) -> Envelope:
    """One new event at `stream_version`, chained to `previous_hash`; `stream` names the
    rest as `seal_chain` does (source, stream_id, subject, occurred_at, recorded_at, actor,
    correlation_id, causation_id, previous_hash)."""
    [envelope] = seal_chain(
        [event], after_version=stream_version - 1, new_id=lambda: event_id, **stream
    )
    return envelope


def seal_chain(
    events: Iterable[DomainEvent],
    *,
    source: str,
    stream_id: str,
    after_version: int,
    subject: str,
    occurred_at: datetime,
    recorded_at: datetime,
    actor: str,
    correlation_id: str,
    causation_id: str | None,
    previous_hash: str,
    new_id: Callable[[], UUID] = new_event_id,
) -> list[Envelope]:
    """New events of one stream after `after_version`, each with a new id (`new_id`,
    UUIDv7) and chained to the one before, the first to `previous_hash`. Built positionally,
    the hash set once every other field is there (it covers them all)."""
    sealed = []
    version = after_version
    for event in events:
        version += 1
        envelope = Envelope(
            new_id(), event.type_name, event.schema_version, source, stream_id, version,
            subject, occurred_at, recorded_at, actor, correlation_id, causation_id,
            previous_hash, "", event.payload(),
        )  # fmt: skip
        previous_hash = envelope.computed_hash()
        object.__setattr__(envelope, "hash", previous_hash)
        sealed.append(envelope)
    return sealed


ENVELOPE = TypeAdapter(Envelope)
