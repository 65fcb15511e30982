"""The aggregate: state that changes only by applying its own events.

A command method checks its rules against the current state and records new events;
recording applies them at once, so a command and a replay of the stream run the same
`_apply` code. The handler appends `pending` with the version the aggregate was loaded at.
"""

from collections.abc import Iterable
from typing import ClassVar, Self

from shared.events.model import DomainEvent


class Aggregate:
    """Subclasses name their stream prefix and implement `_apply` for each of their events."""

    stream_prefix: ClassVar[str]

    def __init__(self, identity: str) -> None:
        self.identity = identity
        self.version = 0
        self.pending: list[DomainEvent] = []

    @classmethod
    def stream_id(cls, identity: str) -> str:
        return f"{cls.stream_prefix}-{identity}"

    @classmethod
    def replay(cls, identity: str, history: Iterable[DomainEvent]) -> Self:
        """The aggregate as its recorded events left it."""
        aggregate = cls(identity)
        for event in history:
            aggregate._apply(event)
            aggregate.version += 1
        return aggregate

    @property
    def loaded_version(self) -> int:
        """The stream version this aggregate was loaded at: the append's expectation."""
        return self.version - len(self.pending)

    @property
    def exists(self) -> bool:
        return self.version > 0

    def _record(self, event: DomainEvent) -> None:
        self._apply(event)
        self.version += 1
        self.pending.append(event)

    def _apply(self, event: DomainEvent) -> None:
        raise NotImplementedError(f"{type(self).__name__} cannot apply {type(event).__name__}")
