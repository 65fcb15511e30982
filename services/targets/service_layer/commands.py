"""What callers ask of the targets service, in the imperative."""

from dataclasses import dataclass, field
from datetime import date

from shared.contracts.targets import Approach, Aspect, Frequency, JobType, Perspective, RhkKind


@dataclass(frozen=True)
class CreateUnit:
    code: str
    name: str
    parent_code: str | None = None


@dataclass(frozen=True)
class RegisterEmployee:
    nip: str
    name: str
    position: str
    unit_code: str
    job_type: JobType


@dataclass(frozen=True)
class AssignSupervisor:
    nip: str
    supervisor_nip: str
    effective_from: date


@dataclass(frozen=True)
class AppointUnitHead:
    code: str
    head_nip: str
    effective_from: date


@dataclass(frozen=True)
class OpenYear:
    year: int
    frequency: Frequency


@dataclass(frozen=True)
class DraftSkp:
    nip: str
    year: int
    approach: Approach


@dataclass(frozen=True)
class NewIndicator:
    aspect: Aspect
    text: str
    target_value: float | None = None
    target_unit: str | None = None
    target_text: str | None = None


@dataclass(frozen=True)
class AddRhk:
    skp_id: str
    text: str
    kind: RhkKind
    indicators: list[NewIndicator] = field(default_factory=list)
    parent_rhk_id: str | None = None
    perspective: Perspective | None = None


@dataclass(frozen=True)
class ChangeRhk:
    skp_id: str
    rhk_id: str
    text: str
    kind: RhkKind
    indicators: list[NewIndicator] = field(default_factory=list)
    parent_rhk_id: str | None = None
    perspective: Perspective | None = None


@dataclass(frozen=True)
class RemoveRhk:
    skp_id: str
    rhk_id: str


@dataclass(frozen=True)
class SetBehaviourExpectations:
    skp_id: str
    expectations: dict[str, str]


@dataclass(frozen=True)
class SubmitSkp:
    skp_id: str


@dataclass(frozen=True)
class ApproveSkp:
    skp_id: str


@dataclass(frozen=True)
class ReturnSkp:
    skp_id: str
    reason: str


@dataclass(frozen=True)
class ReviseSkp:
    skp_id: str
