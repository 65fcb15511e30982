"""The catalog of event types, and upcasters that read old schema versions as the current one."""

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from shared.events.model import DomainEvent

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]
E = TypeVar("E", bound=type[DomainEvent])


class UnknownEventType(LookupError):
    pass


class EventRegistry:
    """Maps a type name to its current model; old payloads climb one upcaster per version."""

    def __init__(self) -> None:
        self._types: dict[str, type[DomainEvent]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def register(self, event_type: E) -> E:
        """Class decorator: add an event model to the catalog."""
        name = event_type.type_name
        known = self._types.get(name)
        if known is not None and known is not event_type:
            raise ValueError(f"event type {name!r} is already registered to {known.__name__}")
        self._types[name] = event_type
        return event_type

    def upcaster(self, type_name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorator: turn a payload of `from_version` into one of `from_version + 1`."""

        def add(upcast: Upcaster) -> Upcaster:
            self._upcasters[(type_name, from_version)] = upcast
            return upcast

        return add

    def model(self, type_name: str) -> type[DomainEvent]:
        try:
            return self._types[type_name]
        except KeyError:
            raise UnknownEventType(f"no event type {type_name!r} in the catalog") from None

    def decode(self, type_name: str, schema_version: int, payload: Payload) -> DomainEvent:
        """The current model of a stored event, upcast from its stored schema version."""
        model = self.model(type_name)
        version = schema_version
        while version < model.schema_version:
            upcast = self._upcasters.get((type_name, version))
            if upcast is None:
                raise UnknownEventType(
                    f"{type_name} v{schema_version} is stored but no upcaster reads "
                    f"v{version} as v{version + 1}"
                )
            payload = upcast(payload)
            version += 1
        if version > model.schema_version:
            raise UnknownEventType(
                f"{type_name} v{schema_version} is newer than this code knows "
                f"(v{model.schema_version}); upgrade the reader"
            )
        return model.model_validate(payload)

    def __iter__(self) -> Iterator[type[DomainEvent]]:
        return iter(sorted(self._types.values(), key=lambda model: model.type_name))

    def __contains__(self, type_name: object) -> bool:
        return type_name in self._types
