"""What a projection is: its tables, the topics it reads, and an apply function per event."""

import importlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

from shared.events.envelope import Envelope
from shared.observability.logging import applying_events
from shared.relay.topics import service_topic
from shared.store.db import Connection


class Projection(ABC):
    """A read model built from events.

    `apply` runs inside the runner's transaction with `search_path` set to the projection's
    schema, so it names its tables without a schema; a replay builds the same tables in a
    fresh schema and switches over. `apply` reads and writes only its own tables: given the
    same events it must build the same read model.
    """

    name: str
    topics: tuple[str, ...]
    tables: str  # CREATE TABLE statements, unqualified
    namespace: str = "kinerja"  # of its dead-letter topic, as of the topics it reads
    # the services whose topics (`<namespace>.<service>.v1`) it reads; a projection of other
    # topics sets `topics` itself
    reads: ClassVar[tuple[str, ...]] = ()

    def __init__(self, namespace: str = "kinerja") -> None:
        self.namespace = namespace
        if self.reads:
            self.topics = tuple(service_topic(service, namespace) for service in self.reads)

    @abstractmethod
    async def apply(self, db: Connection, event: Envelope) -> None: ...

    async def apply_all(self, db: Connection, events: Sequence[Envelope]) -> None:
        """Apply events in order. A projection may override this to apply a whole batch in
        a few set-based statements; the runner calls it with each fetched batch."""
        with applying_events() as applying:
            for event in events:
                # what is logged meanwhile is caused by it, within the same correlation
                applying.event(event.correlation_id, event.event_id)
                await self.apply(db, event)

    def schema(self) -> str:
        """The live schema of this projection's tables: `proj_<name>`."""
        return "proj_" + "".join(c if c.isalnum() else "_" for c in self.name.lower())

    def lock_key(self) -> str:
        return f"projection:{self.name}"


def load_projection(spec: str) -> Projection:
    """`package.module:attribute`, a Projection class or a function that returns one."""
    module_name, _, attribute = spec.partition(":")
    if not attribute:
        raise ValueError(f"{spec!r}: name a projection as package.module:attribute")
    found = getattr(importlib.import_module(module_name), attribute)
    projection = found() if callable(found) else found
    if not isinstance(projection, Projection):
        raise TypeError(f"{spec} gives {type(projection).__name__}, not a Projection")
    return projection
