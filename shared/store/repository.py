"""Aggregates in and out of the event store: load replays a stream, save appends what the
aggregate recorded, expecting the version it was loaded at."""

from collections.abc import Sequence
from typing import TypeVar

from shared.domain.aggregate import Aggregate
from shared.events.envelope import Envelope
from shared.events.registry import EventRegistry
from shared.store.event_store import CommandContext, EventStore

A = TypeVar("A", bound=Aggregate)


class Repository:
    def __init__(self, store: EventStore, registry: EventRegistry) -> None:
        self.store = store
        self.registry = registry

    async def load(self, kind: type[A], identity: str) -> A:
        """The aggregate as its stream has it; a fresh one (version 0) if there is none."""
        history = await self.store.read_stream(kind.stream_id(identity))
        return kind.replay(identity, [envelope.decode(self.registry) for envelope in history])

    async def save(
        self, aggregate: Aggregate, *, subject: str, context: CommandContext
    ) -> list[Envelope]:
        """Append what the command recorded; ConcurrencyError if another writer came first."""
        if not aggregate.pending:
            return []
        appended = await self.store.append(
            type(aggregate).stream_id(aggregate.identity),
            aggregate.loaded_version,
            aggregate.pending,
            subject=subject,
            context=context,
        )
        aggregate.pending.clear()
        return appended

    async def load_many(self, kind: type[A], identities: Sequence[str]) -> dict[str, A]:
        """Many aggregates of one kind in one query (for imports)."""
        streams = await self.store.read_streams([kind.stream_id(i) for i in identities])
        return {
            identity: kind.replay(
                identity,
                [e.decode(self.registry) for e in streams.get(kind.stream_id(identity), [])],
            )
            for identity in identities
        }
