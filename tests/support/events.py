"""Event types used only by the kit's tests."""

from datetime import UTC, datetime

from shared.events.model import DomainEvent
from shared.events.registry import EventRegistry
from shared.store.event_store import CommandContext

registry = EventRegistry()


@registry.register
class TargetSet(DomainEvent):
    type_name = "kinerja.test.target-set"
    indicator: str
    target: int


@registry.register
class ProgressRecorded(DomainEvent):
    type_name = "kinerja.test.progress-recorded"
    schema_version = 2
    indicator: str
    realised: int
    unit: str  # new in v2; v1 events are read as "kegiatan"


@registry.upcaster("kinerja.test.progress-recorded", from_version=1)
def _progress_v1_to_v2(payload: dict[str, object]) -> dict[str, object]:
    return {**payload, "unit": "kegiatan"}


def context(actor: str = "199001012015031001", correlation_id: str = "test") -> CommandContext:
    return CommandContext(actor=actor, correlation_id=correlation_id, occurred_at=datetime.now(UTC))
