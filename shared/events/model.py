"""Domain events: pydantic models with a stable type name and a schema version."""

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class DomainEvent(BaseModel):
    """Something that happened, in the past tense. Subclasses set `type_name` and
    `schema_version`; the type name never changes once published."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type_name: ClassVar[str]
    schema_version: ClassVar[int] = 1

    def payload(self) -> dict[str, Any]:
        """The JSON body stored and published for this event: `model_dump(mode="json")`,
        without its wrapper's cost (called for every appended event)."""
        return self.__pydantic_serializer__.to_python(self, mode="json")  # type: ignore[no-any-return]
